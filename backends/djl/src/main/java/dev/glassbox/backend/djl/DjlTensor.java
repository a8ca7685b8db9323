package dev.glassbox.backend.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;

/** A float32 NDArray owned by a {@link DjlScope}; freed (closed) when the scope closes. */
final class DjlTensor implements Tensor {
    private final Shape shape;
    private final String label;
    private volatile NDArray array;
    /** How autograd recorded this output, until a VJP takes it; null if it was not recorded. */
    private Recording recording;

    /**
     * This tensor is a detached alias of {@code graphOutput}, {@code op}'s output computed under
     * autograd from {@code leaf}, a detached alias of {@code input}'s array: its VJP is one
     * backward call. Only the recording holds arrays in a graph, so no later op, whatever the
     * thread's grad mode, extends or shares it.
     */
    record Recording(Op op, DjlTensor input, NDArray leaf, NDArray graphOutput) {
    }

    DjlTensor(Shape shape, NDArray array, String label) {
        this.shape = shape;
        this.array = array;
        this.label = label;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    /** The array, for kernels; fails once the owning scope has closed. */
    NDArray array() {
        NDArray a = array;
        if (a == null) {
            throw new IllegalStateException("tensor " + this + " used after its scope was closed");
        }
        return a;
    }

    @Override
    public HostTensor toHost() {
        NDArray a = array();
        if (Device.cpu().equals(a.getDevice())) {
            return HostTensor.wrap(shape, a.toFloatArray());
        }
        // DJL reads a device array through a host copy it attaches to the array's manager: freed here, not at scope end
        try (NDArray onHost = a.toDevice(Device.cpu(), true)) {
            return HostTensor.wrap(shape, onHost.toFloatArray());
        }
    }

    synchronized void record(Recording r) {
        recording = r;
    }

    /**
     * The recording of {@code op} at {@code input}, which only one backward call may use (it
     * frees the graph), or null.
     */
    synchronized Recording takeRecording(Op op, DjlTensor input) {
        Recording r = recording;
        if (r == null || r.op() != op || r.input() != input || array == null) {
            return null;
        }
        recording = null;
        return r;
    }

    void free() {
        synchronized (this) {
            recording = null;
        }
        NDArray a = array;
        array = null;
        if (a != null) {
            a.close();
        }
    }

    @Override
    public String toString() {
        return label + " " + shape;
    }
}

package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDArray;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;

/** A float32 NDArray owned by a {@link DjlScope}; freed (closed) when the scope closes. */
final class DjlTensor implements Tensor {
    private final Shape shape;
    private final String label;
    private volatile NDArray array;

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
        return HostTensor.wrap(shape, array().toFloatArray());
    }

    void free() {
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

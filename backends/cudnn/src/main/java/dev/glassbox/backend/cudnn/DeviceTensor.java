package dev.glassbox.backend.cudnn;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;

/**
 * A tensor of this backend: a dense row-major float buffer in device memory, owned by the
 * {@link DeviceScope} it was created in, which frees it. Buffers are never shared between
 * tensors, so freeing one never pulls memory from under another.
 */
final class DeviceTensor implements Tensor {
    private final Device device;
    private final Shape shape;
    private final String label;
    private volatile long address;
    private volatile boolean freed;

    DeviceTensor(Device device, Shape shape, long address, String label) {
        this.device = device;
        this.shape = shape;
        this.address = address;
        this.label = label;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    /** The buffer, for kernels; fails once the owning scope has closed. */
    long address() {
        if (freed) {
            throw new IllegalStateException("tensor " + this + " used after its scope was closed");
        }
        return address;
    }

    /** The address of element {@code offset}. */
    long at(long offset) {
        return address() + offset * Float.BYTES;
    }

    @Override
    public HostTensor toHost() {
        float[] out = new float[shape.size()];
        device.copyOut(address(), out);
        return HostTensor.wrap(shape, out);
    }

    void free() {
        if (!freed) {
            freed = true;
            device.free(address);
            address = 0;
        }
    }

    @Override
    public String toString() {
        return label + " " + shape;
    }
}

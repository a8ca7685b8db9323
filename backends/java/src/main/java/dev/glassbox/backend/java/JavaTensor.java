package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;

/**
 * A tensor of this backend: a row-major {@code float[]} owned by a {@link JavaScope}.
 *
 * <p>Arrays are never written after the kernel that made them returns, so tensors may share
 * one (Reshape, Flatten, the Add gradient, and a Constant with its parameter do). Freeing
 * drops only this tensor's reference, which keeps sharing safe when the owners live in
 * different scopes.
 */
final class JavaTensor implements Tensor {
    private final Shape shape;
    private final String label;
    private volatile float[] data;

    JavaTensor(Shape shape, float[] data, String label) {
        if (shape.size() != data.length) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.size() + " values, got " + data.length);
        }
        this.shape = shape;
        this.data = data;
        this.label = label;
    }

    @Override
    public Shape shape() {
        return shape;
    }

    /** The values, for kernels; fails once the owning scope has closed. */
    float[] data() {
        float[] d = data;
        if (d == null) {
            throw new IllegalStateException("tensor " + this + " used after its scope was closed");
        }
        return d;
    }

    @Override
    public HostTensor toHost() {
        return HostTensor.wrap(shape, data().clone());
    }

    void free() {
        data = null;
    }

    @Override
    public String toString() {
        return label + " " + shape;
    }
}

package dev.glassbox.api.tensor;

import java.util.List;

/**
 * A float32 tensor on the Java heap, row-major. This is what crosses the API: model
 * parameters, inputs, attributions.
 *
 * <p>A {@code HostTensor} wraps its array without copying. Treat tensors you did not create
 * as read-only: backends cache device copies of parameters by identity, so changing a
 * parameter's array in place would go unnoticed.
 */
public final class HostTensor {
    private final Shape shape;
    private final float[] data;

    private HostTensor(Shape shape, float[] data) {
        if (shape.size() != data.length) {
            throw new IllegalArgumentException(
                    "shape " + shape + " needs " + shape.size() + " values, got " + data.length);
        }
        this.shape = shape;
        this.data = data;
    }

    /** Wraps {@code data} (not copied) as a tensor of the given shape. */
    public static HostTensor wrap(Shape shape, float[] data) {
        return new HostTensor(shape, data);
    }

    public static HostTensor zeros(Shape shape) {
        return new HostTensor(shape, new float[shape.size()]);
    }

    /** A {@code [n, classes]} tensor with {@code values[i]} at {@code (i, indices[i])}, zero elsewhere. */
    public static HostTensor oneHot(int classes, int[] indices, float[] values) {
        if (indices.length != values.length) {
            throw new IllegalArgumentException("one value per index expected");
        }
        float[] out = new float[indices.length * classes];
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= classes) {
                throw new IndexOutOfBoundsException("class " + indices[i] + " of " + classes);
            }
            out[i * classes + indices[i]] = values[i];
        }
        return new HostTensor(Shape.of(indices.length, classes), out);
    }

    /** Stacks tensors of equal shape along a new first axis. */
    public static HostTensor stack(List<HostTensor> items) {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("nothing to stack");
        }
        Shape item = items.get(0).shape;
        int n = item.size();
        float[] out = new float[Math.multiplyExact(n, items.size())];
        for (int i = 0; i < items.size(); i++) {
            HostTensor t = items.get(i);
            if (!t.shape.equals(item)) {
                throw new IllegalArgumentException("cannot stack " + t.shape + " with " + item);
            }
            System.arraycopy(t.data, 0, out, i * n, n);
        }
        return new HostTensor(item.withBatch(items.size()), out);
    }

    public Shape shape() {
        return shape;
    }

    /** The backing array, not a copy (see the class comment). */
    public float[] data() {
        return data;
    }

    /** The same data seen with another shape of the same size. */
    public HostTensor reshape(Shape newShape) {
        return new HostTensor(newShape, data);
    }

    /** A copy of item {@code i} along the first axis, without that axis. */
    public HostTensor item(int i) {
        Shape itemShape = shape.withoutBatch();
        int n = itemShape.size();
        float[] out = new float[n];
        System.arraycopy(data, Math.multiplyExact(i, n), out, 0, n);
        return new HostTensor(itemShape, out);
    }

    /** The element at a full index, for tests and small reads. */
    public float get(int... index) {
        if (index.length != shape.rank()) {
            throw new IllegalArgumentException("index rank " + index.length + " for shape " + shape);
        }
        int flat = 0;
        for (int a = 0; a < index.length; a++) {
            if (index[a] < 0 || index[a] >= shape.dim(a)) {
                throw new IndexOutOfBoundsException("index " + index[a] + " on axis " + a + " of " + shape);
            }
            flat = flat * shape.dim(a) + index[a];
        }
        return data[flat];
    }

    @Override
    public String toString() {
        return "HostTensor" + shape;
    }
}

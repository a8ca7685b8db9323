package dev.glassbox.api.tensor;

import java.util.Arrays;

/** The dimensions of a tensor, outermost first. Immutable. */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int axis) {
        return dims[axis < 0 ? dims.length + axis : axis];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Number of elements; an {@link ArithmeticException} if it does not fit an int array. */
    public int size() {
        long n = 1;
        for (int d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return Math.toIntExact(n);
    }

    /** This shape with {@code n} prepended as a batch axis. */
    public Shape withBatch(int n) {
        int[] out = new int[dims.length + 1];
        out[0] = n;
        System.arraycopy(dims, 0, out, 1, dims.length);
        return new Shape(out);
    }

    /** This shape without its first (batch) axis. */
    public Shape withoutBatch() {
        if (dims.length == 0) {
            throw new IllegalStateException("a scalar has no batch axis");
        }
        return new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    /**
     * The shape two shapes broadcast to under ONNX (numpy) multidirectional broadcasting:
     * aligned at the last axis, each pair of dimensions equal or one of them 1. An
     * {@link IllegalArgumentException} when they do not broadcast.
     */
    public static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.rank() ? 1 : a.dims[i - (rank - a.rank())];
            int db = i < rank - b.rank() ? 1 : b.dims[i - (rank - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + a + " and " + b + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}

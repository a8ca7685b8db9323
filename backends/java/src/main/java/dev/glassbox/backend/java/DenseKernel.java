package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;

/** {@code y = x W^T + b} on {@code [N, in]}, and its input gradient {@code dx = dy W}. */
final class DenseKernel {
    private DenseKernel() {
    }

    static Shape outputShape(Op.Dense op, Shape in) {
        if (in.rank() != 2 || in.dim(1) != op.inFeatures()) {
            throw new IllegalArgumentException("Dense: input " + in + " does not match weight " + op.weight().shape()
                    + " (expected [N, " + op.inFeatures() + "])");
        }
        return Shape.of(in.dim(0), op.outFeatures());
    }

    /** Rows of W are contiguous, so each output is a dot product of two contiguous rows; split over outputs. */
    static float[] forward(Op.Dense op, Shape in, float[] x, Parallel par) {
        int n = in.dim(0);
        int k = op.inFeatures();
        int m = op.outFeatures();
        float[] w = op.weight().data();
        float[] b = op.bias() == null ? null : op.bias().data();
        float[] y = new float[n * m];
        par.forRange(m, (long) n * k, (lo, hi) -> {
            for (int item = 0; item < n; item++) {
                int xRow = item * k;
                for (int o = lo; o < hi; o++) {
                    y[item * m + o] = dot(x, xRow, w, o * k, k) + (b == null ? 0f : b[o]);
                }
            }
        });
        return y;
    }

    /** {@code dx[n, :] += dy[n, o] W[o, :]}: contiguous rows again; split over input features. */
    static float[] inputGradient(Op.Dense op, Shape in, float[] dy, Parallel par) {
        int n = in.dim(0);
        int k = op.inFeatures();
        int m = op.outFeatures();
        float[] w = op.weight().data();
        float[] dx = new float[n * k];
        par.forRange(k, (long) n * m, (lo, hi) -> {
            for (int item = 0; item < n; item++) {
                int dxRow = item * k;
                for (int o = 0; o < m; o++) {
                    float g = dy[item * m + o];
                    if (g == 0f) {
                        continue;
                    }
                    int wRow = o * k;
                    for (int i = lo; i < hi; i++) {
                        dx[dxRow + i] += g * w[wRow + i];
                    }
                }
            }
        });
        return dx;
    }

    /** Four independent accumulators: a single float sum is a serial dependency the JIT may not reorder. */
    private static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        int i = 0;
        for (; i + 3 < len; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < len; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }
}

package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;

/**
 * {@code y = x W^T + b} over the last axis of {@code [..., in]} (every leading position is a
 * row), and its input gradient {@code dx = dy W}.
 */
final class DenseKernel {
    private DenseKernel() {
    }

    /** Rows of W are contiguous, so each output is a dot product of two contiguous rows; split over outputs. */
    static float[] forward(Op.Dense op, Shape in, float[] x, Parallel par) {
        int k = op.inFeatures();
        int m = op.outFeatures();
        int rows = rows(in);
        float[] w = op.weight().data();
        float[] b = op.bias() == null ? null : op.bias().data();
        float[] y = new float[Math.multiplyExact(rows, m)];
        par.forRange(m, (long) rows * k, (lo, hi) -> {
            for (int row = 0; row < rows; row++) {
                int xRow = row * k;
                for (int o = lo; o < hi; o++) {
                    y[row * m + o] = Gemm.dot(x, xRow, w, o * k, k) + (b == null ? 0f : b[o]);
                }
            }
        });
        return y;
    }

    /** {@code dx[r, :] += dy[r, o] W[o, :]}: contiguous rows again; split over input features. */
    static float[] inputGradient(Op.Dense op, Shape in, float[] dy, Parallel par) {
        int k = op.inFeatures();
        int m = op.outFeatures();
        int rows = rows(in);
        float[] w = op.weight().data();
        float[] dx = new float[in.size()];
        par.forRange(k, (long) rows * m, (lo, hi) -> {
            for (int row = 0; row < rows; row++) {
                int dxRow = row * k;
                for (int o = 0; o < m; o++) {
                    float g = dy[row * m + o];
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

    /** The number of rows: every axis but the last. */
    private static int rows(Shape in) {
        int rows = 1;
        for (int d = 0; d < in.rank() - 1; d++) {
            rows = Math.multiplyExact(rows, in.dim(d));
        }
        return rows;
    }
}

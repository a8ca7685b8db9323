package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;

/**
 * Softmax and log-softmax along one axis. The tensor is viewed as {@code [outer, len, inner]}
 * with the axis in the middle, so any axis works without transposing.
 */
final class SoftmaxKernel {
    private SoftmaxKernel() {
    }

    static int axis(String op, int axis, Shape in) {
        int a = axis < 0 ? axis + in.rank() : axis;
        if (a < 0 || a >= in.rank()) {
            throw new IllegalArgumentException(op + ": axis " + axis + " out of range for input " + in);
        }
        return a;
    }

    /** Softmax (or its log) of {@code x}, stabilised by subtracting each slice's max. */
    static float[] forward(Shape in, int axis, float[] x, boolean log) {
        int len = in.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < in.rank(); d++) {
            inner *= in.dim(d);
        }
        int outer = len * inner == 0 ? 0 : in.size() / (len * inner);
        float[] y = new float[x.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i;
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t < len; t++) {
                    max = Math.max(max, x[base + t * inner]);
                }
                double sum = 0;
                for (int t = 0; t < len; t++) {
                    sum += Math.exp(x[base + t * inner] - max);
                }
                double logSum = Math.log(sum);
                for (int t = 0; t < len; t++) {
                    double z = x[base + t * inner] - max - logSum;
                    y[base + t * inner] = (float) (log ? z : Math.exp(z));
                }
            }
        }
        return y;
    }

    /**
     * Softmax: {@code dx = s * (dy - sum(dy * s))}; log-softmax: {@code dx = dy - s * sum(dy)},
     * with {@code s} the softmax of {@code x} (recomputed: cheap, and independent of what the
     * caller passed as output).
     */
    static float[] inputGradient(Shape in, int axis, float[] x, float[] dy, boolean log) {
        float[] s = forward(in, axis, x, false);
        int len = in.dim(axis);
        int inner = 1;
        for (int d = axis + 1; d < in.rank(); d++) {
            inner *= in.dim(d);
        }
        int outer = len * inner == 0 ? 0 : in.size() / (len * inner);
        float[] dx = new float[x.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i;
                double dot = 0;
                for (int t = 0; t < len; t++) {
                    int at = base + t * inner;
                    dot += log ? dy[at] : (double) dy[at] * s[at];
                }
                for (int t = 0; t < len; t++) {
                    int at = base + t * inner;
                    dx[at] = (float) (log ? dy[at] - s[at] * dot : s[at] * (dy[at] - dot));
                }
            }
        }
        return dx;
    }
}

package dev.glassbox.backend.java;


/**
 * Softmax and log-softmax along one axis. The tensor is viewed as {@code [outer, len, inner]}
 * with the axis in the middle, so any axis works without transposing; over the trailing axes
 * (ONNX before opset 13) the view is {@code [prod(dims < axis), prod(dims >= axis), 1]}.
 */
final class SoftmaxKernel {
    private SoftmaxKernel() {
    }

    /** Softmax (or its log) of {@code x}, stabilised by subtracting each slice's max. */
    static float[] forward(int[] view, float[] x, boolean log) {
        int outer = view[0];
        int len = view[1];
        int inner = view[2];
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
                    sum += Math.exp((double) x[base + t * inner] - max);
                }
                double logSum = Math.log(sum);
                for (int t = 0; t < len; t++) {
                    double z = (double) x[base + t * inner] - max - logSum;
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
    static float[] inputGradient(int[] view, float[] x, float[] dy, boolean log) {
        float[] s = forward(view, x, false);
        int outer = view[0];
        int len = view[1];
        int inner = view[2];
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

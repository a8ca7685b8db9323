package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.Indexing;

/**
 * The elementwise activations and batch normalization's per-channel affine map. Each op
 * spells out its own loop (one shared loop taking a lambda would make a megamorphic call per
 * element, which the JIT cannot inline). Transcendental functions are evaluated in double and
 * rounded once.
 *
 * <p>Derivatives at kinks follow PyTorch: Relu 0 at 0; LeakyRelu, PRelu and Elu take the
 * negative side at 0; HardSigmoid 0 at its corners; HardSwish {@code x / 3 + 1/2} on
 * {@code [-3, 3]} (so {@code -1/2} at -3 and {@code 3/2} at 3); Clip 1 at its bounds.
 */
final class ActivationKernels {
    private ActivationKernels() {
    }

    static float[] forward(Op.Activation op, Shape in, float[] x) {
        float[] y = new float[x.length];
        switch (op) {
            case Op.Relu _ -> {
                for (int i = 0; i < y.length; i++) {
                    y[i] = Math.max(x[i], 0f);
                }
            }
            case Op.LeakyRelu l -> {
                float alpha = l.alpha();
                for (int i = 0; i < y.length; i++) {
                    y[i] = x[i] >= 0f ? x[i] : alpha * x[i];
                }
            }
            case Op.PRelu p -> {
                float[] slope = p.slope().data();
                Strided.Rows w = Strided.rows(in.dims(), Indexing.broadcast(p.slope().shape(), in));
                int ss = w.steps()[0];
                int n = w.inner();
                for (int r = 0; r < w.count(); r++) {
                    int so = w.starts()[0][r];
                    int xo = r * n;
                    for (int i = 0; i < n; i++) {
                        float v = x[xo + i];
                        y[xo + i] = v >= 0f ? v : slope[so + i * ss] * v;
                    }
                }
            }
            case Op.Elu e -> {
                double alpha = e.alpha();
                for (int i = 0; i < y.length; i++) {
                    y[i] = x[i] > 0f ? x[i] : (float) (alpha * Math.expm1(x[i]));
                }
            }
            case Op.Sigmoid _ -> {
                for (int i = 0; i < y.length; i++) {
                    y[i] = (float) sigmoid(x[i]);
                }
            }
            case Op.Tanh _ -> {
                for (int i = 0; i < y.length; i++) {
                    y[i] = (float) Math.tanh(x[i]);
                }
            }
            case Op.HardSigmoid hs -> {
                double alpha = hs.alpha();
                double beta = hs.beta();
                for (int i = 0; i < y.length; i++) {
                    y[i] = (float) Math.max(0, Math.min(1, alpha * x[i] + beta));
                }
            }
            case Op.HardSwish _ -> {
                for (int i = 0; i < y.length; i++) {
                    y[i] = (float) (x[i] * Math.max(0, Math.min(1, x[i] / 6.0 + 0.5)));
                }
            }
            case Op.Clip c -> {
                float min = c.min();
                float max = c.max();
                for (int i = 0; i < y.length; i++) {
                    y[i] = Math.min(Math.max(x[i], min), max);
                }
            }
        }
        return y;
    }

    static float[] inputGradient(Op.Activation op, Shape in, float[] x, float[] dy) {
        float[] dx = new float[x.length];
        switch (op) {
            case Op.Relu _ -> {
                for (int i = 0; i < dx.length; i++) {
                    dx[i] = x[i] > 0f ? dy[i] : 0f;
                }
            }
            case Op.LeakyRelu l -> {
                float alpha = l.alpha();
                for (int i = 0; i < dx.length; i++) {
                    dx[i] = x[i] > 0f ? dy[i] : alpha * dy[i];
                }
            }
            case Op.PRelu p -> {
                float[] slope = p.slope().data();
                Strided.Rows w = Strided.rows(in.dims(), Indexing.broadcast(p.slope().shape(), in));
                int ss = w.steps()[0];
                int n = w.inner();
                for (int r = 0; r < w.count(); r++) {
                    int so = w.starts()[0][r];
                    int xo = r * n;
                    for (int i = 0; i < n; i++) {
                        dx[xo + i] = x[xo + i] > 0f ? dy[xo + i] : slope[so + i * ss] * dy[xo + i];
                    }
                }
            }
            case Op.Elu e -> {
                double alpha = e.alpha();
                for (int i = 0; i < dx.length; i++) {
                    dx[i] = x[i] > 0f ? dy[i] : (float) (dy[i] * alpha * Math.exp(x[i]));
                }
            }
            case Op.Sigmoid _ -> {
                for (int i = 0; i < dx.length; i++) {
                    double s = sigmoid(x[i]);
                    dx[i] = (float) (dy[i] * s * (1 - s));
                }
            }
            case Op.Tanh _ -> {
                for (int i = 0; i < dx.length; i++) {
                    double t = Math.tanh(x[i]);
                    dx[i] = (float) (dy[i] * (1 - t * t));
                }
            }
            case Op.HardSigmoid hs -> {
                double alpha = hs.alpha();
                double beta = hs.beta();
                for (int i = 0; i < dx.length; i++) {
                    double z = alpha * x[i] + beta;
                    dx[i] = z > 0 && z < 1 ? (float) (dy[i] * alpha) : 0f;
                }
            }
            case Op.HardSwish _ -> {
                for (int i = 0; i < dx.length; i++) {
                    float v = x[i];
                    dx[i] = v < -3f ? 0f : v > 3f ? dy[i] : (float) (dy[i] * (v / 3.0 + 0.5));
                }
            }
            case Op.Clip c -> {
                float min = c.min();
                float max = c.max();
                for (int i = 0; i < dx.length; i++) {
                    dx[i] = x[i] >= min && x[i] <= max ? dy[i] : 0f;
                }
            }
        }
        return dx;
    }

    /** {@code 1 / (1 + exp(-x))} without overflow for large negative {@code x}. */
    private static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** {@code y = x * scale[c] + shift[c]} on axis 1. */
    static float[] batchNorm(Op.BatchNorm op, Shape in, float[] x) {
        float[] scale = op.scale().data();
        float[] shift = op.shift() == null ? null : op.shift().data();
        int channels = in.dim(1);
        int inner = inner(in);
        float[] y = new float[x.length];
        for (int plane = 0, planes = in.dim(0) * channels; plane < planes; plane++) {
            float a = scale[plane % channels];
            float b = shift == null ? 0f : shift[plane % channels];
            for (int i = plane * inner, end = i + inner; i < end; i++) {
                y[i] = x[i] * a + b;
            }
        }
        return y;
    }

    /** {@code dx = dy * scale[c]}. */
    static float[] batchNormGradient(Op.BatchNorm op, Shape in, float[] dy) {
        float[] scale = op.scale().data();
        int channels = in.dim(1);
        int inner = inner(in);
        float[] dx = new float[dy.length];
        for (int plane = 0, planes = in.dim(0) * channels; plane < planes; plane++) {
            float a = scale[plane % channels];
            for (int i = plane * inner, end = i + inner; i < end; i++) {
                dx[i] = dy[i] * a;
            }
        }
        return dx;
    }

    private static int inner(Shape in) {
        int inner = 1;
        for (int d = 2; d < in.rank(); d++) {
            inner *= in.dim(d);
        }
        return inner;
    }
}

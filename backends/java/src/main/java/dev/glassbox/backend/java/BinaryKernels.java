package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.Indexing;

/**
 * Add, Sub, Mul and Div with numpy multidirectional broadcasting. The walk goes over the
 * output in rows ({@link Strided}); each op spells out its own loop over a row, so the
 * operation is chosen once per row, not per element. A gradient is computed at the output's
 * size and then summed over the axes its operand was broadcast along.
 */
final class BinaryKernels {
    private BinaryKernels() {
    }

    static float[] forward(Op.Binary op, Shape as, float[] a, Shape bs, float[] b, Shape out) {
        float[] y = new float[out.size()];
        Strided.Rows w = Strided.rows(out.dims(), Indexing.broadcast(as, out), Indexing.broadcast(bs, out));
        int sa = w.steps()[0];
        int sb = w.steps()[1];
        int n = w.inner();
        for (int r = 0; r < w.count(); r++) {
            int ao = w.starts()[0][r];
            int bo = w.starts()[1][r];
            int yo = r * n;
            switch (op) {
                case Op.Add _ -> {
                    for (int i = 0; i < n; i++) {
                        y[yo + i] = a[ao + i * sa] + b[bo + i * sb];
                    }
                }
                case Op.Sub _ -> {
                    for (int i = 0; i < n; i++) {
                        y[yo + i] = a[ao + i * sa] - b[bo + i * sb];
                    }
                }
                case Op.Mul _ -> {
                    for (int i = 0; i < n; i++) {
                        y[yo + i] = a[ao + i * sa] * b[bo + i * sb];
                    }
                }
                case Op.Div _ -> {
                    for (int i = 0; i < n; i++) {
                        y[yo + i] = a[ao + i * sa] / b[bo + i * sb];
                    }
                }
            }
        }
        return y;
    }

    /**
     * The gradients of both operands: Add {@code (g, g)}, Sub {@code (g, -g)}, Mul
     * {@code (g b, g a)}, Div {@code (g / b, -g a / b^2)}, each summed back to its operand's shape.
     */
    static float[][] gradients(Op.Binary op, Shape as, float[] a, Shape bs, float[] b, Shape out, float[] g) {
        float[] ga;
        float[] gb;
        switch (op) {
            case Op.Add _ -> {
                ga = g;
                gb = g;
            }
            case Op.Sub _ -> {
                ga = g;
                gb = new float[g.length];
                for (int i = 0; i < g.length; i++) {
                    gb[i] = -g[i];
                }
            }
            case Op.Mul _, Op.Div _ -> {
                ga = new float[g.length];
                gb = new float[g.length];
                boolean mul = op instanceof Op.Mul;
                Strided.Rows w = Strided.rows(out.dims(), Indexing.broadcast(as, out), Indexing.broadcast(bs, out));
                int sa = w.steps()[0];
                int sb = w.steps()[1];
                int n = w.inner();
                for (int r = 0; r < w.count(); r++) {
                    int ao = w.starts()[0][r];
                    int bo = w.starts()[1][r];
                    int yo = r * n;
                    if (mul) {
                        for (int i = 0; i < n; i++) {
                            ga[yo + i] = g[yo + i] * b[bo + i * sb];
                            gb[yo + i] = g[yo + i] * a[ao + i * sa];
                        }
                    } else {
                        for (int i = 0; i < n; i++) {
                            double bv = b[bo + i * sb];
                            ga[yo + i] = (float) (g[yo + i] / bv);
                            gb[yo + i] = (float) (-g[yo + i] * (double) a[ao + i * sa] / (bv * bv));
                        }
                    }
                }
            }
        }
        return new float[][] {Strided.reduceTo(ga, out, as), Strided.reduceTo(gb, out, bs)};
    }
}

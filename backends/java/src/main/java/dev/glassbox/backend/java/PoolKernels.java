package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Max and average pooling over NCHW with strides, padding, dilation and ceil mode, and the
 * global pools over every axis after the channel axis, one (item, channel) plane at a time;
 * planes are independent, so they are what is split across threads.
 *
 * <p>Window {@code o} on an axis starts at {@code o * stride - padBefore} and has taps every
 * {@code dilation} cells. Padding never wins a max; a window with no tap inside the input
 * (possible only with padding larger than the window) gives {@code -Float.MAX_VALUE}, the
 * lowest float, and routes no gradient, as ONNX Runtime does.
 */
final class PoolKernels {
    private PoolKernels() {
    }

    /** What the lowest float is to ONNX Runtime's max pools: the value of an empty window. */
    static final float EMPTY_MAX = -Float.MAX_VALUE;

    static float[] maxForward(Op.MaxPool2d op, Shape in, float[] x, Parallel par) {
        Shape out = op.outputShape(List.of(in));
        float[] y = new float[out.size()];
        maxPass(op, in, out, x, y, null, null, par);
        return y;
    }

    /** The output gradient goes to each window's argmax (the first maximal cell, row-major). */
    static float[] maxInputGradient(Op.MaxPool2d op, Shape in, float[] x, float[] dy, Parallel par) {
        Shape out = op.outputShape(List.of(in));
        float[] dx = new float[in.size()];
        maxPass(op, in, out, x, null, dy, dx, par);
        return dx;
    }

    /** Finds every window's argmax; writes the max to {@code y} or routes {@code dy} into {@code dx}. */
    private static void maxPass(Op.MaxPool2d op, Shape in, Shape out, float[] x, float[] y, float[] dy, float[] dx,
                                Parallel par) {
        Geometry2d g = op.geometry();
        int h = in.dim(2);
        int w = in.dim(3);
        int oh = out.dim(2);
        int ow = out.dim(3);
        int kh = op.kernelH();
        int kw = op.kernelW();
        par.forRange(in.dim(0) * in.dim(1), (long) oh * ow * kh * kw, (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xOff = plane * h * w;
                int yOff = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int best = -1;
                        float max = EMPTY_MAX;
                        for (int i = 0; i < kh; i++) {
                            int ih = oy * g.strideH() - g.padTop() + i * g.dilationH();
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            for (int j = 0; j < kw; j++) {
                                int iw = ox * g.strideW() - g.padLeft() + j * g.dilationW();
                                if (iw < 0 || iw >= w) {
                                    continue;
                                }
                                int at = xOff + ih * w + iw;
                                if (best < 0 || x[at] > max) {
                                    best = at;
                                    max = x[at];
                                }
                            }
                        }
                        int o = yOff + oy * ow + ox;
                        if (y != null) {
                            y[o] = max;
                        } else if (best >= 0) {
                            dx[best] += dy[o];
                        }
                    }
                }
            }
        });
    }

    static float[] avgForward(Op.AvgPool2d op, Shape in, float[] x, Parallel par) {
        Shape out = op.outputShape(List.of(in));
        float[] y = new float[out.size()];
        avgPass(op, in, out, x, y, null, null, par);
        return y;
    }

    static float[] avgInputGradient(Op.AvgPool2d op, Shape in, float[] dy, Parallel par) {
        Shape out = op.outputShape(List.of(in));
        float[] dx = new float[in.size()];
        avgPass(op, in, out, null, null, dy, dx, par);
        return dx;
    }

    /**
     * Taps of window {@code o} on one axis that the divisor counts: those inside the input, or
     * with {@code includePad} those inside the padded input {@code [-padBefore, in + padAfter)}
     * (a ceil-mode window can run past it; windows never start before it).
     */
    private static int counted(int o, int in, int k, int stride, int padBefore, int padAfter, int dilation,
                               boolean includePad) {
        int lo = includePad ? -padBefore : 0;
        int hi = includePad ? in + padAfter : in;
        int n = 0;
        for (int i = 0; i < k; i++) {
            int pos = o * stride - padBefore + i * dilation;
            if (pos >= lo && pos < hi) {
                n++;
            }
        }
        return n;
    }

    /**
     * Forward ({@code x -> y}) or backward ({@code dy -> dx}) average pooling: the sum of the
     * window's cells inside the input over the divisor of {@link #counted}; a window with no
     * counted cell gives 0.
     */
    private static void avgPass(Op.AvgPool2d op, Shape in, Shape out, float[] x, float[] y, float[] dy, float[] dx,
                                Parallel par) {
        Geometry2d g = op.geometry();
        int h = in.dim(2);
        int w = in.dim(3);
        int oh = out.dim(2);
        int ow = out.dim(3);
        int kh = op.kernelH();
        int kw = op.kernelW();
        boolean includePad = op.countIncludePad();
        int[] rows = new int[oh];
        int[] cols = new int[ow];
        for (int oy = 0; oy < oh; oy++) {
            rows[oy] = counted(oy, h, kh, g.strideH(), g.padTop(), g.padBottom(), g.dilationH(), includePad);
        }
        for (int ox = 0; ox < ow; ox++) {
            cols[ox] = counted(ox, w, kw, g.strideW(), g.padLeft(), g.padRight(), g.dilationW(), includePad);
        }
        par.forRange(in.dim(0) * in.dim(1), (long) oh * ow * kh * kw, (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xOff = plane * h * w;
                int yOff = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int divisor = rows[oy] * cols[ox];
                        int o = yOff + oy * ow + ox;
                        if (divisor == 0) {
                            continue; // y stays 0, nothing flows back
                        }
                        double sum = 0;
                        float share = dx == null ? 0f : (float) ((double) dy[o] / divisor);
                        for (int i = 0; i < kh; i++) {
                            int ih = oy * g.strideH() - g.padTop() + i * g.dilationH();
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            int row = xOff + ih * w;
                            for (int j = 0; j < kw; j++) {
                                int iw = ox * g.strideW() - g.padLeft() + j * g.dilationW();
                                if (iw < 0 || iw >= w) {
                                    continue;
                                }
                                if (dx == null) {
                                    sum += x[row + iw];
                                } else {
                                    dx[row + iw] += share;
                                }
                            }
                        }
                        if (dx == null) {
                            y[o] = (float) (sum / divisor);
                        }
                    }
                }
            }
        });
    }

    /** Planes {@code N * C} and the cells of each, for a global pool over every axis after axis 1. */
    private static int planes(Shape in) {
        return in.dim(0) * in.dim(1);
    }

    private static int area(Shape in) {
        int area = 1;
        for (int d = 2; d < in.rank(); d++) {
            area = Math.multiplyExact(area, in.dim(d));
        }
        return area;
    }

    static float[] globalAvgForward(Shape in, float[] x, Parallel par) {
        int area = area(in);
        float[] y = new float[planes(in)];
        par.forRange(y.length, area, (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                double sum = 0;
                for (int i = p * area, end = i + area; i < end; i++) {
                    sum += x[i];
                }
                y[p] = (float) (sum / area);
            }
        });
        return y;
    }

    static float[] globalAvgInputGradient(Shape in, float[] dy) {
        int area = area(in);
        float[] dx = new float[in.size()];
        for (int p = 0; p < dy.length; p++) {
            Arrays.fill(dx, p * area, (p + 1) * area, (float) ((double) dy[p] / area));
        }
        return dx;
    }

    /** Each plane's first maximal cell (row-major), or -1 for an empty plane. */
    private static int[] globalArgmax(Shape in, float[] x, Parallel par) {
        int area = area(in);
        int[] best = new int[planes(in)];
        par.forRange(best.length, area, (lo, hi) -> {
            for (int p = lo; p < hi; p++) {
                int at = -1;
                for (int i = p * area, end = i + area; i < end; i++) {
                    if (at < 0 || x[i] > x[at]) {
                        at = i;
                    }
                }
                best[p] = at;
            }
        });
        return best;
    }

    static float[] globalMaxForward(Shape in, float[] x, Parallel par) {
        int[] best = globalArgmax(in, x, par);
        float[] y = new float[best.length];
        for (int p = 0; p < y.length; p++) {
            y[p] = best[p] < 0 ? EMPTY_MAX : x[best[p]];
        }
        return y;
    }

    static float[] globalMaxInputGradient(Shape in, float[] x, float[] dy, Parallel par) {
        int[] best = globalArgmax(in, x, par);
        float[] dx = new float[in.size()];
        for (int p = 0; p < best.length; p++) {
            if (best[p] >= 0) {
                dx[best[p]] += dy[p];
            }
        }
        return dx;
    }
}

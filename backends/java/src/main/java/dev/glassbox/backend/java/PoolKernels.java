package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;

/**
 * Max, average and global average pooling over NCHW, one (item, channel) plane at a time;
 * planes are independent, so they are what is split across threads.
 */
final class PoolKernels {
    private PoolKernels() {
    }

    static Shape outputShape(String op, int kh, int kw, Geometry2d g, boolean emptyWindowsAllowed, Shape in) {
        if (in.rank() != 4) {
            throw new IllegalArgumentException(op + ": input must be NCHW (rank 4), got " + in);
        }
        int h = in.dim(2);
        int w = in.dim(3);
        int extH = g.dilationH() * (kh - 1) + 1;
        int extW = g.dilationW() * (kw - 1) + 1;
        if (h + g.padTop() + g.padBottom() < extH || w + g.padLeft() + g.padRight() < extW) {
            throw new IllegalArgumentException(op + ": input " + in + " is smaller than the " + kh + "x" + kw
                    + " window (" + g + ")");
        }
        int oh = g.outHeight(h, kh);
        int ow = g.outWidth(w, kw);
        // A window entirely in the padding has no maximum and no cells to average over.
        if (!emptyWindowsAllowed && (hasEmptyWindow(h, oh, kh, g.strideH(), g.dilationH(), g.padTop())
                || hasEmptyWindow(w, ow, kw, g.strideW(), g.dilationW(), g.padLeft()))) {
            throw new IllegalArgumentException(op + ": with input " + in + ", a " + kh + "x" + kw
                    + " window covers only padding (" + g + ")");
        }
        return Shape.of(in.dim(0), in.dim(1), oh, ow);
    }

    private static boolean hasEmptyWindow(int in, int out, int k, int stride, int dilation, int pad) {
        for (int o = 0; o < out; o++) {
            boolean any = false;
            for (int i = 0; i < k && !any; i++) {
                int pos = o * stride - pad + i * dilation;
                any = pos >= 0 && pos < in;
            }
            if (!any) {
                return true;
            }
        }
        return false;
    }

    static Shape maxOutputShape(Op.MaxPool2d op, Shape in) {
        return outputShape("MaxPool2d", op.kernelH(), op.kernelW(), op.geometry(), false, in);
    }

    static Shape avgOutputShape(Op.AvgPool2d op, Shape in) {
        return outputShape("AvgPool2d", op.kernelH(), op.kernelW(), op.geometry(), op.countIncludePad(), in);
    }

    static Shape globalOutputShape(Shape in) {
        if (in.rank() != 4) {
            throw new IllegalArgumentException("GlobalAvgPool: input must be NCHW (rank 4), got " + in);
        }
        return Shape.of(in.dim(0), in.dim(1), 1, 1);
    }

    static float[] maxForward(Op.MaxPool2d op, Shape in, float[] x, Parallel par) {
        Shape out = maxOutputShape(op, in);
        float[] y = new float[out.size()];
        maxPass(op, in, out, x, y, null, null, par);
        return y;
    }

    /** The output gradient goes to each window's argmax (the first maximal cell, row-major). */
    static float[] maxInputGradient(Op.MaxPool2d op, Shape in, float[] x, float[] dy, Parallel par) {
        Shape out = maxOutputShape(op, in);
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
                        float max = 0f;
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
                        } else {
                            dx[best] += dy[o];
                        }
                    }
                }
            }
        });
    }

    static float[] avgForward(Op.AvgPool2d op, Shape in, float[] x, Parallel par) {
        Shape out = avgOutputShape(op, in);
        float[] y = new float[out.size()];
        avgPass(op, in, out, x, y, null, null, par);
        return y;
    }

    static float[] avgInputGradient(Op.AvgPool2d op, Shape in, float[] dy, Parallel par) {
        Shape out = avgOutputShape(op, in);
        float[] dx = new float[in.size()];
        avgPass(op, in, out, null, null, dy, dx, par);
        return dx;
    }

    /**
     * Forward ({@code x -> y}) or backward ({@code dy -> dx}) average pooling; the divisor is the
     * full window with {@code countIncludePad}, else only the window's cells inside the input.
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
        par.forRange(in.dim(0) * in.dim(1), (long) oh * ow * kh * kw, (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int xOff = plane * h * w;
                int yOff = plane * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    int rows = 0;
                    for (int i = 0; i < kh; i++) {
                        int ih = oy * g.strideH() - g.padTop() + i * g.dilationH();
                        if (ih >= 0 && ih < h) {
                            rows++;
                        }
                    }
                    for (int ox = 0; ox < ow; ox++) {
                        int cols = 0;
                        for (int j = 0; j < kw; j++) {
                            int iw = ox * g.strideW() - g.padLeft() + j * g.dilationW();
                            if (iw >= 0 && iw < w) {
                                cols++;
                            }
                        }
                        float divisor = includePad ? kh * kw : rows * cols;
                        int o = yOff + oy * ow + ox;
                        float sum = 0f;
                        float share = dx == null ? 0f : dy[o] / divisor;
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
                            y[o] = sum / divisor;
                        }
                    }
                }
            }
        });
    }

    static float[] globalForward(Shape in, float[] x) {
        int planes = in.dim(0) * in.dim(1);
        int area = in.dim(2) * in.dim(3);
        float[] y = new float[planes];
        for (int p = 0; p < planes; p++) {
            double sum = 0;
            for (int i = p * area, end = i + area; i < end; i++) {
                sum += x[i];
            }
            y[p] = (float) (sum / area);
        }
        return y;
    }

    static float[] globalInputGradient(Shape in, float[] dy) {
        int planes = in.dim(0) * in.dim(1);
        int area = in.dim(2) * in.dim(3);
        float[] dx = new float[in.size()];
        for (int p = 0; p < planes; p++) {
            Arrays.fill(dx, p * area, (p + 1) * area, dy[p] / area);
        }
        return dx;
    }
}

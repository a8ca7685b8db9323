package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Grouped, strided, dilated, padded 2-D convolution over NCHW by im2col + GEMM, and the
 * transposed convolution, which is the same pair of maps the other way round.
 *
 * <p>Per batch item and group, the receptive fields are unrolled into a {@code [K, P]} matrix
 * ({@code K = inChannels/groups * kH * kW}, {@code P = outH * outW}); the output is then
 * {@code W_g [Og, K] x col}. The input gradient is the transposed convolution: {@code
 * dcol = W_g^T dy}, folded back onto the input (col2im). A 1x1 kernel with stride 1 and no
 * padding needs no unrolling: the input already is the matrix.
 *
 * <p>{@link Op.ConvTranspose2d} is the input gradient of the convolution that maps its output
 * back to its input: its weight {@code [in, out/groups, kH, kW]} read as that convolution's
 * {@code [out, in/groups, kH, kW]}, with the transposed layer's output as the convolution's
 * input image. Its forward pass is that convolution's {@link #inputGradient} plus the bias,
 * its input gradient that convolution's {@link #forward} without bias. Output padding needs
 * nothing special: the extra rows and columns are image cells no window reaches.
 *
 * <p>Work is split over (batch item, group) pairs; a single image with a single group splits
 * the GEMM rows instead (output channels forward, K rows backward) so batch-1 explanations
 * still use every core.
 */
final class ConvKernel {
    private ConvKernel() {
    }

    /**
     * Sizes of one call, in the terms of the convolution: image {@code [n, c, h, w]}, output
     * {@code [n, o, oh, ow]}.
     */
    private record Dims(int n, int c, int h, int w, int o, int groups, int kh, int kw, int oh, int ow,
                        Geometry2d geo) {
        int cg() {
            return c / groups;
        }

        int og() {
            return o / groups;
        }

        int k() {
            return cg() * kh * kw;
        }

        int p() {
            return oh * ow;
        }

        int colSize() {
            return Math.multiplyExact(k(), p());
        }

        boolean direct() {
            return kh == 1 && kw == 1 && geo.strideH() == 1 && geo.strideW() == 1 && h == oh && w == ow
                    && geo.padTop() == 0 && geo.padLeft() == 0 && geo.padBottom() == 0 && geo.padRight() == 0;
        }

        int inputOffset(int item, int group) {
            return (item * c + group * cg()) * h * w;
        }

        int outputOffset(int item, int group) {
            return (item * o + group * og()) * p();
        }
    }

    /** A convolution: its input is the image, its output the output. */
    private static Dims dims(Op.Conv2d op, Shape in) {
        Shape out = op.outputShape(List.of(in));
        return new Dims(in.dim(0), in.dim(1), in.dim(2), in.dim(3), op.outChannels(), op.groups(),
                op.kernelH(), op.kernelW(), out.dim(2), out.dim(3), op.geometry());
    }

    /** A transposed convolution: its output is the image of the convolution, its input that convolution's output. */
    private static Dims dims(Op.ConvTranspose2d op, Shape in) {
        Shape out = op.outputShape(List.of(in));
        return new Dims(in.dim(0), out.dim(1), out.dim(2), out.dim(3), in.dim(1), op.groups(),
                op.kernelH(), op.kernelW(), in.dim(2), in.dim(3), op.geometry());
    }

    static float[] forward(Op.Conv2d op, Shape in, float[] x, Parallel par) {
        return forward(dims(op, in), op.weight().data(), op.bias() == null ? null : op.bias().data(), x, par);
    }

    static float[] inputGradient(Op.Conv2d op, Shape in, float[] dy, Parallel par) {
        return inputGradient(dims(op, in), op.weight().data(), dy, par);
    }

    static float[] forward(Op.ConvTranspose2d op, Shape in, float[] x, Parallel par) {
        Dims d = dims(op, in);
        float[] y = inputGradient(d, op.weight().data(), x, par);
        if (op.bias() != null) {
            float[] b = op.bias().data();
            int area = d.h * d.w;
            for (int plane = 0; plane < d.n * d.c; plane++) {
                float bias = b[plane % d.c];
                for (int i = plane * area, end = i + area; i < end; i++) {
                    y[i] += bias;
                }
            }
        }
        return y;
    }

    static float[] inputGradient(Op.ConvTranspose2d op, Shape in, float[] dy, Parallel par) {
        return forward(dims(op, in), op.weight().data(), null, dy, par);
    }

    /** The convolution of image {@code x} ({@code [n, c, h, w]}), plus {@code b} unless null. */
    private static float[] forward(Dims d, float[] w, float[] b, float[] x, Parallel par) {
        float[] y = new float[Math.multiplyExact(d.n * d.o, d.p())];
        int units = d.n * d.groups;
        if (units == 1 && par.parallelism() > 1) {
            float[] col = d.direct() ? x : unroll(d, x, 0, 0, new float[d.colSize()]);
            par.forRange(d.og(), (long) d.k() * d.p(), (lo, hi) -> multiplyInto(d, w, b, col, 0, y, 0, 0, lo, hi));
            return y;
        }
        par.forRange(units, (long) d.og() * d.k() * d.p(), (lo, hi) -> {
            float[] scratch = d.direct() ? null : new float[d.colSize()];
            for (int u = lo; u < hi; u++) {
                int item = u / d.groups;
                int group = u % d.groups;
                if (d.direct()) {
                    multiplyInto(d, w, b, x, d.inputOffset(item, group), y, item, group, 0, d.og());
                } else {
                    unroll(d, x, item, group, scratch);
                    multiplyInto(d, w, b, scratch, 0, y, item, group, 0, d.og());
                }
            }
        });
        return y;
    }

    /** Output channels {@code [oLo, oHi)} of one (item, group): bias, then {@code W_g x col}. */
    private static void multiplyInto(Dims d, float[] w, float[] b, float[] col, int colOff, float[] y,
                                     int item, int group, int oLo, int oHi) {
        int p = d.p();
        int yOff = d.outputOffset(item, group);
        if (b != null) {
            for (int oc = oLo; oc < oHi; oc++) {
                Arrays.fill(y, yOff + oc * p, yOff + (oc + 1) * p, b[group * d.og() + oc]);
            }
        }
        Gemm.multiply(w, group * d.og() * d.k(), d.k(), col, colOff, p, y, yOff, oLo, oHi);
    }

    /** The adjoint of the convolution without bias: {@code dy} ({@code [n, o, oh, ow]}) back onto the image. */
    private static float[] inputGradient(Dims d, float[] w, float[] dy, Parallel par) {
        float[] dx = new float[Math.multiplyExact(d.n * d.c, d.h * d.w)];
        int units = d.n * d.groups;
        if (units == 1 && par.parallelism() > 1) {
            float[] dcol = d.direct() ? dx : new float[d.colSize()];
            par.forRange(d.k(), (long) d.og() * d.p(),
                    (lo, hi) -> Gemm.multiplyTransposedA(w, 0, d.og(), d.k(), dy, 0, d.p(), dcol, 0, lo, hi));
            if (!d.direct()) {
                fold(d, dcol, dx, 0, 0);
            }
            return dx;
        }
        par.forRange(units, (long) d.og() * d.k() * d.p(), (lo, hi) -> {
            float[] scratch = d.direct() ? null : new float[d.colSize()];
            for (int u = lo; u < hi; u++) {
                int item = u / d.groups;
                int group = u % d.groups;
                int wOff = group * d.og() * d.k();
                int dyOff = d.outputOffset(item, group);
                if (d.direct()) {
                    // The gradient region of this (item, group) is written by this unit only.
                    Gemm.multiplyTransposedA(w, wOff, d.og(), d.k(), dy, dyOff, d.p(), dx, d.inputOffset(item, group), 0, d.k());
                } else {
                    Arrays.fill(scratch, 0f);
                    Gemm.multiplyTransposedA(w, wOff, d.og(), d.k(), dy, dyOff, d.p(), scratch, 0, 0, d.k());
                    fold(d, scratch, dx, item, group);
                }
            }
        });
        return dx;
    }

    /**
     * im2col: row {@code (c, i, j)} of {@code col} holds, for every output position, the input
     * value under kernel tap {@code (i, j)} of channel {@code c}, or 0 in the padding.
     */
    private static float[] unroll(Dims d, float[] x, int item, int group, float[] col) {
        Geometry2d g = d.geo;
        int p = d.p();
        int xOff = d.inputOffset(item, group);
        int row = 0;
        for (int c = 0; c < d.cg(); c++) {
            for (int i = 0; i < d.kh; i++) {
                int dh = i * g.dilationH() - g.padTop();
                for (int j = 0; j < d.kw; j++, row++) {
                    int dw = j * g.dilationW() - g.padLeft();
                    // Padding wider than the input can put the whole row in the padding.
                    int owLo = Math.min(d.ow, validLo(dw, g.strideW()));
                    int owHi = Math.max(owLo, validHi(dw, g.strideW(), d.w, d.ow));
                    for (int oy = 0; oy < d.oh; oy++) {
                        int dst = row * p + oy * d.ow;
                        int ih = oy * g.strideH() + dh;
                        if (ih < 0 || ih >= d.h) {
                            Arrays.fill(col, dst, dst + d.ow, 0f);
                            continue;
                        }
                        Arrays.fill(col, dst, dst + owLo, 0f);
                        Arrays.fill(col, dst + owHi, dst + d.ow, 0f);
                        int src = xOff + (c * d.h + ih) * d.w + dw;
                        if (owHi == owLo) {
                            continue; // this tap sees only padding on this row
                        }
                        if (g.strideW() == 1) {
                            System.arraycopy(x, src + owLo, col, dst + owLo, owHi - owLo);
                        } else {
                            for (int ox = owLo; ox < owHi; ox++) {
                                col[dst + ox] = x[src + ox * g.strideW()];
                            }
                        }
                    }
                }
            }
        }
        return col;
    }

    /** col2im, the adjoint of {@link #unroll}: adds every column entry back onto its input cell. */
    private static void fold(Dims d, float[] dcol, float[] dx, int item, int group) {
        Geometry2d g = d.geo;
        int p = d.p();
        int xOff = d.inputOffset(item, group);
        int row = 0;
        for (int c = 0; c < d.cg(); c++) {
            for (int i = 0; i < d.kh; i++) {
                int dh = i * g.dilationH() - g.padTop();
                for (int j = 0; j < d.kw; j++, row++) {
                    int dw = j * g.dilationW() - g.padLeft();
                    int owLo = validLo(dw, g.strideW());
                    int owHi = validHi(dw, g.strideW(), d.w, d.ow);
                    for (int oy = 0; oy < d.oh; oy++) {
                        int ih = oy * g.strideH() + dh;
                        if (ih < 0 || ih >= d.h) {
                            continue;
                        }
                        int src = row * p + oy * d.ow;
                        int dst = xOff + (c * d.h + ih) * d.w + dw;
                        for (int ox = owLo; ox < owHi; ox++) {
                            dx[dst + ox * g.strideW()] += dcol[src + ox];
                        }
                    }
                }
            }
        }
    }

    /** First output column whose tap {@code ox * stride + offset} lands inside the input. */
    private static int validLo(int offset, int stride) {
        return Math.max(0, Math.ceilDiv(-offset, stride));
    }

    /** One past the last output column whose tap lands inside an input of width {@code width}. */
    private static int validHi(int offset, int stride, int width, int outWidth) {
        return Math.min(outWidth, Math.max(0, Math.ceilDiv(width - offset, stride)));
    }
}

package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.Indexing;
import java.util.Arrays;
import java.util.List;

/**
 * The ops that move, copy, select, pad or sum values: Transpose, Concat, Slice, Pad, Expand,
 * ResizeNearest, ReduceSum and ReduceMean. Most are a strided copy ({@link Strided#copy}) of
 * a box between two layouts, and their gradients the same copy the other way round; Expand,
 * the reductions and nearest resizing sum gradients where values were copied to several places.
 */
final class RoutingKernels {
    private RoutingKernels() {
    }

    // ------------------------------------------------------------------ Transpose

    static float[] transpose(Op.Transpose op, Shape in, float[] x, Shape out) {
        float[] y = new float[x.length];
        Strided.copy(x, 0, Indexing.permutedStrides(op, in), y, 0, Indexing.contiguous(out), out.dims());
        return y;
    }

    static float[] transposeGradient(Op.Transpose op, Shape in, Shape out, float[] dy) {
        float[] dx = new float[dy.length];
        Strided.copy(dy, 0, Indexing.contiguous(out), dx, 0, Indexing.permutedStrides(op, in), out.dims());
        return dx;
    }

    // ------------------------------------------------------------------ Concat

    static float[] concat(Op.Concat op, List<Shape> in, List<float[]> xs, Shape out) {
        float[] y = new float[out.size()];
        int[] offsets = Indexing.concatOffsets(op, in, out);
        for (int j = 0; j < in.size(); j++) {
            Shape s = in.get(j);
            Strided.copy(xs.get(j), 0, Indexing.contiguous(s), y, offsets[j], Indexing.contiguous(out), s.dims());
        }
        return y;
    }

    static float[][] concatGradients(Op.Concat op, List<Shape> in, Shape out, float[] dy) {
        float[][] dx = new float[in.size()][];
        int[] offsets = Indexing.concatOffsets(op, in, out);
        for (int j = 0; j < in.size(); j++) {
            Shape s = in.get(j);
            dx[j] = new float[s.size()];
            Strided.copy(dy, offsets[j], Indexing.contiguous(out), dx[j], 0, Indexing.contiguous(s), s.dims());
        }
        return dx;
    }

    // ------------------------------------------------------------------ Slice

    static float[] slice(Op.Slice op, Shape in, float[] x, Shape out) {
        Indexing.SliceView v = Indexing.sliceView(op, in);
        float[] y = new float[out.size()];
        Strided.copy(x, v.offset(), v.strides(), y, 0, Indexing.contiguous(out), v.counts());
        return y;
    }

    /** The slice reads each input element at most once: its gradient is scattered back, zeros elsewhere. */
    static float[] sliceGradient(Op.Slice op, Shape in, Shape out, float[] dy) {
        Indexing.SliceView v = Indexing.sliceView(op, in);
        float[] dx = new float[in.size()];
        Strided.copy(dy, 0, Indexing.contiguous(out), dx, v.offset(), v.strides(), v.counts());
        return dx;
    }

    // ------------------------------------------------------------------ Pad

    static float[] pad(Op.Pad op, Shape in, float[] x, Shape out) {
        float[] y = new float[out.size()];
        if (op.value() != 0f) {
            Arrays.fill(y, op.value());
        }
        Indexing.PadBox b = Indexing.padBox(op, in, out);
        if (b.nonEmpty()) {
            Strided.copy(x, b.inOffset(), Indexing.contiguous(in), y, b.outOffset(), Indexing.contiguous(out), b.counts());
        }
        return y;
    }

    static float[] padGradient(Op.Pad op, Shape in, Shape out, float[] dy) {
        float[] dx = new float[in.size()];
        Indexing.PadBox b = Indexing.padBox(op, in, out);
        if (b.nonEmpty()) {
            Strided.copy(dy, b.outOffset(), Indexing.contiguous(out), dx, b.inOffset(), Indexing.contiguous(in), b.counts());
        }
        return dx;
    }

    // ------------------------------------------------------------------ ResizeNearest

    /** Per axis, for each output index, the input offset ({@code sourceIndex * inputStride}) it reads. */
    private static int[][] sources(Op.ResizeNearest op, Shape in, Shape out) {
        int[] inStrides = Indexing.contiguous(in);
        int[][] src = new int[in.rank()][];
        for (int d = 0; d < in.rank(); d++) {
            src[d] = new int[out.dim(d)];
            for (int i = 0; i < src[d].length; i++) {
                src[d][i] = op.sourceIndex(d, i, in.dim(d)) * inStrides[d];
            }
        }
        return src;
    }

    /**
     * Walks the output in rows along its last axis: for each row, the input offset of its outer
     * indices; {@code forward} copies input to output, else output gradient is added back.
     */
    private static void resizeWalk(Op.ResizeNearest op, Shape in, Shape out, float[] x, float[] y, boolean forward) {
        int rank = in.rank();
        if (rank == 0) {
            if (forward) {
                y[0] = x[0];
            } else {
                x[0] += y[0];
            }
            return;
        }
        int[][] src = sources(op, in, out);
        int[] last = src[rank - 1];
        int inner = last.length;
        int rows = inner == 0 ? 0 : out.size() / inner;
        int[] idx = new int[rank - 1];
        for (int r = 0; r < rows; r++) {
            int base = 0;
            for (int d = 0; d < rank - 1; d++) {
                base += src[d][idx[d]];
            }
            int yo = r * inner;
            if (forward) {
                for (int i = 0; i < inner; i++) {
                    y[yo + i] = x[base + last[i]];
                }
            } else {
                for (int i = 0; i < inner; i++) {
                    x[base + last[i]] += y[yo + i];
                }
            }
            for (int d = rank - 2; d >= 0; d--) {
                if (++idx[d] < out.dim(d)) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    static float[] resize(Op.ResizeNearest op, Shape in, float[] x, Shape out) {
        float[] y = new float[out.size()];
        resizeWalk(op, in, out, x, y, true);
        return y;
    }

    /** Each output cell copies one input cell: its gradient is added back there. */
    static float[] resizeGradient(Op.ResizeNearest op, Shape in, Shape out, float[] dy) {
        float[] dx = new float[in.size()];
        resizeWalk(op, in, out, dx, dy, false);
        return dx;
    }

    // ------------------------------------------------------------------ reductions

    /** Sum (or mean) over {@code axes}, accumulated in double. */
    static float[] reduce(Shape in, float[] x, List<Integer> axes, boolean mean) {
        long count = Indexing.reducedCount(in, axes);
        return Strided.toFloat(Strided.sumTo(x, in, Indexing.keptShape(in, axes)), mean ? 1.0 / count : 1.0);
    }

    /** Every input value receives its output's gradient ({@code / count} for the mean). */
    static float[] reduceGradient(Shape in, float[] dy, List<Integer> axes, boolean mean) {
        float[] g = dy;
        if (mean) {
            double count = Indexing.reducedCount(in, axes);
            g = new float[dy.length];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (dy[i] / count);
            }
        }
        return Strided.expand(g, Indexing.keptShape(in, axes), in);
    }
}

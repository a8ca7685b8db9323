package dev.glassbox.backend.java;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
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

    /** The strides of the input, read in the output's axis order. */
    private static int[] permutedStrides(Op.Transpose op, Shape in) {
        int[] inStrides = Strided.contiguous(in);
        int[] s = new int[inStrides.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = inStrides[op.perm().get(i)];
        }
        return s;
    }

    static float[] transpose(Op.Transpose op, Shape in, float[] x, Shape out) {
        float[] y = new float[x.length];
        Strided.copy(x, 0, permutedStrides(op, in), y, 0, Strided.contiguous(out), out.dims());
        return y;
    }

    static float[] transposeGradient(Op.Transpose op, Shape in, Shape out, float[] dy) {
        float[] dx = new float[dy.length];
        Strided.copy(dy, 0, Strided.contiguous(out), dx, 0, permutedStrides(op, in), out.dims());
        return dx;
    }

    // ------------------------------------------------------------------ Concat

    static float[] concat(Op.Concat op, List<Shape> in, List<float[]> xs, Shape out) {
        float[] y = new float[out.size()];
        int[] outStrides = Strided.contiguous(out);
        int at = 0;
        for (int j = 0; j < in.size(); j++) {
            Shape s = in.get(j);
            Strided.copy(xs.get(j), 0, Strided.contiguous(s), y, at * outStrides[op.axis()], outStrides, s.dims());
            at += s.dim(op.axis());
        }
        return y;
    }

    static float[][] concatGradients(Op.Concat op, List<Shape> in, Shape out, float[] dy) {
        float[][] dx = new float[in.size()][];
        int[] outStrides = Strided.contiguous(out);
        int at = 0;
        for (int j = 0; j < in.size(); j++) {
            Shape s = in.get(j);
            dx[j] = new float[s.size()];
            Strided.copy(dy, at * outStrides[op.axis()], outStrides, dx[j], 0, Strided.contiguous(s), s.dims());
            at += s.dim(op.axis());
        }
        return dx;
    }

    // ------------------------------------------------------------------ Slice

    /** Where the slice starts in the input and how it steps there, per output axis. */
    private record SliceView(int offset, int[] strides, int[] counts) {
    }

    private static SliceView sliceView(Op.Slice op, Shape in) {
        int[][] ranges = op.ranges(in);
        int[] inStrides = Strided.contiguous(in);
        int offset = 0;
        int[] strides = new int[ranges.length];
        int[] counts = new int[ranges.length];
        for (int d = 0; d < ranges.length; d++) {
            counts[d] = ranges[d][2];
            strides[d] = inStrides[d] * ranges[d][1];
            if (counts[d] > 0) {
                offset += ranges[d][0] * inStrides[d];
            }
        }
        return new SliceView(offset, strides, counts);
    }

    static float[] slice(Op.Slice op, Shape in, float[] x, Shape out) {
        SliceView v = sliceView(op, in);
        float[] y = new float[out.size()];
        Strided.copy(x, v.offset(), v.strides(), y, 0, Strided.contiguous(out), v.counts());
        return y;
    }

    /** The slice reads each input element at most once: its gradient is scattered back, zeros elsewhere. */
    static float[] sliceGradient(Op.Slice op, Shape in, Shape out, float[] dy) {
        SliceView v = sliceView(op, in);
        float[] dx = new float[in.size()];
        Strided.copy(dy, 0, Strided.contiguous(out), dx, v.offset(), v.strides(), v.counts());
        return dx;
    }

    // ------------------------------------------------------------------ Pad

    /** The box of the input that survives the padding (negative pads crop), and where it lands. */
    private record PadBox(int inOffset, int outOffset, int[] counts) {
    }

    private static PadBox padBox(Op.Pad op, Shape in, Shape out) {
        int rank = in.rank();
        int[] inStrides = Strided.contiguous(in);
        int[] outStrides = Strided.contiguous(out);
        int inOffset = 0;
        int outOffset = 0;
        int[] counts = new int[rank];
        for (int d = 0; d < rank; d++) {
            int before = op.pads().get(d);
            int first = Math.max(0, -before);                        // first input index kept
            int end = Math.min(in.dim(d), out.dim(d) - before);       // one past the last
            counts[d] = Math.max(0, end - first);
            inOffset += first * inStrides[d];
            outOffset += (first + before) * outStrides[d];
        }
        return new PadBox(inOffset, outOffset, counts);
    }

    static float[] pad(Op.Pad op, Shape in, float[] x, Shape out) {
        float[] y = new float[out.size()];
        if (op.value() != 0f) {
            Arrays.fill(y, op.value());
        }
        PadBox b = padBox(op, in, out);
        if (Arrays.stream(b.counts()).allMatch(c -> c > 0)) {
            Strided.copy(x, b.inOffset(), Strided.contiguous(in), y, b.outOffset(), Strided.contiguous(out), b.counts());
        }
        return y;
    }

    static float[] padGradient(Op.Pad op, Shape in, Shape out, float[] dy) {
        float[] dx = new float[in.size()];
        PadBox b = padBox(op, in, out);
        if (Arrays.stream(b.counts()).allMatch(c -> c > 0)) {
            Strided.copy(dy, b.outOffset(), Strided.contiguous(out), dx, b.inOffset(), Strided.contiguous(in), b.counts());
        }
        return dx;
    }

    // ------------------------------------------------------------------ ResizeNearest

    /** Per axis, for each output index, the input offset ({@code sourceIndex * inputStride}) it reads. */
    private static int[][] sources(Op.ResizeNearest op, Shape in, Shape out) {
        int[] inStrides = Strided.contiguous(in);
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

    /** The input's shape with the reduced axes set to 1 (the output's data in that shape). */
    static Shape keptShape(Shape in, List<Integer> axes) {
        int[] dims = in.dims();
        for (int a : axes) {
            dims[a] = 1;
        }
        return Shape.of(dims);
    }

    /** How many input values each output value sums. */
    static long reducedCount(Shape in, List<Integer> axes) {
        long n = 1;
        for (int a : axes) {
            n *= in.dim(a);
        }
        return n;
    }

    /** Sum (or mean) over {@code axes}, accumulated in double. */
    static float[] reduce(Shape in, float[] x, List<Integer> axes, boolean mean) {
        long count = reducedCount(in, axes);
        return Strided.toFloat(Strided.sumTo(x, in, keptShape(in, axes)), mean ? 1.0 / count : 1.0);
    }

    /** Every input value receives its output's gradient ({@code / count} for the mean). */
    static float[] reduceGradient(Shape in, float[] dy, List<Integer> axes, boolean mean) {
        float[] g = dy;
        if (mean) {
            double count = reducedCount(in, axes);
            g = new float[dy.length];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (dy[i] / count);
            }
        }
        return Strided.expand(g, keptShape(in, axes), in);
    }
}

package dev.glassbox.backend.support;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * The index arithmetic every backend does the same way over row-major tensors: strides,
 * broadcasting, and where the routing ops (Transpose, Slice, Pad, Concat, the reductions,
 * Softmax's axis, MatMul's batches) read and write. Offsets and strides count elements.
 */
public final class Indexing {
    private Indexing() {
    }

    /** Row-major strides of a contiguous tensor of the given dimensions. */
    public static int[] contiguous(int[] dims) {
        int[] s = new int[dims.length];
        int stride = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            s[d] = stride;
            stride = Math.multiplyExact(stride, dims[d]);
        }
        return s;
    }

    public static int[] contiguous(Shape shape) {
        return contiguous(shape.dims());
    }

    /**
     * The strides of {@code operand} read as a tensor of shape {@code out} under numpy
     * broadcasting (aligned at the last axis; stride 0 where the operand has size 1 or no axis).
     */
    public static int[] broadcast(Shape operand, Shape out) {
        int rank = out.rank();
        int[] s = new int[rank];
        int stride = 1;
        for (int d = operand.rank() - 1; d >= 0; d--) {
            int dim = operand.dim(d);
            s[d + rank - operand.rank()] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        return s;
    }

    /** The strides of a Transpose's input, read in the output's axis order. */
    public static int[] permutedStrides(Op.Transpose op, Shape in) {
        int[] inStrides = contiguous(in);
        int[] s = new int[inStrides.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = inStrides[op.perm().get(i)];
        }
        return s;
    }

    /** Where a slice starts in its input and how it steps there, per output axis. */
    public record SliceView(int offset, int[] strides, int[] counts) {
    }

    public static SliceView sliceView(Op.Slice op, Shape in) {
        int[][] ranges = op.ranges(in);
        int[] inStrides = contiguous(in);
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

    /** The box of a Pad's input that survives the padding (negative pads crop), and where it lands. */
    public record PadBox(int inOffset, int outOffset, int[] counts) {
        public boolean nonEmpty() {
            return Arrays.stream(counts).allMatch(c -> c > 0);
        }
    }

    public static PadBox padBox(Op.Pad op, Shape in, Shape out) {
        int rank = in.rank();
        int[] inStrides = contiguous(in);
        int[] outStrides = contiguous(out);
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

    /** Where each of a Concat's inputs starts in its output. */
    public static int[] concatOffsets(Op.Concat op, List<Shape> in, Shape out) {
        int stride = contiguous(out)[op.axis()];
        int[] offsets = new int[in.size()];
        int at = 0;
        for (int j = 0; j < offsets.length; j++) {
            offsets[j] = at * stride;
            at += in.get(j).dim(op.axis());
        }
        return offsets;
    }

    /** The input's shape with the reduced axes set to 1 (the reduction's data in that shape). */
    public static Shape keptShape(Shape in, List<Integer> axes) {
        int[] dims = in.dims();
        for (int a : axes) {
            dims[a] = 1;
        }
        return Shape.of(dims);
    }

    /** How many input values each output value of a reduction sums. */
    public static long reducedCount(Shape in, List<Integer> axes) {
        long n = 1;
        for (int a : axes) {
            n *= in.dim(a);
        }
        return n;
    }

    /**
     * The {@code [outer, len, inner]} view of {@code in} for a softmax over {@code axis}, so any
     * axis works without transposing; over the trailing axes (ONNX before opset 13) it is
     * {@code [prod(dims < axis), prod(dims >= axis), 1]}.
     */
    public static int[] softmaxView(Shape in, int axis, boolean overTrailingAxes) {
        int outer = 1;
        int len = 1;
        int inner = 1;
        for (int d = 0; d < in.rank(); d++) {
            if (d < axis) {
                outer *= in.dim(d);
            } else if (d == axis || overTrailingAxes) {
                len *= in.dim(d);
            } else {
                inner *= in.dim(d);
            }
        }
        return new int[] {outer, len, inner};
    }

    /**
     * numpy {@code matmul}'s sizes: {@code [..., m, k] x [..., k, n]}, the batch axes broadcast; a
     * rank-1 left operand is a row {@code [1, k]}, a rank-1 right operand a column {@code [k, 1]}.
     * {@code aStarts[i]} and {@code bStarts[i]} are where batch {@code i}'s matrices start.
     */
    public record MatMulDims(int m, int k, int n, Shape batch, Shape aBatch, Shape bBatch, int[] aStarts,
                             int[] bStarts) {

        public static MatMulDims of(Shape as, Shape bs) {
            int[] ad = as.rank() == 1 ? new int[] {1, as.dim(0)} : as.dims();
            int[] bd = bs.rank() == 1 ? new int[] {bs.dim(0), 1} : bs.dims();
            int m = ad[ad.length - 2];
            int k = ad[ad.length - 1];
            int n = bd[bd.length - 1];
            Shape aBatch = Shape.of(Arrays.copyOf(ad, ad.length - 2));
            Shape bBatch = Shape.of(Arrays.copyOf(bd, bd.length - 2));
            Shape batch = Shape.broadcast(aBatch, bBatch);
            return new MatMulDims(m, k, n, batch, aBatch, bBatch, starts(aBatch, batch, Math.multiplyExact(m, k)),
                    starts(bBatch, batch, Math.multiplyExact(k, n)));
        }

        /** For each batch index of {@code batch} (row-major), where the operand's matrix starts. */
        private static int[] starts(Shape operand, Shape batch, int matrix) {
            int[] strides = broadcast(operand, batch);
            int[] out = new int[batch.size()];
            int[] idx = new int[batch.rank()];
            for (int i = 0; i < out.length; i++) {
                int at = 0;
                for (int d = 0; d < idx.length; d++) {
                    at += idx[d] * strides[d];
                }
                out[i] = Math.multiplyExact(at, matrix);
                for (int d = idx.length - 1; d >= 0; d--) {
                    if (++idx[d] < batch.dim(d)) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
            return out;
        }

        public int batches() {
            return aStarts.length;
        }

        public int aSize() {
            return m * k;
        }

        public int bSize() {
            return k * n;
        }

        /** {@code batch} with a matrix of {@code rows x cols} appended. */
        public static Shape withMatrix(Shape batch, int rows, int cols) {
            int[] dims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
            dims[batch.rank()] = rows;
            dims[batch.rank() + 1] = cols;
            return Shape.of(dims);
        }
    }
}

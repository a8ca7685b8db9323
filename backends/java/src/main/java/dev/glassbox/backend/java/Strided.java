package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.Indexing;

/**
 * Walks over a box of elements seen through several strided layouts at once (broadcast
 * operands, transposed, sliced or padded views) as rows: runs of {@code inner} elements, each
 * layout stepping by a constant stride along the run. Axes of size 1 are dropped and adjacent
 * axes that are contiguous in every layout are merged first, so the inner loops the kernels
 * spell out over a row are as long as the layouts allow (a plain same-shape walk is one row).
 */
final class Strided {
    private Strided() {
    }

    /**
     * The rows of a walk: row {@code r} of layout {@code j} starts at {@code starts[j][r]} and
     * steps by {@code steps[j]}.
     */
    record Rows(int count, int inner, int[] steps, int[][] starts) {
    }

    /** The rows of a walk over {@code dims} with one stride array per layout (offsets start at 0). */
    static Rows rows(int[] dims, int[]... strides) {
        int layouts = strides.length;
        long size = 1;
        for (int d : dims) {
            size *= d;
        }
        if (size == 0) {
            return new Rows(0, 0, new int[layouts], new int[layouts][0]);
        }
        // Keep the axes longer than 1, merging each into the kept axis after it where that is contiguous.
        int[] kd = new int[dims.length];
        int[][] ks = new int[layouts][dims.length];
        int kept = 0;
        for (int d = dims.length - 1; d >= 0; d--) {
            if (dims[d] == 1) {
                continue;
            }
            boolean merge = kept > 0;
            for (int j = 0; j < layouts && merge; j++) {
                merge = strides[j][d] == (long) ks[j][kept - 1] * kd[kept - 1];
            }
            if (merge) {
                kd[kept - 1] *= dims[d];
            } else {
                kd[kept] = dims[d];
                for (int j = 0; j < layouts; j++) {
                    ks[j][kept] = strides[j][d];
                }
                kept++;
            }
        }
        // kd/ks hold the kept axes innermost first.
        int inner = kept == 0 ? 1 : kd[0];
        int count = (int) (size / inner);
        int[] steps = new int[layouts];
        for (int j = 0; j < layouts; j++) {
            steps[j] = kept == 0 ? 0 : ks[j][0];
        }
        int[][] starts = new int[layouts][count];
        int[] idx = new int[kept];
        int[] off = new int[layouts];
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < layouts; j++) {
                starts[j][r] = off[j];
            }
            // Odometer over the outer kept axes (1 .. kept-1), innermost of them first.
            for (int a = 1; a < kept; a++) {
                idx[a]++;
                for (int j = 0; j < layouts; j++) {
                    off[j] += ks[j][a];
                }
                if (idx[a] < kd[a]) {
                    break;
                }
                idx[a] = 0;
                for (int j = 0; j < layouts; j++) {
                    off[j] -= ks[j][a] * kd[a];
                }
            }
        }
        return new Rows(count, inner, steps, starts);
    }

    /**
     * {@code dst[box] = src[box]}: copies a box of {@code dims} elements from one strided layout
     * to another. The destination positions must be distinct.
     */
    static void copy(float[] src, int srcOff, int[] srcStrides, float[] dst, int dstOff, int[] dstStrides, int[] dims) {
        Rows w = rows(dims, srcStrides, dstStrides);
        int ss = w.steps()[0];
        int ds = w.steps()[1];
        int n = w.inner();
        for (int r = 0; r < w.count(); r++) {
            int s = srcOff + w.starts()[0][r];
            int d = dstOff + w.starts()[1][r];
            if (ss == 1 && ds == 1) {
                System.arraycopy(src, s, dst, d, n);
            } else {
                for (int i = 0; i < n; i++) {
                    dst[d + i * ds] = src[s + i * ss];
                }
            }
        }
    }

    /** {@code src} (of shape {@code from}) broadcast to {@code to}, numpy rules. */
    static float[] expand(float[] src, Shape from, Shape to) {
        float[] out = new float[to.size()];
        copy(src, 0, Indexing.broadcast(from, to), out, 0, Indexing.contiguous(to), to.dims());
        return out;
    }

    /**
     * {@code src} (of shape {@code from}) summed over the axes that {@code to} broadcasts along,
     * accumulated in double: the adjoint of {@link #expand}. {@code to} must broadcast to
     * {@code from}.
     */
    static double[] sumTo(float[] src, Shape from, Shape to) {
        double[] acc = new double[to.size()];
        Rows w = rows(from.dims(), Indexing.contiguous(from), Indexing.broadcast(to, from));
        int ss = w.steps()[0];
        int ds = w.steps()[1];
        int n = w.inner();
        for (int r = 0; r < w.count(); r++) {
            int s = w.starts()[0][r];
            int d = w.starts()[1][r];
            if (ds == 0) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += src[s + i * ss];
                }
                acc[d] += sum;
            } else {
                for (int i = 0; i < n; i++) {
                    acc[d + i * ds] += src[s + i * ss];
                }
            }
        }
        return acc;
    }

    /** {@link #sumTo}, rounded to float, or {@code src} itself when there is nothing to sum. */
    static float[] reduceTo(float[] src, Shape from, Shape to) {
        if (from.size() == to.size()) {
            return src;
        }
        return toFloat(sumTo(src, from, to), 1);
    }

    /** {@code factor * values}, rounded to float once. */
    static float[] toFloat(double[] values, double factor) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (values[i] * factor);
        }
        return out;
    }
}

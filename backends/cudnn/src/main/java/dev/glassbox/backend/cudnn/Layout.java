package dev.glassbox.backend.cudnn;

import java.util.Arrays;

/**
 * The {@code Layout} struct of {@code kernels.cu}'s {@code strided} kernel: a box of
 * {@code dims} walked row-major and the strides (in floats) of the output and of up to three
 * operands along it. Axes of size 1 are dropped and neighbours contiguous in every layout
 * merged first, so a plain elementwise op is one axis and ranks above 8 are rare.
 */
final class Layout {
    static final int MAX_RANK = 8;
    /** rank, dims[8], y[8], a[8], b[8], c[8]. */
    static final int INTS = 1 + 5 * MAX_RANK;

    private Layout() {
    }

    /**
     * The struct for a walk over {@code dims} with the output's strides first, then up to three
     * operands' ({@code null} for an operand the op does not read).
     *
     * @throws IllegalArgumentException if more than 8 axes remain after merging
     */
    static int[] of(int[] dims, int[] y, int[] a, int[] b, int[] c) {
        int[][] strides = {y, a == null ? new int[dims.length] : a, b == null ? new int[dims.length] : b,
                c == null ? new int[dims.length] : c};
        // kept axes, innermost first
        int[] kd = new int[dims.length];
        int[][] ks = new int[4][dims.length];
        int kept = 0;
        for (int d = dims.length - 1; d >= 0; d--) {
            if (dims[d] == 1) {
                continue;
            }
            boolean merge = kept > 0;
            for (int j = 0; j < 4 && merge; j++) {
                merge = strides[j][d] == (long) ks[j][kept - 1] * kd[kept - 1];
            }
            if (merge) {
                kd[kept - 1] *= dims[d];
            } else {
                kd[kept] = dims[d];
                for (int j = 0; j < 4; j++) {
                    ks[j][kept] = strides[j][d];
                }
                kept++;
            }
        }
        if (kept > MAX_RANK) {
            throw new IllegalArgumentException("a walk over " + Arrays.toString(dims) + " needs " + kept
                    + " axes; the cudnn backend's kernels take at most " + MAX_RANK);
        }
        int[] struct = new int[INTS];
        struct[0] = kept;
        for (int i = 0; i < kept; i++) {
            int at = kept - 1 - i; // back to outermost first
            struct[1 + at] = kd[i];
            for (int j = 0; j < 4; j++) {
                struct[1 + (j + 1) * MAX_RANK + at] = ks[j][i];
            }
        }
        return struct;
    }

    /** A plain walk over {@code n} contiguous elements of the output and every operand. */
    static int[] flat(long n) {
        return of(new int[] {Math.toIntExact(n)}, new int[] {1}, new int[] {1}, new int[] {1}, new int[] {1});
    }
}

package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;

/**
 * numpy {@code matmul}: {@code [..., M, K] x [..., K, N] -> [..., M, N]}, the leading (batch)
 * axes broadcast; a rank-1 left operand is a row {@code [1, K]}, a rank-1 right operand a
 * column {@code [K, 1]} (the same data either way, so only the dimensions change). Work is
 * split over (batch, row) pairs.
 */
final class MatMulKernel {
    private MatMulKernel() {
    }

    /** The sizes of one product and, per output batch, where each operand's matrix starts. */
    private record Dims(int m, int k, int n, int batches, int[] aStarts, int[] bStarts, Shape batch,
                        Shape aBatch, Shape bBatch) {
        int aSize() {
            return m * k;
        }

        int bSize() {
            return k * n;
        }
    }

    private static Dims dims(Shape as, Shape bs) {
        int[] ad = as.rank() == 1 ? new int[] {1, as.dim(0)} : as.dims();
        int[] bd = bs.rank() == 1 ? new int[] {bs.dim(0), 1} : bs.dims();
        int m = ad[ad.length - 2];
        int k = ad[ad.length - 1];
        int n = bd[bd.length - 1];
        Shape aBatch = Shape.of(Arrays.copyOf(ad, ad.length - 2));
        Shape bBatch = Shape.of(Arrays.copyOf(bd, bd.length - 2));
        Shape batch = Shape.broadcast(aBatch, bBatch);
        int batches = batch.size();
        int[] aStarts = matrixStarts(aBatch, batch, m * k);
        int[] bStarts = matrixStarts(bBatch, batch, k * n);
        return new Dims(m, k, n, batches, aStarts, bStarts, batch, aBatch, bBatch);
    }

    /** For each batch index of {@code batch} (row-major), where the operand's matrix starts. */
    private static int[] matrixStarts(Shape operandBatch, Shape batch, int matrixSize) {
        int[] starts = new int[batch.size()];
        Strided.Rows w = Strided.rows(batch.dims(), Strided.broadcast(operandBatch, batch));
        int at = 0;
        for (int r = 0; r < w.count(); r++) {
            for (int i = 0; i < w.inner(); i++) {
                starts[at++] = Math.multiplyExact(w.starts()[0][r] + i * w.steps()[0], matrixSize);
            }
        }
        return starts;
    }

    static float[] forward(Shape as, float[] a, Shape bs, float[] b, Parallel par) {
        Dims d = dims(as, bs);
        float[] y = new float[Math.multiplyExact(d.batches, Math.multiplyExact(d.m, d.n))];
        par.forRange(d.batches * d.m, (long) d.k * d.n, (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.m;
                int row = u % d.m;
                Gemm.multiply(a, d.aStarts[batch], d.k, b, d.bStarts[batch], d.n, y, batch * d.m * d.n, row, row + 1);
            }
        });
        return y;
    }

    /**
     * {@code dA = dY B^T} and {@code dB = A^T dY} per batch, then summed over the batch axes the
     * operand was broadcast along.
     */
    static float[][] gradients(Shape as, float[] a, Shape bs, float[] b, float[] dy, Parallel par) {
        Dims d = dims(as, bs);
        int mn = d.m * d.n;
        float[] da = new float[Math.multiplyExact(d.batches, d.aSize())];
        float[] db = new float[Math.multiplyExact(d.batches, d.bSize())];
        par.forRange(d.batches * d.m, (long) d.k * d.n, (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.m;
                int row = u % d.m;
                Gemm.multiplyTransposedB(dy, batch * mn, d.n, b, d.bStarts[batch], d.k, da, batch * d.aSize(), row, row + 1);
            }
        });
        par.forRange(d.batches * d.k, (long) d.m * d.n, (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.k;
                int row = u % d.k;
                Gemm.multiplyTransposedA(a, d.aStarts[batch], d.m, d.k, dy, batch * mn, d.n, db, batch * d.bSize(), row, row + 1);
            }
        });
        return new float[][] {
                Strided.reduceTo(da, withMatrix(d.batch, d.m, d.k), withMatrix(d.aBatch, d.m, d.k)),
                Strided.reduceTo(db, withMatrix(d.batch, d.k, d.n), withMatrix(d.bBatch, d.k, d.n))};
    }

    private static Shape withMatrix(Shape batch, int rows, int cols) {
        int[] dims = Arrays.copyOf(batch.dims(), batch.rank() + 2);
        dims[batch.rank()] = rows;
        dims[batch.rank() + 1] = cols;
        return Shape.of(dims);
    }
}

package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.Indexing.MatMulDims;

/**
 * numpy {@code matmul}: {@code [..., M, K] x [..., K, N] -> [..., M, N]}, the leading (batch)
 * axes broadcast; a rank-1 left operand is a row {@code [1, K]}, a rank-1 right operand a
 * column {@code [K, 1]} (the same data either way, so only the dimensions change). Work is
 * split over (batch, row) pairs.
 */
final class MatMulKernel {
    private MatMulKernel() {
    }

    static float[] forward(Shape as, float[] a, Shape bs, float[] b, Parallel par) {
        MatMulDims d = MatMulDims.of(as, bs);
        float[] y = new float[Math.multiplyExact(d.batches(), Math.multiplyExact(d.m(), d.n()))];
        par.forRange(d.batches() * d.m(), (long) d.k() * d.n(), (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.m();
                int row = u % d.m();
                Gemm.multiply(a, d.aStarts()[batch], d.k(), b, d.bStarts()[batch], d.n(), y, batch * d.m() * d.n(), row, row + 1);
            }
        });
        return y;
    }

    /**
     * {@code dA = dY B^T} and {@code dB = A^T dY} per batch, then summed over the batch axes the
     * operand was broadcast along.
     */
    static float[][] gradients(Shape as, float[] a, Shape bs, float[] b, float[] dy, Parallel par) {
        MatMulDims d = MatMulDims.of(as, bs);
        int mn = d.m() * d.n();
        float[] da = new float[Math.multiplyExact(d.batches(), d.aSize())];
        float[] db = new float[Math.multiplyExact(d.batches(), d.bSize())];
        par.forRange(d.batches() * d.m(), (long) d.k() * d.n(), (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.m();
                int row = u % d.m();
                Gemm.multiplyTransposedB(dy, batch * mn, d.n(), b, d.bStarts()[batch], d.k(), da, batch * d.aSize(), row, row + 1);
            }
        });
        par.forRange(d.batches() * d.k(), (long) d.m() * d.n(), (lo, hi) -> {
            for (int u = lo; u < hi; u++) {
                int batch = u / d.k();
                int row = u % d.k();
                Gemm.multiplyTransposedA(a, d.aStarts()[batch], d.m(), d.k(), dy, batch * mn, d.n(), db, batch * d.bSize(), row, row + 1);
            }
        });
        return new float[][] {
                Strided.reduceTo(da, MatMulDims.withMatrix(d.batch(), d.m(), d.k()), MatMulDims.withMatrix(d.aBatch(), d.m(), d.k())),
                Strided.reduceTo(db, MatMulDims.withMatrix(d.batch(), d.k(), d.n()), MatMulDims.withMatrix(d.bBatch(), d.k(), d.n()))};
    }
}

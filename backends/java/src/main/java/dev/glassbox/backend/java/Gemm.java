package dev.glassbox.backend.java;

/**
 * The matrix products convolution, dense layers and matmul need, on row-major float arrays
 * with offsets. The innermost loop runs over a contiguous row of the output (or, for
 * {@code A B^T}, a dot product of two contiguous rows), which the JIT vectorises; the middle
 * loop skips zero coefficients, which are common once LRP rules clip weights.
 */
final class Gemm {
    private Gemm() {
    }

    /**
     * {@code C[m, :] += A[m, :] B} for rows {@code m} in {@code [mLo, mHi)}, where A is
     * {@code [M, K]}, B is {@code [K, P]} and C is {@code [M, P]}.
     */
    static void multiply(float[] a, int aOff, int k, float[] b, int bOff, int p,
                         float[] c, int cOff, int mLo, int mHi) {
        for (int m = mLo; m < mHi; m++) {
            int aRow = aOff + m * k;
            int cRow = cOff + m * p;
            for (int kk = 0; kk < k; kk++) {
                float av = a[aRow + kk];
                if (av == 0f) {
                    continue;
                }
                int bRow = bOff + kk * p;
                for (int j = 0; j < p; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /**
     * {@code C[k, :] += sum_m A[m, k] B[m, :]} (that is {@code C += A^T B}) for rows
     * {@code k} in {@code [kLo, kHi)}, where A is {@code [M, K]}, B is {@code [M, P]} and C
     * is {@code [K, P]}.
     */
    static void multiplyTransposedA(float[] a, int aOff, int m, int k, float[] b, int bOff, int p,
                                    float[] c, int cOff, int kLo, int kHi) {
        for (int mm = 0; mm < m; mm++) {
            int aRow = aOff + mm * k;
            int bRow = bOff + mm * p;
            for (int kk = kLo; kk < kHi; kk++) {
                float av = a[aRow + kk];
                if (av == 0f) {
                    continue;
                }
                int cRow = cOff + kk * p;
                for (int j = 0; j < p; j++) {
                    c[cRow + j] += av * b[bRow + j];
                }
            }
        }
    }

    /**
     * {@code C[m, j] += dot(A[m, :], B[j, :])} (that is {@code C += A B^T}) for rows {@code m}
     * in {@code [mLo, mHi)}, where A is {@code [M, K]}, B is {@code [P, K]} and C is {@code [M, P]}.
     */
    static void multiplyTransposedB(float[] a, int aOff, int k, float[] b, int bOff, int p,
                                    float[] c, int cOff, int mLo, int mHi) {
        for (int m = mLo; m < mHi; m++) {
            int aRow = aOff + m * k;
            int cRow = cOff + m * p;
            for (int j = 0; j < p; j++) {
                c[cRow + j] += dot(a, aRow, b, bOff + j * k, k);
            }
        }
    }

    /** Four independent accumulators: a single float sum is a serial dependency the JIT may not reorder. */
    static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        int i = 0;
        for (; i + 3 < len; i += 4) {
            s0 += a[aOff + i] * b[bOff + i];
            s1 += a[aOff + i + 1] * b[bOff + i + 1];
            s2 += a[aOff + i + 2] * b[bOff + i + 2];
            s3 += a[aOff + i + 3] * b[bOff + i + 3];
        }
        for (; i < len; i++) {
            s0 += a[aOff + i] * b[bOff + i];
        }
        return (s0 + s1) + (s2 + s3);
    }
}

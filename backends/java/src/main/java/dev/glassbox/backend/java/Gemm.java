package dev.glassbox.backend.java;

/**
 * The two matrix products convolution needs, on row-major float arrays with offsets. The
 * innermost loop runs over a contiguous row of the output, which the JIT vectorises; the
 * middle loop skips zero coefficients, which are common once LRP rules clip weights.
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
}

/*
 * What cuDNN and cuBLAS compute, written out plainly for the CPU twin (HostDevice): the
 * backend's code above the Device interface runs unchanged on the host, with these in place of
 * cudnnConvolutionForward, cudnnConvolutionBackwardData and cublasSgemm. Same conventions:
 * NCHW, filter [k, c / groups, r, s], symmetric padding, cross-correlation; column-major GEMM.
 */

/*
 * The convolution's forward pass (y[n, k, oh, ow] = sum over the group's channels and taps of
 * x * w) or, with backward set, its adjoint (dx from dy): one walk over the same taps.
 */
static void convolution(int backward, int n, int c, int h, int w, int k, int r, int s, int pad_h, int pad_w,
                        int stride_h, int stride_w, int dil_h, int dil_w, int groups, const float *in, const float *f,
                        float *out) {
    int oh = (h + 2 * pad_h - dil_h * (r - 1) - 1) / stride_h + 1;
    int ow = (w + 2 * pad_w - dil_w * (s - 1) - 1) / stride_w + 1;
    int cg = c / groups;
    int kg = k / groups;
    if (backward) {
        for (long i = 0; i < (long) n * c * h * w; i++) {
            out[i] = 0;
        }
    }
    for (int b = 0; b < n; b++) {
        for (int o = 0; o < k; o++) {
            int g = o / kg;
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    long at = ((long) (b * k + o) * oh + i) * ow + j;
                    double sum = 0;
                    for (int ci = 0; ci < cg; ci++) {
                        for (int u = 0; u < r; u++) {
                            int ih = i * stride_h - pad_h + u * dil_h;
                            if (ih < 0 || ih >= h) {
                                continue;
                            }
                            for (int v = 0; v < s; v++) {
                                int iw = j * stride_w - pad_w + v * dil_w;
                                if (iw < 0 || iw >= w) {
                                    continue;
                                }
                                long xi = ((long) (b * c + g * cg + ci) * h + ih) * w + iw;
                                float wv = f[((long) (o * cg + ci) * r + u) * s + v];
                                if (backward) {
                                    out[xi] += in[at] * wv;
                                } else {
                                    sum += (double) in[xi] * wv;
                                }
                            }
                        }
                    }
                    if (!backward) {
                        out[at] = (float) sum;
                    }
                }
            }
        }
    }
}

void reference_convolution_forward(int n, int c, int h, int w, int k, int r, int s, int pad_h, int pad_w,
                                   int stride_h, int stride_w, int dil_h, int dil_w, int groups,
                                   const float *x, const float *f, float *y) {
    convolution(0, n, c, h, w, k, r, s, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w, groups, x, f, y);
}

void reference_convolution_backward_data(int n, int c, int h, int w, int k, int r, int s, int pad_h, int pad_w,
                                         int stride_h, int stride_w, int dil_h, int dil_w, int groups,
                                         const float *dy, const float *f, float *dx) {
    convolution(1, n, c, h, w, k, r, s, pad_h, pad_w, stride_h, stride_w, dil_h, dil_w, groups, dy, f, dx);
}

/* Column-major C (m x n) = op(A) op(B), as cublasSgemm with alpha 1 and beta 0. */
void reference_sgemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc) {
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            double sum = 0;
            for (int p = 0; p < k; p++) {
                float av = trans_a ? a[(long) i * lda + p] : a[(long) p * lda + i];
                float bv = trans_b ? b[(long) p * ldb + j] : b[(long) j * ldb + p];
                sum += (double) av * bv;
            }
            c[(long) j * ldc + i] = (float) sum;
        }
    }
}

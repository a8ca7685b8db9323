package dev.glassbox.backend.cudnn;

/**
 * One cuDNN convolution: input {@code [n, c, h, w]}, filter {@code [k, c / groups, r, s]},
 * symmetric padding, strides and dilations. The key of a {@link ConvolutionPlan}.
 */
record ConvolutionShape(int n, int c, int h, int w, int k, int r, int s, int padH, int padW, int strideH, int strideW,
                        int dilationH, int dilationW, int groups) {

    int outHeight() {
        return (h + 2 * padH - dilationH * (r - 1) - 1) / strideH + 1;
    }

    int outWidth() {
        return (w + 2 * padW - dilationW * (s - 1) - 1) / strideW + 1;
    }

    long inputSize() {
        return (long) n * c * h * w;
    }

    long outputSize() {
        return (long) n * k * outHeight() * outWidth();
    }
}

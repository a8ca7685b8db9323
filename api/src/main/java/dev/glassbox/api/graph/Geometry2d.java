package dev.glassbox.api.graph;

/**
 * Where a 2-D window (convolution kernel or pooling window) is placed: strides, zero padding
 * on each side, and dilation. Output size per axis:
 * {@code (in + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride + 1}.
 */
public record Geometry2d(int strideH, int strideW,
                         int padTop, int padLeft, int padBottom, int padRight,
                         int dilationH, int dilationW) {

    public static final Geometry2d UNIT = new Geometry2d(1, 1, 0, 0, 0, 0, 1, 1);

    public Geometry2d {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException("strides and dilations must be >= 1: " + this);
        }
        if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
            throw new IllegalArgumentException("padding must be >= 0: " + this);
        }
    }

    public int outHeight(int inHeight, int kernelH) {
        return (inHeight + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH + 1;
    }

    public int outWidth(int inWidth, int kernelW) {
        return (inWidth + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW + 1;
    }
}

package dev.glassbox.explainer.actmax;

import dev.glassbox.api.tensor.Shape;

/**
 * The image operations of activation maximization, on one item of {@code planes} planes of
 * {@code height x width} values, row-major ({@code [C, H, W]}, or {@code [H, W]} as one plane).
 * Every linear operation here has its adjoint next to it, so gradients pass back through it
 * exactly.
 */
final class ImageOps {
    private ImageOps() {
    }

    /** The plane layout of an item shape: the last two axes are the image, the others are planes. */
    record Layout(int planes, int height, int width) {
        static Layout of(Shape item) {
            int rank = item.rank();
            if (rank < 2) {
                return null;
            }
            int h = item.dim(rank - 2);
            int w = item.dim(rank - 1);
            return new Layout(item.size() / Math.max(1, h * w), h, w);
        }

        int size() {
            return planes * height * width;
        }
    }

    /**
     * A random view of the image for one step: scaled by {@code zoom} about the centre, then
     * shifted by {@code (dy, dx)} pixels, sampled bilinearly with the edges extended.
     */
    record Warp(double zoom, double dy, double dx) {
        static final Warp IDENTITY = new Warp(1, 0, 0);

        boolean identity() {
            return zoom == 1 && dy == 0 && dx == 0;
        }

        /** {@code out = W in} for one item ({@code in} and {@code out} start at the offsets). */
        void apply(float[] in, int inOff, float[] out, int outOff, Layout l) {
            sample(in, inOff, out, outOff, l, false);
        }

        /** {@code out = W^T g}: the gradient at the warped view taken back to the image. */
        void adjoint(float[] g, int gOff, float[] out, int outOff, Layout l) {
            sample(g, gOff, out, outOff, l, true);
        }

        private void sample(float[] a, int aOff, float[] b, int bOff, Layout l, boolean adjoint) {
            int h = l.height();
            int w = l.width();
            int hw = h * w;
            if (adjoint) {
                java.util.Arrays.fill(b, bOff, bOff + l.size(), 0f);
            }
            double cy = (h - 1) / 2.0;
            double cx = (w - 1) / 2.0;
            for (int y = 0; y < h; y++) {
                double sy = Math.clamp((y - dy - cy) / zoom + cy, 0, h - 1);
                int y0 = (int) Math.floor(sy);
                int y1 = Math.min(y0 + 1, h - 1);
                float fy = (float) (sy - y0);
                for (int x = 0; x < w; x++) {
                    double sx = Math.clamp((x - dx - cx) / zoom + cx, 0, w - 1);
                    int x0 = (int) Math.floor(sx);
                    int x1 = Math.min(x0 + 1, w - 1);
                    float fx = (float) (sx - x0);
                    float w00 = (1 - fy) * (1 - fx);
                    float w01 = (1 - fy) * fx;
                    float w10 = fy * (1 - fx);
                    float w11 = fy * fx;
                    int o = y * w + x;
                    for (int p = 0; p < l.planes(); p++) {
                        int base = p * hw;
                        if (adjoint) {
                            float v = a[aOff + base + o];
                            b[bOff + base + y0 * w + x0] += w00 * v;
                            b[bOff + base + y0 * w + x1] += w01 * v;
                            b[bOff + base + y1 * w + x0] += w10 * v;
                            b[bOff + base + y1 * w + x1] += w11 * v;
                        } else {
                            b[bOff + base + o] = w00 * a[aOff + base + y0 * w + x0] + w01 * a[aOff + base + y0 * w + x1]
                                    + w10 * a[aOff + base + y1 * w + x0] + w11 * a[aOff + base + y1 * w + x1];
                        }
                    }
                }
            }
        }
    }

    /**
     * Adds {@code -weight} times the gradient of the squared total variation
     * {@code sum (x[y][x+1] - x[y][x])^2 + (x[y+1][x] - x[y][x])^2} (Mahendran and Vedaldi's
     * TV with beta = 2) to {@code d}.
     */
    static void addTotalVariationDescent(float[] x, int off, float[] d, int dOff, Layout l, double weight) {
        int h = l.height();
        int w = l.width();
        float k = (float) (2 * weight);
        for (int p = 0; p < l.planes(); p++) {
            int base = p * h * w;
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    int i = base + y * w + xx;
                    if (xx + 1 < w) {
                        float diff = x[off + i + 1] - x[off + i];
                        d[dOff + i] += k * diff;
                        d[dOff + i + 1] -= k * diff;
                    }
                    if (y + 1 < h) {
                        float diff = x[off + i + w] - x[off + i];
                        d[dOff + i] += k * diff;
                        d[dOff + i + w] -= k * diff;
                    }
                }
            }
        }
    }

    /** The squared total variation of one item (for tests and reports). */
    static double totalVariation(float[] x, int off, Layout l) {
        int h = l.height();
        int w = l.width();
        double sum = 0;
        for (int p = 0; p < l.planes(); p++) {
            int base = off + p * h * w;
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    int i = base + y * w + xx;
                    if (xx + 1 < w) {
                        sum += sq(x[i + 1] - x[i]);
                    }
                    if (y + 1 < h) {
                        sum += sq(x[i + w] - x[i]);
                    }
                }
            }
        }
        return sum;
    }

    private static double sq(double v) {
        return v * v;
    }

    /** Gaussian blur of standard deviation {@code sigma} pixels, separable, edges extended; in place. */
    static void blur(float[] x, int off, Layout l, double sigma) {
        if (!(sigma > 0)) {
            return;
        }
        int r = Math.max(1, (int) Math.ceil(3 * sigma));
        float[] k = new float[2 * r + 1];
        double sum = 0;
        for (int i = -r; i <= r; i++) {
            sum += Math.exp(-i * i / (2 * sigma * sigma));
        }
        for (int i = -r; i <= r; i++) {
            k[i + r] = (float) (Math.exp(-i * i / (2 * sigma * sigma)) / sum);
        }
        int h = l.height();
        int w = l.width();
        float[] tmp = new float[h * w];
        for (int p = 0; p < l.planes(); p++) {
            int base = off + p * h * w;
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    float s = 0;
                    for (int i = -r; i <= r; i++) {
                        s += k[i + r] * x[base + y * w + Math.clamp(xx + i, 0, w - 1)];
                    }
                    tmp[y * w + xx] = s;
                }
            }
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    float s = 0;
                    for (int i = -r; i <= r; i++) {
                        s += k[i + r] * tmp[Math.clamp(y + i, 0, h - 1) * w + xx];
                    }
                    x[base + y * w + xx] = s;
                }
            }
        }
    }
}

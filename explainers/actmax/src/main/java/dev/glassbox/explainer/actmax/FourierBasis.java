package dev.glassbox.explainer.actmax;

/**
 * The decorrelated image parameterization of Olah et al. (Feature Visualization, Distill 2017):
 * each plane of the image is {@code x = Re(F^-1 (s * z))}, where {@code F} is the orthonormal
 * 2-D discrete Fourier transform, {@code z} are the (complex) parameters and
 * {@code s(f) = 1 / max(|f|, 1 / max(H, W))^decay} scales each frequency {@code |f|} (cycles per
 * pixel). Natural images have about that spectrum, so equal steps on {@code z} are steps of
 * natural-image statistics on {@code x}.
 *
 * <p>A gradient step on {@code z}, {@code z += a F (s * g)}, moves the image by
 * {@code a Re(F^-1 (s^2 * F g))}: {@link #precondition} applies that map to a pixel-space
 * gradient {@code g}. Taking the step this way keeps the image itself as the state, so clipping,
 * blurring and resuming a run act on pixels while the optimization follows the Fourier
 * parameterization exactly.
 */
final class FourierBasis {
    private final int height;
    private final int width;
    private final double[] cosH;
    private final double[] sinH;
    private final double[] cosW;
    private final double[] sinW;
    /** {@code s^2} per frequency, {@code [H, W]}, scaled to mean 1. */
    private final double[] gain;

    FourierBasis(int height, int width, double decay) {
        this.height = height;
        this.width = width;
        cosH = new double[height * height];
        sinH = new double[height * height];
        cosW = new double[width * width];
        sinW = new double[width * width];
        table(height, cosH, sinH);
        table(width, cosW, sinW);
        gain = new double[height * width];
        double floor = 1.0 / Math.max(height, width);
        double mean = 0;
        for (int l = 0; l < height; l++) {
            double fy = Math.min(l, height - l) / (double) height;
            for (int k = 0; k < width; k++) {
                double fx = Math.min(k, width - k) / (double) width;
                double s = Math.pow(Math.max(Math.hypot(fy, fx), floor), -decay);
                gain[l * width + k] = s * s;
                mean += s * s;
            }
        }
        mean /= gain.length;
        for (int i = 0; i < gain.length; i++) {
            gain[i] /= mean;
        }
    }

    private static void table(int n, double[] cos, double[] sin) {
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                double angle = 2 * Math.PI * ((long) a * b % n) / n;
                cos[a * n + b] = Math.cos(angle);
                sin[a * n + b] = Math.sin(angle);
            }
        }
    }

    /** Replaces each plane of {@code g} (from {@code off}) by {@code Re(F^-1 (s^2 * F g))}. */
    void precondition(float[] g, int off, int planes) {
        int h = height;
        int w = width;
        double[] re = new double[h * w];
        double[] im = new double[h * w];
        double[] re2 = new double[h * w];
        double[] im2 = new double[h * w];
        double norm = 1.0 / Math.sqrt((double) h * w);
        for (int p = 0; p < planes; p++) {
            int base = off + p * h * w;
            // rows: A[y][k] = sum_x g[y][x] e^{-2 pi i k x / W}
            for (int y = 0; y < h; y++) {
                for (int k = 0; k < w; k++) {
                    double sr = 0;
                    double si = 0;
                    for (int x = 0; x < w; x++) {
                        double v = g[base + y * w + x];
                        sr += v * cosW[k * w + x];
                        si -= v * sinW[k * w + x];
                    }
                    re[y * w + k] = sr;
                    im[y * w + k] = si;
                }
            }
            // columns: B[l][k] = sum_y A[y][k] e^{-2 pi i l y / H}, then the gain
            for (int l = 0; l < h; l++) {
                for (int k = 0; k < w; k++) {
                    double sr = 0;
                    double si = 0;
                    for (int y = 0; y < h; y++) {
                        double c = cosH[l * h + y];
                        double s = sinH[l * h + y];
                        double ar = re[y * w + k];
                        double ai = im[y * w + k];
                        sr += ar * c + ai * s;
                        si += ai * c - ar * s;
                    }
                    double gn = gain[l * w + k];
                    re2[l * w + k] = sr * gn;
                    im2[l * w + k] = si * gn;
                }
            }
            // inverse columns: A'[y][k] = sum_l B'[l][k] e^{+2 pi i l y / H}
            for (int y = 0; y < h; y++) {
                for (int k = 0; k < w; k++) {
                    double sr = 0;
                    double si = 0;
                    for (int l = 0; l < h; l++) {
                        double c = cosH[y * h + l];
                        double s = sinH[y * h + l];
                        double br = re2[l * w + k];
                        double bi = im2[l * w + k];
                        sr += br * c - bi * s;
                        si += bi * c + br * s;
                    }
                    re[y * w + k] = sr;
                    im[y * w + k] = si;
                }
            }
            // inverse rows, real part: x[y][x] = Re sum_k A'[y][k] e^{+2 pi i k x / W}
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double sr = 0;
                    for (int k = 0; k < w; k++) {
                        sr += re[y * w + k] * cosW[x * w + k] - im[y * w + k] * sinW[x * w + k];
                    }
                    g[base + y * w + x] = (float) (sr * norm * norm);
                }
            }
        }
    }
}

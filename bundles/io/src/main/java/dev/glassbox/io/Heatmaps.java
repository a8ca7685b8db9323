package dev.glassbox.io;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Renders relevance maps as images.
 *
 * <p>An attribution {@code [C, H, W]} (or {@code [1, C, H, W]}, or {@code [H, W]}) is reduced
 * to {@code [H, W]} by summing over channels. Each value {@code r} is scaled symmetrically,
 * {@code t = r / m} with {@code m = max |r|} over the finite values, so zero stays at the centre
 * of the colormap; an all-zero map is all white. The colormap is matplotlib's {@code bwr}:
 * <pre>
 *   t &gt;= 0:  (R, G, B) = (1, 1 - t, 1 - t)     white -&gt; red
 *   t &lt;  0:  (R, G, B) = (1 + t, 1 + t, 1)     white -&gt; blue
 * </pre>
 * each component rounded to the nearest of 0..255. NaN is drawn as 0 (white), infinities as
 * the ends of the scale. Images are upscaled by an integer factor, nearest neighbour, so that
 * small inputs (28 x 28) are visible; {@link #defaultScale} picks a factor towards 224 pixels.
 */
public final class Heatmaps {
    /** The side {@link #defaultScale} aims for. */
    public static final int TARGET_SIZE = 224;

    private Heatmaps() {}

    /** {@code [C, H, W]} (or {@code [1, C, H, W]}) summed over channels to {@code [H, W]}; {@code [H, W]} as is. */
    public static HostTensor sumChannels(HostTensor attribution) {
        Shape s = attribution.shape();
        if (s.rank() == 2) {
            return attribution;
        }
        if (s.rank() == 4 && s.dim(0) == 1) {
            s = s.withoutBatch();
        }
        if (s.rank() != 3) {
            throw new InvalidInputException("cannot draw an attribution of shape " + attribution.shape()
                    + " as a heatmap: expected [C, H, W] or [H, W]", "attribution");
        }
        int c = s.dim(0);
        int n = s.dim(1) * s.dim(2);
        float[] in = attribution.data();
        float[] out = new float[n];
        for (int k = 0; k < c; k++) {
            for (int i = 0; i < n; i++) {
                out[i] += in[k * n + i];
            }
        }
        return HostTensor.wrap(Shape.of(s.dim(1), s.dim(2)), out);
    }

    /** The colour ({@code 0xRRGGBB}) of {@code t} in [-1, 1] (clamped; NaN as 0), see the class comment. */
    public static int color(double t) {
        double u = Double.isNaN(t) ? 0 : Math.clamp(t, -1, 1);
        double r = u >= 0 ? 1 : 1 + u;
        double g = 1 - Math.abs(u);
        double b = u <= 0 ? 1 : 1 - u;
        return rgb(r, g, b);
    }

    /** The largest integer factor that keeps the larger side at most {@link #TARGET_SIZE}, at least 1. */
    public static int defaultScale(int height, int width) {
        return Math.max(1, TARGET_SIZE / Math.max(1, Math.max(height, width)));
    }

    /** The heatmap of {@code attribution}, upscaled by {@link #defaultScale}. */
    public static BufferedImage render(HostTensor attribution) {
        HostTensor map = sumChannels(attribution);
        return render(map, defaultScale(map.shape().dim(0), map.shape().dim(1)));
    }

    /** The heatmap of {@code attribution}, each value drawn as a {@code scale x scale} square. */
    public static BufferedImage render(HostTensor attribution, int scale) {
        HostTensor map = sumChannels(attribution);
        float[] t = normalized(map.data());
        int[] colors = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            colors[i] = color(t[i]);
        }
        return image(colors, map.shape().dim(0), map.shape().dim(1), scale);
    }

    /** {@link #overlay(HostTensor, HostTensor, double, int)} at {@link #defaultScale}. */
    public static BufferedImage overlay(HostTensor input, HostTensor attribution, double alpha) {
        HostTensor map = sumChannels(attribution);
        return overlay(input, map, alpha, defaultScale(map.shape().dim(0), map.shape().dim(1)));
    }

    /**
     * The input as a grayscale background with the heatmap blended over it where relevance is
     * large. The background is the channel mean of {@code input} ({@code [C, H, W]}, {@code [1, C,
     * H, W]} or {@code [H, W]}), min-max scaled to [0, 1] (a constant input gives mid gray). Each
     * pixel is {@code (1 - a) * background + a * color(t)} with {@code a = alpha * |t|}.
     */
    public static BufferedImage overlay(HostTensor input, HostTensor attribution, double alpha, int scale) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
        HostTensor map = sumChannels(attribution);
        HostTensor bg = sumChannels(input); // the channel sum min-max scales like the channel mean
        if (!bg.shape().equals(map.shape())) {
            throw new InvalidInputException("input " + input.shape() + " and attribution " + attribution.shape()
                    + " differ in height or width", "attribution");
        }
        float[] gray = bg.data();
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : gray) {
            if (Float.isFinite(v)) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        float[] t = normalized(map.data());
        int[] colors = new int[t.length];
        for (int i = 0; i < t.length; i++) {
            double g = hi > lo ? Math.clamp((gray[i] - lo) / (double) (hi - lo), 0, 1) : 0.5;
            int heat = color(t[i]);
            double a = alpha * Math.abs(t[i]);
            colors[i] = rgb(
                    (1 - a) * g + a * ((heat >> 16) & 0xFF) / 255.0,
                    (1 - a) * g + a * ((heat >> 8) & 0xFF) / 255.0,
                    (1 - a) * g + a * (heat & 0xFF) / 255.0);
        }
        return image(colors, map.shape().dim(0), map.shape().dim(1), scale);
    }

    /** A horizontal legend of the colormap, -1 (blue) on the left to +1 (red) on the right. */
    public static BufferedImage colorbar(int width, int height) {
        if (width < 2 || height < 1) {
            throw new IllegalArgumentException("colorbar needs width >= 2 and height >= 1");
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int x = 0; x < width; x++) {
            int c = color(-1 + 2.0 * x / (width - 1));
            for (int y = 0; y < height; y++) {
                img.setRGB(x, y, c);
            }
        }
        return img;
    }

    /** Writes {@code image} as a PNG file, atomically (see {@link AtomicFiles}). */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        AtomicFiles.write(file, out -> {
            Iterator<ImageWriter> writers = ImageIO.getImageWritersByFormatName("png");
            if (!writers.hasNext()) {
                throw new IOException("no PNG writer available");
            }
            ImageWriter writer = writers.next();
            try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
                writer.setOutput(ios);
                writer.write(null, new IIOImage(image, null, null), null);
            } finally {
                writer.dispose();
            }
        });
    }

    /** {@code r / max|r|} (finite values), clamped to [-1, 1], NaN as 0. */
    static float[] normalized(float[] r) {
        double m = 0;
        for (float v : r) {
            if (Float.isFinite(v)) {
                m = Math.max(m, Math.abs(v));
            }
        }
        float[] t = new float[r.length];
        for (int i = 0; i < r.length; i++) {
            double u = r[i] / m; // 0 / 0 is NaN; +-inf / m is +-inf
            t[i] = Double.isNaN(u) ? 0 : (float) Math.clamp(u, -1, 1);
        }
        return t;
    }

    private static int rgb(double r, double g, double b) {
        return channel(r) << 16 | channel(g) << 8 | channel(b);
    }

    private static int channel(double v) {
        return (int) Math.round(Math.clamp(v, 0, 1) * 255);
    }

    private static BufferedImage image(int[] colors, int h, int w, int scale) {
        if (scale < 1) {
            throw new IllegalArgumentException("scale must be at least 1, got " + scale);
        }
        int oh = Math.multiplyExact(h, scale);
        int ow = Math.multiplyExact(w, scale);
        if (oh == 0 || ow == 0) {
            throw new InvalidInputException("cannot draw an empty heatmap (" + h + "x" + w + ")", "attribution");
        }
        int[] pixels = new int[Math.multiplyExact(oh, ow)];
        for (int y = 0; y < oh; y++) {
            int src = (y / scale) * w;
            for (int x = 0; x < ow; x++) {
                pixels[y * ow + x] = colors[src + x / scale];
            }
        }
        BufferedImage img = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, ow, oh, pixels, 0, ow);
        return img;
    }
}

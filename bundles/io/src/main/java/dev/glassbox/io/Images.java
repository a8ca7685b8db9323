package dev.glassbox.io;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * PNG and JPEG images (anything {@code javax.imageio} reads) as input tensors of shape
 * {@code [C, H, W]}, C = 1 (grayscale) or 3 (RGB), row-major.
 *
 * <p>Each value is {@code (pixel / 255 * scale - mean[c]) / std[c]} with {@code pixel} in
 * [0, 255] (a 16-bit gray sample {@code s} counts as {@code s / 65535 * 255}). Colour images
 * become grayscale by ITU-R BT.601 luma, {@code 0.299 R + 0.587 G + 0.114 B}; grayscale images
 * become RGB by repeating the gray value. Alpha is ignored. A requested size resizes
 * bilinearly with half-pixel centres and clamped edges, without antialiasing (the convention
 * of PyTorch's {@code interpolate(mode="bilinear", align_corners=False)}).
 */
public final class Images {

    /**
     * How to turn an image into a tensor. {@code height == width == 0} keeps the image's size;
     * {@code mean} and {@code std} hold one value for every channel or one for all.
     */
    public record Options(int channels, int height, int width, double scale, double[] mean, double[] std) {
        public Options {
            if (channels != 1 && channels != 3) {
                throw new InvalidOptionException("channels must be 1 or 3, got " + channels, "channels");
            }
            if (height < 0 || width < 0 || (height == 0) != (width == 0)) {
                throw new InvalidOptionException("image size must be positive, got " + height + "x" + width, "size");
            }
            if (!Double.isFinite(scale)) {
                throw new InvalidOptionException("scale must be finite, got " + scale, "scale");
            }
            mean = checked(mean, channels, "mean");
            std = checked(std, channels, "std");
            for (double s : std) {
                if (s == 0) {
                    throw new InvalidOptionException("std must not be zero", "std");
                }
            }
        }

        /** {@code channels} at the image's own size, scale 1, mean 0, std 1. */
        public static Options of(int channels) {
            return new Options(channels, 0, 0, 1, new double[] {0}, new double[] {1});
        }

        /** These options, resized to {@code height x width}. */
        public Options resized(int height, int width) {
            if (height <= 0 || width <= 0) {
                throw new InvalidOptionException("image size must be positive, got " + height + "x" + width, "size");
            }
            return new Options(channels, height, width, scale, mean, std);
        }

        /** These options with another scale, mean and std. */
        public Options normalized(double scale, double[] mean, double[] std) {
            return new Options(channels, height, width, scale, mean, std);
        }

        @Override
        public double[] mean() {
            return mean.clone();
        }

        @Override
        public double[] std() {
            return std.clone();
        }

        double mean(int c) {
            return mean[mean.length == 1 ? 0 : c];
        }

        double std(int c) {
            return std[std.length == 1 ? 0 : c];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Options p && channels == p.channels && height == p.height && width == p.width
                    && Double.compare(scale, p.scale) == 0 && Arrays.equals(mean, p.mean)
                    && Arrays.equals(std, p.std);
        }

        @Override
        public int hashCode() {
            return ((channels * 31 + height) * 31 + width) * 31 + Double.hashCode(scale)
                    + 17 * Arrays.hashCode(mean) + 257 * Arrays.hashCode(std);
        }

        @Override
        public String toString() {
            return "Options[channels=" + channels + ", size=" + height + "x" + width + ", scale=" + scale
                    + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
        }

        private static double[] checked(double[] v, int channels, String name) {
            if (v == null || (v.length != 1 && v.length != channels)) {
                throw new InvalidOptionException(name + " needs 1 or " + channels + " values, got "
                        + (v == null ? 0 : v.length), name);
            }
            for (double x : v) {
                if (!Double.isFinite(x)) {
                    throw new InvalidOptionException(name + " must be finite", name);
                }
            }
            return v.clone();
        }
    }

    private Images() {}

    /** Reads {@code file} with {@code channels} channels at its own size, values pixel / 255. */
    public static HostTensor read(Path file, int channels) {
        return read(file, Options.of(channels));
    }

    /** Reads {@code file} as a {@code [C, H, W]} tensor as {@code options} say. */
    public static HostTensor read(Path file, Options options) {
        String where = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(Files.exists(file) ? "not a regular file" : "no such file", where);
        }
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new InvalidInputException("cannot read image: " + e.getMessage(), where, e);
        }
        if (image == null) {
            throw new InvalidInputException("not a PNG or JPEG image", where);
        }
        return toTensor(image, options);
    }

    /** Converts an image in memory as {@link #read(Path, Options)} does a file. */
    public static HostTensor toTensor(BufferedImage image, Options options) {
        int h = image.getHeight();
        int w = image.getWidth();
        float[][] planes = fractions(image);
        planes = convert(planes, options.channels());
        int oh = options.height() == 0 ? h : options.height();
        int ow = options.width() == 0 ? w : options.width();
        int n = Math.multiplyExact(oh, ow);
        float[] out = new float[Math.multiplyExact(n, options.channels())];
        for (int c = 0; c < planes.length; c++) {
            float[] plane = oh == h && ow == w ? planes[c] : resize(planes[c], h, w, oh, ow);
            double scale = options.scale();
            double mean = options.mean(c);
            double std = options.std(c);
            for (int i = 0; i < n; i++) {
                out[c * n + i] = (float) ((plane[i] * scale - mean) / std);
            }
        }
        return HostTensor.wrap(Shape.of(options.channels(), oh, ow), out);
    }

    /** The image as planes of pixel / 255 in [0, 1]: one plane for gray images, else R, G, B. */
    private static float[][] fractions(BufferedImage image) {
        int h = image.getHeight();
        int w = image.getWidth();
        ColorModel cm = image.getColorModel();
        if (cm instanceof ComponentColorModel && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            // Read gray samples directly: getRGB would convert linear gray to sRGB, brightening it.
            Raster raster = image.getRaster();
            double max = (1L << cm.getComponentSize(0)) - 1;
            float[] gray = new float[h * w];
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    gray[y * w + x] = (float) (row[x] / max);
                }
            }
            return new float[][] {gray};
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        float[][] rgb = new float[3][h * w];
        for (int i = 0; i < argb.length; i++) {
            rgb[0][i] = ((argb[i] >> 16) & 0xFF) / 255f;
            rgb[1][i] = ((argb[i] >> 8) & 0xFF) / 255f;
            rgb[2][i] = (argb[i] & 0xFF) / 255f;
        }
        return rgb;
    }

    private static float[][] convert(float[][] planes, int channels) {
        if (planes.length == channels) {
            return planes;
        }
        if (channels == 3) {
            return new float[][] {planes[0], planes[0], planes[0]};
        }
        float[] gray = new float[planes[0].length];
        for (int i = 0; i < gray.length; i++) {
            gray[i] = (float) (0.299 * planes[0][i] + 0.587 * planes[1][i] + 0.114 * planes[2][i]);
        }
        return new float[][] {gray};
    }

    /** Bilinear resize with half-pixel centres and clamped edges. */
    static float[] resize(float[] src, int h, int w, int oh, int ow) {
        float[] out = new float[oh * ow];
        int[] x0 = new int[ow];
        int[] x1 = new int[ow];
        float[] fx = new float[ow];
        for (int x = 0; x < ow; x++) {
            double sx = Math.clamp((x + 0.5) * w / ow - 0.5, 0, w - 1);
            x0[x] = (int) sx;
            x1[x] = Math.min(x0[x] + 1, w - 1);
            fx[x] = (float) (sx - x0[x]);
        }
        for (int y = 0; y < oh; y++) {
            double sy = Math.clamp((y + 0.5) * h / oh - 0.5, 0, h - 1);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, h - 1);
            float fy = (float) (sy - y0);
            for (int x = 0; x < ow; x++) {
                float top = src[y0 * w + x0[x]] * (1 - fx[x]) + src[y0 * w + x1[x]] * fx[x];
                float bottom = src[y1 * w + x0[x]] * (1 - fx[x]) + src[y1 * w + x1[x]] * fx[x];
                out[y * ow + x] = top * (1 - fy) + bottom * fy;
            }
        }
        return out;
    }
}

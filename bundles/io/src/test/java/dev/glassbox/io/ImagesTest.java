package dev.glassbox.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
    private static final float EPS = 1e-6f;

    @TempDir
    Path dir;

    /** A 3x2 (W x H) RGB PNG: row 0 red, green, blue; row 1 (10, 20, 30), white, black. */
    private Path rgbPng() throws IOException {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        int[] px = {0xFF0000, 0x00FF00, 0x0000FF, 0x0A141E, 0xFFFFFF, 0x000000};
        img.setRGB(0, 0, 3, 2, px, 0, 3);
        Path f = dir.resolve("rgb.png");
        assertTrue(ImageIO.write(img, "png", f.toFile()));
        return f;
    }

    private Path grayPng(int type, int w, int h, int... samples) throws IOException {
        BufferedImage img = new BufferedImage(w, h, type);
        img.getRaster().setSamples(0, 0, w, h, 0, samples);
        Path f = dir.resolve("gray" + type + ".png");
        assertTrue(ImageIO.write(img, "png", f.toFile()));
        return f;
    }

    @Test
    void readsRgbAsChwPixelsOver255() throws IOException {
        HostTensor t = Images.read(rgbPng(), 3);
        assertEquals(Shape.of(3, 2, 3), t.shape());
        assertArrayEquals(new float[] {1, 0, 0, 10 / 255f, 1, 0}, plane(t, 0), EPS);
        assertArrayEquals(new float[] {0, 1, 0, 20 / 255f, 1, 0}, plane(t, 1), EPS);
        assertArrayEquals(new float[] {0, 0, 1, 30 / 255f, 1, 0}, plane(t, 2), EPS);
    }

    @Test
    void rgbToGrayUsesBt601Luma() throws IOException {
        HostTensor t = Images.read(rgbPng(), 1);
        assertEquals(Shape.of(1, 2, 3), t.shape());
        float luma = (0.299f * 10 + 0.587f * 20 + 0.114f * 30) / 255;
        assertArrayEquals(new float[] {0.299f, 0.587f, 0.114f, luma, 1, 0}, t.data(), EPS);
    }

    @Test
    void grayIsReadWithoutGammaAndRepeatedForRgb() throws IOException {
        Path f = grayPng(BufferedImage.TYPE_BYTE_GRAY, 2, 2, 0, 64, 128, 255);
        float[] expected = {0, 64 / 255f, 128 / 255f, 1};
        HostTensor gray = Images.read(f, 1);
        assertEquals(Shape.of(1, 2, 2), gray.shape());
        assertArrayEquals(expected, gray.data(), EPS);
        HostTensor rgb = Images.read(f, 3);
        assertEquals(Shape.of(3, 2, 2), rgb.shape());
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(expected, plane(rgb, c), EPS);
        }
    }

    @Test
    void sixteenBitGrayScalesBy65535() throws IOException {
        Path f = grayPng(BufferedImage.TYPE_USHORT_GRAY, 3, 1, 0, 32768, 65535);
        assertArrayEquals(new float[] {0, 32768 / 65535f, 1}, Images.read(f, 1).data(), EPS);
    }

    @Test
    void scaleMeanStdArithmetic() throws IOException {
        BufferedImage img = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, 0xFF3300); // (255, 51, 0)
        Path f = dir.resolve("one.png");
        ImageIO.write(img, "png", f.toFile());
        Images.Options o = Images.Options.of(3).normalized(2, new double[] {0.5, 0.25, 0}, new double[] {0.5, 2, 4});
        // (pixel / 255 * scale - mean[c]) / std[c]
        assertArrayEquals(new float[] {(1 * 2 - 0.5f) / 0.5f, (0.2f * 2 - 0.25f) / 2, 0}, Images.read(f, o).data(), EPS);
        Images.Options shared = Images.Options.of(3).normalized(255, new double[] {100}, new double[] {5});
        assertArrayEquals(new float[] {(255 - 100) / 5f, (51 - 100) / 5f, -100 / 5f}, Images.read(f, shared).data(), 1e-4f);
    }

    @Test
    void bilinearUpscaleUsesHalfPixelCentres() throws IOException {
        Path f = grayPng(BufferedImage.TYPE_BYTE_GRAY, 2, 2, 0, 100, 200, 50);
        HostTensor t = Images.read(f, Images.Options.of(1).resized(4, 4));
        assertEquals(Shape.of(1, 4, 4), t.shape());
        assertEquals(0, t.get(0, 0, 0), EPS);
        assertEquals(100 / 255f, t.get(0, 0, 3), EPS);
        assertEquals(200 / 255f, t.get(0, 3, 0), EPS);
        assertEquals(50 / 255f, t.get(0, 3, 3), EPS);
        // source point (0.25, 0.25): (0 * .75 + 100 * .25) * .75 + (200 * .75 + 50 * .25) * .25
        assertEquals(59.375f / 255, t.get(0, 1, 1), EPS);
        assertEquals(25f / 255, t.get(0, 0, 1), EPS);
    }

    @Test
    void bilinearHalvingAveragesBlocksAndResizesNonSquare() throws IOException {
        int[] s = new int[16];
        for (int i = 0; i < 16; i++) {
            s[i] = i * 10;
        }
        Path f = grayPng(BufferedImage.TYPE_BYTE_GRAY, 4, 4, s);
        HostTensor t = Images.read(f, Images.Options.of(1).resized(2, 2));
        float[] expected = {(0 + 10 + 40 + 50) / 4f, (20 + 30 + 60 + 70) / 4f,
                (80 + 90 + 120 + 130) / 4f, (100 + 110 + 140 + 150) / 4f};
        for (int i = 0; i < 4; i++) {
            expected[i] /= 255;
        }
        assertArrayEquals(expected, t.data(), EPS);
        assertEquals(Shape.of(3, 5, 7), Images.read(f, Images.Options.of(3).resized(5, 7)).shape());
    }

    @Test
    void readsJpeg() throws IOException {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[256];
        Arrays.fill(px, 0xC86432); // (200, 100, 50)
        img.setRGB(0, 0, 16, 16, px, 0, 16);
        Path f = dir.resolve("flat.jpg");
        assertTrue(ImageIO.write(img, "jpeg", f.toFile()));
        HostTensor t = Images.read(f, 3);
        assertEquals(Shape.of(3, 16, 16), t.shape());
        assertEquals(200 / 255f, t.get(0, 8, 8), 4 / 255f);
        assertEquals(100 / 255f, t.get(1, 8, 8), 4 / 255f);
        assertEquals(50 / 255f, t.get(2, 8, 8), 4 / 255f);
    }

    @Test
    void unreadableFilesNameTheFile() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.png"), "not an image at all");
        expectInvalid(text, "not a PNG or JPEG");
        byte[] png = Files.readAllBytes(rgbPng());
        Path cut = Files.write(dir.resolve("cut.png"), Arrays.copyOf(png, 40));
        expectInvalid(cut, "");
        expectInvalid(dir.resolve("missing.png"), "no such file");
        expectInvalid(dir, "not a regular file");
    }

    @Test
    void badOptionsAreInvalidOptions() {
        assertEquals("mean", assertThrows(InvalidOptionException.class,
                () -> Images.Options.of(3).normalized(1, new double[] {1, 2}, new double[] {1})).where());
        assertEquals("std", assertThrows(InvalidOptionException.class,
                () -> Images.Options.of(1).normalized(1, new double[] {0}, new double[] {0})).where());
        assertEquals("channels", assertThrows(InvalidOptionException.class, () -> Images.Options.of(2)).where());
        assertEquals("size", assertThrows(InvalidOptionException.class,
                () -> Images.Options.of(1).resized(0, 3)).where());
        double[] mean = {0.1, 0.2, 0.3};
        Images.Options o = Images.Options.of(3).normalized(1, mean, new double[] {1});
        mean[0] = 9;
        assertEquals(0.1, o.mean()[0]);
        assertEquals(o, Images.Options.of(3).normalized(1, new double[] {0.1, 0.2, 0.3}, new double[] {1}));
    }

    private static void expectInvalid(Path file, String fragment) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Images.read(file, 3));
        assertEquals(file.toString(), e.where());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    private static float[] plane(HostTensor t, int c) {
        return t.item(c).data();
    }
}

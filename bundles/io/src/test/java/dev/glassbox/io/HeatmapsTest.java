package dev.glassbox.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeatmapsTest {
    private static final int WHITE = 0xFFFFFF;

    @TempDir
    Path dir;

    private static HostTensor map(int h, int w, float... values) {
        return HostTensor.wrap(Shape.of(1, h, w), values);
    }

    private static int rgb(BufferedImage img, int x, int y) {
        return img.getRGB(x, y) & 0xFFFFFF;
    }

    private static int r(int c) {
        return c >> 16 & 0xFF;
    }

    private static int g(int c) {
        return c >> 8 & 0xFF;
    }

    private static int b(int c) {
        return c & 0xFF;
    }

    @Test
    void colormapIsBwr() {
        assertEquals(WHITE, Heatmaps.color(0));
        assertEquals(0xFF0000, Heatmaps.color(1));
        assertEquals(0x0000FF, Heatmaps.color(-1));
        assertEquals(0xFF8080, Heatmaps.color(0.5)); // (1, 0.5, 0.5): 127.5 rounds to 128
        assertEquals(0x8080FF, Heatmaps.color(-0.5));
        assertEquals(0xFF0000, Heatmaps.color(7)); // clamped
        assertEquals(WHITE, Heatmaps.color(Double.NaN));
    }

    @Test
    void signMapsToRedAndBlueAndZeroToWhite() {
        BufferedImage img = Heatmaps.render(map(1, 3, 0.3f, -0.1f, 0f), 1);
        int pos = rgb(img, 0, 0);
        int neg = rgb(img, 1, 0);
        assertEquals(0xFF0000, pos, "the largest |r| is saturated");
        assertTrue(r(neg) < b(neg) && g(neg) < b(neg), "negative is blue-dominant: " + Integer.toHexString(neg));
        assertTrue(b(neg) == 255 && r(neg) > 128, "a third of the limit is light blue: " + Integer.toHexString(neg));
        assertEquals(WHITE, rgb(img, 2, 0));
    }

    @Test
    void scalingIsSymmetricAroundZero() {
        // m = max|r| = 4 from the negative side: -4 is fully blue, +1 is t = 0.25, light red
        BufferedImage img = Heatmaps.render(map(1, 2, 1f, -4f), 1);
        assertEquals(0x0000FF, rgb(img, 1, 0));
        assertEquals(Heatmaps.color(0.25), rgb(img, 0, 0));
        assertEquals(0xFFBFBF, rgb(img, 0, 0)); // 255 * 0.75 = 191.25
        // scale invariance: multiplying the map by a positive constant changes nothing
        BufferedImage scaled = Heatmaps.render(map(1, 2, 1000f, -4000f), 1);
        assertEquals(rgb(img, 0, 0), rgb(scaled, 0, 0));
        assertEquals(rgb(img, 1, 0), rgb(scaled, 1, 0));
    }

    @Test
    void allZeroMapIsAllWhite() {
        BufferedImage img = Heatmaps.render(map(2, 2, 0, 0, -0f, 0), 3);
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 6; x++) {
                assertEquals(WHITE, rgb(img, x, y));
            }
        }
    }

    @Test
    void upscalesByIntegerFactorNearestNeighbour() {
        HostTensor m = map(2, 3, 1, 0, -1, 0, 0.5f, 0);
        BufferedImage img = Heatmaps.render(m, 3);
        assertEquals(9, img.getWidth());
        assertEquals(6, img.getHeight());
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 9; x++) {
                assertEquals(Heatmaps.color(m.get(0, y / 3, x / 3)), rgb(img, x, y), x + "," + y);
            }
        }
        BufferedImage mnist = Heatmaps.render(HostTensor.zeros(Shape.of(1, 28, 28)));
        assertEquals(224, mnist.getWidth());
        assertEquals(224, mnist.getHeight());
        assertEquals(8, Heatmaps.defaultScale(28, 28));
        assertEquals(1, Heatmaps.defaultScale(224, 224));
        assertEquals(1, Heatmaps.defaultScale(500, 300));
        assertEquals(7, Heatmaps.defaultScale(32, 32));
    }

    @Test
    void channelsAreSummed() {
        // pixel 0: 1 - 1 + 0.5 = 0.5; pixel 1: -2 + 0 + 0 = -2; pixel 2: cancels to 0; pixel 3: 0
        HostTensor chw = HostTensor.wrap(Shape.of(3, 2, 2), new float[] {
                1, -2, 3, 0,
                -1, 0, -1, 0,
                0.5f, 0, -2, 0});
        HostTensor hw = Heatmaps.sumChannels(chw);
        assertEquals(Shape.of(2, 2), hw.shape());
        assertArrayEquals(new float[] {0.5f, -2, 0, 0}, hw.data());
        BufferedImage img = Heatmaps.render(chw, 1);
        assertEquals(Heatmaps.color(0.25), rgb(img, 0, 0));
        assertEquals(0x0000FF, rgb(img, 1, 0));
        assertEquals(WHITE, rgb(img, 0, 1));
        assertEquals(Shape.of(2, 2), Heatmaps.sumChannels(chw.reshape(Shape.of(1, 3, 2, 2))).shape());
        assertThrows(InvalidInputException.class, () -> Heatmaps.render(HostTensor.zeros(Shape.of(10)), 1));
    }

    @Test
    void overlayBlendsHeatOverGrayInput() {
        // input channel sum: 0, 10, 5, 5 -> background 0, 1, .5, .5
        HostTensor input = HostTensor.wrap(Shape.of(2, 2, 2), new float[] {0, 4, 2, 2, 0, 6, 3, 3});
        HostTensor attribution = map(2, 2, 0, 0, 2, -1);
        BufferedImage none = Heatmaps.overlay(input, attribution, 0, 1);
        assertEquals(0x000000, rgb(none, 0, 0));
        assertEquals(WHITE, rgb(none, 1, 0));
        assertEquals(0x808080, rgb(none, 0, 1));
        BufferedImage full = Heatmaps.overlay(input, attribution, 1, 1);
        assertEquals(0x000000, rgb(full, 0, 0), "zero relevance shows the input");
        assertEquals(0xFF0000, rgb(full, 0, 1), "|t| = 1 with alpha 1 is the pure colour");
        // t = -0.5, a = 0.5: 0.5 * 0.5 + 0.5 * (0.5, 0.5, 1) = (0.5, 0.5, 0.75)
        assertEquals(0x8080BF, rgb(full, 1, 1));
        assertEquals(224, Heatmaps.overlay(input, attribution, 0.5).getWidth());
        assertThrows(InvalidInputException.class,
                () -> Heatmaps.overlay(HostTensor.zeros(Shape.of(1, 3, 3)), attribution, 0.5, 1));
    }

    @Test
    void writesPngAtomically() throws IOException {
        BufferedImage img = Heatmaps.render(map(1, 3, 1, 0, -1), 2);
        Path f = dir.resolve("heat.png");
        Heatmaps.writePng(img, f);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList());
        }
        BufferedImage back = ImageIO.read(f.toFile());
        assertEquals(6, back.getWidth());
        assertEquals(2, back.getHeight());
        for (int x = 0; x < 6; x++) {
            assertEquals(rgb(img, x, 1), rgb(back, x, 1));
        }
        BufferedImage bar = Heatmaps.colorbar(101, 4);
        assertEquals(0x0000FF, rgb(bar, 0, 0));
        assertEquals(WHITE, rgb(bar, 50, 3));
        assertEquals(0xFF0000, rgb(bar, 100, 2));
    }
}

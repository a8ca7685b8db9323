package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.service.ProgressListener;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The pixel-flipping bookkeeping: features, orders, removal counts, baselines and the AOPC, on
 * a linear function whose curve is known in closed form. The real model's curves are checked in
 * EvaluateIT.
 */
class PixelFlippingTest {

    @Test
    void featuresArePositionsOrRegionsAcrossChannels() {
        int[][] pixels = PixelFlipping.features(Shape.of(2, 2, 3), 1);
        assertEquals(6, pixels.length);
        assertArrayEquals(new int[] {4, 10}, pixels[4]); // position (1, 1) in both channels
        int[][] regions = PixelFlipping.features(Shape.of(1, 3, 5), 2);
        assertEquals(2 * 3, regions.length);
        assertArrayEquals(new int[] {0, 1, 5, 6}, regions[0]);
        assertArrayEquals(new int[] {4, 9}, regions[2]); // the last column of regions is narrower
        assertArrayEquals(new int[] {14}, regions[5]);
        assertEquals(784, PixelFlipping.features(Shape.of(784), 1).length);
        assertEquals("--patch", assertThrows(InvalidOptionException.class,
                () -> PixelFlipping.features(Shape.of(784), 2)).where());
    }

    @Test
    void ordersAreByDecreasingRelevanceWithTiesInFeatureOrder() {
        assertArrayEquals(new int[] {1, 3, 0, 4, 2}, PixelFlipping.order(new double[] {0, 5, -1, 2, 0}));
        double[] r = PixelFlipping.relevance(new float[] {9, 1, 2, 3, Float.NaN, 4}, 1, new int[][] {{0, 1}, {2}, {3, 4}});
        assertArrayEquals(new double[] {3, 3, Double.NEGATIVE_INFINITY}, r); // NaN ranks last
        int[] random = PixelFlipping.randomOrder(50, 3);
        assertArrayEquals(random, PixelFlipping.randomOrder(50, 3));
        assertTrue(!Arrays.equals(random, PixelFlipping.randomOrder(50, 4)));
        int[] sorted = random.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, sorted[i]);
        }
    }

    @Test
    void removalCountsAndBaselines() {
        assertEquals(0, PixelFlipping.removedAt(0, 4, 10, 1));
        assertEquals(3, PixelFlipping.removedAt(1, 4, 10, 1)); // round(2.5)
        assertEquals(10, PixelFlipping.removedAt(4, 4, 10, 1));
        assertEquals(5, PixelFlipping.removedAt(4, 4, 10, 0.5));
        float[] x = {1, 3, 10, 20};
        Shape item = Shape.of(2, 1, 2);
        assertArrayEquals(new float[] {2, 2, 15, 15}, PixelFlipping.baseline("mean", x, 0, item));
        assertArrayEquals(new float[] {0, 0, 0, 0}, PixelFlipping.baseline("zero", x, 0, item));
        assertArrayEquals(new float[] {-0.5f, -0.5f, -0.5f, -0.5f}, PixelFlipping.baseline("-0.5", x, 0, item));
        assertEquals("--flip-baseline", assertThrows(InvalidOptionException.class,
                () -> PixelFlipping.baseline("blur", x, 0, item)).where());
        assertEquals("--fraction", assertThrows(InvalidOptionException.class,
                () -> new PixelFlipping.Settings(4, 1, 0, "zero", 1, 0)).where());
        assertEquals("--flip-steps", assertThrows(InvalidOptionException.class,
                () -> new PixelFlipping.Settings(0, 1, 1, "zero", 1, 0)).where());
    }

    /** {@code f(x) = W x} for two classes; the relevance w_c * x of class c is exact for a linear model. */
    @Test
    void curvesOfALinearFunctionFollowTheRemovedRelevance() {
        int d = 8;
        float[] w = {5, -1, 3, 0, 2, 4, -2, 1, /* class 1 */ 1, 1, 1, 1, 1, 1, 1, 1};
        UnaryOperator<HostTensor> linear = batch -> {
            int n = batch.shape().dim(0);
            float[] out = new float[n * 2];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < 2; c++) {
                    for (int j = 0; j < d; j++) {
                        out[i * 2 + c] += w[c * d + j] * batch.data()[i * d + j];
                    }
                }
            }
            return HostTensor.wrap(Shape.of(n, 2), out);
        };
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 2, 4), new float[] {1, 1, 1, 1, 1, 1, 1, 1});
        float[] rel = Arrays.copyOf(w, d);
        HostTensor relevance = HostTensor.wrap(x.shape(), rel);
        List<long[]> progress = new ArrayList<>();
        ProgressListener listener = (done, total) -> progress.add(new long[] {done, total});
        PixelFlipping.Result r = PixelFlipping.run(linear, x, relevance, new int[] {0},
                new PixelFlipping.Settings(4, 1, 1, "zero", 3, 0), listener);
        // order 5, 4, 3, 2, 1, 0, -1, -2: two features a step
        assertArrayEquals(new int[] {0, 2, 4, 6, 8}, r.removed());
        assertArrayEquals(new double[] {12, 3, -2, -3, 0}, r.curve(), 1e-9);
        assertEquals((0 + 9 + 14 + 15 + 12) / 5.0, r.aopc(), 1e-9);
        assertEquals(PixelFlipping.aopc(r.curveRandom()), r.aopcRandom(), 1e-12);
        assertEquals(12, r.curveRandom()[0], 1e-9);
        assertEquals(0, r.curveRandom()[4], 1e-9);
        assertTrue(r.aopc() > r.aopcRandom());
        assertEquals(3, r.curvesRandom().length);
        long[] last = progress.getLast();
        assertEquals(last[1], last[0]);
        assertEquals(4 * 5, last[1]); // (1 + 3 orders) x 5 points

        String json = PixelFlipping.json("m.onnx", "lrp", r, new PixelFlipping.Settings(4, 1, 1, "zero", 3, 0));
        assertTrue(json.startsWith("{\"model\":\"m.onnx\",\"method\":\"lrp\",\"inputs\":1,\"steps\":4,\"aopc\":10.0,"
                + "\"aopc_random\":"), json);
        assertTrue(json.contains(",\"curve\":[12.0,3.0,-2.0,-3.0,0.0],\"curve_random\":[12.0,"), json);
        assertTrue(json.endsWith("}") && !json.contains("\n"), json);

        BufferedImage plot = EvaluateCommand.plot("lrp", "m", r, new PixelFlipping.Settings(4, 1, 1, "zero", 3, 0));
        assertEquals(CurvePlot.WIDTH, plot.getWidth());
        assertEquals(CurvePlot.HEIGHT, plot.getHeight());
    }

    @Test
    void ticksAreRoundAndInside() {
        assertArrayEquals(new double[] {0, 0.2, 0.4, 0.6, 0.8, 1}, CurvePlot.ticks(0, 1), 1e-12);
        double[] t = CurvePlot.ticks(-2.7, 9.9);
        assertTrue(t[0] >= -2.7 && t[t.length - 1] <= 9.9 && t.length >= 3, Arrays.toString(t));
    }
}

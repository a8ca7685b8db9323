package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.assertClose;
import static dev.glassbox.backend.java.Harness.random;
import static dev.glassbox.backend.java.Harness.spaced;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PoolTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    static Stream<Geometry2d> geometries() {
        return Stream.of(
                new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1),   // 3x3 stride 2, pad 1
                new Geometry2d(1, 1, 0, 0, 0, 0, 1, 1),   // overlapping, no padding
                new Geometry2d(2, 1, 0, 1, 2, 0, 1, 1),   // asymmetric padding
                new Geometry2d(1, 2, 1, 2, 1, 0, 2, 2));  // dilation 2
    }

    /** Max over the window's cells inside the input, or the average with the chosen divisor. */
    static float[] reference(HostTensor x, int kh, int kw, Geometry2d g, boolean max, boolean includePad) {
        int n = x.shape().dim(0);
        int c = x.shape().dim(1);
        int hIn = x.shape().dim(2);
        int wIn = x.shape().dim(3);
        int oh = g.outHeight(hIn, kh);
        int ow = g.outWidth(wIn, kw);
        float[] y = new float[n * c * oh * ow];
        int at = 0;
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double best = Double.NEGATIVE_INFINITY;
                        double sum = 0;
                        int cells = 0;
                        for (int ki = 0; ki < kh; ki++) {
                            for (int kj = 0; kj < kw; kj++) {
                                int ih = i * g.strideH() - g.padTop() + ki * g.dilationH();
                                int iw = j * g.strideW() - g.padLeft() + kj * g.dilationW();
                                if (ih >= 0 && ih < hIn && iw >= 0 && iw < wIn) {
                                    float v = x.get(b, ch, ih, iw);
                                    best = Math.max(best, v);
                                    sum += v;
                                    cells++;
                                }
                            }
                        }
                        y[at++] = (float) (max ? best : sum / (includePad ? kh * kw : cells));
                    }
                }
            }
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("geometries")
    void maxPoolMatchesReferenceAndFiniteDifferences(Geometry2d g) {
        Random r = new Random(10);
        Op.MaxPool2d op = new Op.MaxPool2d(3, 2, g);
        HostTensor x = spaced(r, 0.03f, 2, 3, 7, 6);
        assertClose(reference(x, 3, 2, g, true, false), h.forward(op, x).data(), 0, "max pool " + g);
        h.assertGradients(op, 0.01, x);
    }

    @ParameterizedTest
    @MethodSource("geometries")
    void avgPoolMatchesReferenceAndFiniteDifferences(Geometry2d g) {
        Random r = new Random(11);
        HostTensor x = random(r, 2, 3, 7, 6);
        for (boolean includePad : new boolean[] {true, false}) {
            Op.AvgPool2d op = new Op.AvgPool2d(3, 2, g, includePad);
            assertClose(reference(x, 3, 2, g, false, includePad), h.forward(op, x).data(), 1e-6, op.toString());
            h.assertGradients(op, 0.05, x);
        }
    }

    /** Padding must never win, even when every real value is negative. */
    @Test
    void maxPoolPaddingNeverWins() {
        float[] v = {-5, -4, -3, -2, -1, -6, -7, -8, -9};
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 3, 3), v);
        HostTensor y = h.forward(new Op.MaxPool2d(2, 2, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1)), x);
        // windows: {-5}, {-4,-3}, {-2,-7}, {-1,-6,-8,-9}
        assertArrayEquals(new float[] {-5, -3, -2, -1}, y.data());
    }

    /** Ties go to the first cell of the window in row-major order. */
    @Test
    void maxPoolTieGoesToTheFirstCell() {
        // windows {2,1,0,2} (tie: (0,0) before (1,1)) and {1,2,2,2} (tie: (0,2) first)
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 2, 3), new float[] {2, 1, 2, 0, 2, 2});
        Op.MaxPool2d op = new Op.MaxPool2d(2, 2, Geometry2d.UNIT);
        HostTensor g = HostTensor.wrap(Shape.of(1, 1, 1, 2), new float[] {10, 100});
        assertArrayEquals(new float[] {10, 0, 100, 0, 0, 0}, h.gradients(op, g, x).get(0).data());
    }

    @Test
    void maxPoolRejectsAWindowOfOnlyPadding() {
        Op.MaxPool2d op = new Op.MaxPool2d(2, 2, new Geometry2d(1, 1, 2, 0, 0, 0, 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(op, HostTensor.zeros(Shape.of(1, 1, 4, 4))));
        assertTrue(e.getMessage().startsWith("MaxPool2d: with input [1, 1, 4, 4], a 2x2 window covers only padding"),
                e.getMessage());
    }

    /** The border case that distinguishes the two divisors, by hand. */
    @Test
    void avgPoolDivisorAtTheBorder() {
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 3, 3), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Geometry2d pad1 = new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1);
        HostTensor include = h.forward(new Op.AvgPool2d(3, 3, pad1, true), x);
        HostTensor exclude = h.forward(new Op.AvgPool2d(3, 3, pad1, false), x);
        // top-left window holds 1, 2, 4, 5 and five padding cells; the centre holds all nine.
        assertEquals(12f / 9, include.get(0, 0, 0, 0), 1e-6);
        assertEquals(12f / 4, exclude.get(0, 0, 0, 0), 1e-6);
        assertEquals(5f, include.get(0, 0, 1, 1), 1e-6);
        assertEquals(5f, exclude.get(0, 0, 1, 1), 1e-6);
        // top edge: 1..6 inside, three padding cells
        assertEquals(21f / 9, include.get(0, 0, 0, 1), 1e-6);
        assertEquals(21f / 6, exclude.get(0, 0, 0, 1), 1e-6);

        HostTensor g = HostTensor.wrap(Shape.of(1, 1, 3, 3), new float[] {1, 0, 0, 0, 0, 0, 0, 0, 0});
        float[] dx = h.gradients(new Op.AvgPool2d(3, 3, pad1, false), g, x).get(0).data();
        assertArrayEquals(new float[] {0.25f, 0.25f, 0, 0.25f, 0.25f, 0, 0, 0, 0}, dx);
    }

    @Test
    void globalAvgPool() {
        Random r = new Random(12);
        HostTensor x = random(r, 3, 2, 4, 5);
        HostTensor y = h.forward(new Op.GlobalAvgPool(), x);
        assertEquals(Shape.of(3, 2, 1, 1), y.shape());
        float[] expected = reference(x, 4, 5, Geometry2d.UNIT, false, true);
        assertClose(expected, y.data(), 1e-6, "global average");
        h.assertGradients(new Op.GlobalAvgPool(), 0.05, x);
    }

    @Test
    void largePoolsAgreeAcrossThreads() {
        Random r = new Random(13);
        HostTensor x = spaced(r, 0.001f, 4, 16, 32, 32);
        Op.MaxPool2d max = new Op.MaxPool2d(3, 3, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1));
        Op.AvgPool2d avg = new Op.AvgPool2d(3, 3, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), false);
        HostTensor g = random(r, 4, 16, 16, 16);
        try (Harness single = new Harness(1)) {
            for (Op op : new Op[] {max, avg}) {
                assertArrayEquals(single.forward(op, x).data(), h.forward(op, x).data(), op.type());
                assertArrayEquals(single.gradients(op, g, x).get(0).data(), h.gradients(op, g, x).get(0).data(), op.type());
            }
        }
    }
}

package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.assertClose;
import static dev.glassbox.backend.java.Harness.random;
import static dev.glassbox.backend.java.Harness.spaced;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
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

    /** A pooling window, its placement and the rounding mode of the output size. */
    record Case(int kh, int kw, Geometry2d g, boolean ceil) {
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case(3, 2, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), false),  // 3x2 stride 2, pad 1
                new Case(3, 2, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), true),
                new Case(3, 2, Geometry2d.UNIT, false),                          // overlapping, no padding
                new Case(3, 2, new Geometry2d(2, 1, 0, 1, 2, 0, 1, 1), false),  // asymmetric padding
                new Case(3, 2, new Geometry2d(2, 1, 0, 1, 2, 0, 1, 1), true),
                new Case(3, 2, new Geometry2d(1, 2, 1, 2, 1, 0, 2, 2), false),  // dilation 2
                new Case(3, 2, new Geometry2d(1, 2, 1, 2, 1, 0, 2, 2), true),
                new Case(2, 2, new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), true),   // last window would start in the end padding: dropped
                new Case(3, 3, new Geometry2d(3, 3, 0, 0, 0, 0, 1, 1), true),   // windows run past an unpadded input
                new Case(3, 3, new Geometry2d(2, 2, 1, 1, 1, 1, 2, 2), true),   // dilated windows past the padding
                new Case(2, 3, new Geometry2d(3, 2, 1, 1, 0, 2, 1, 3), true),
                new Case(2, 3, new Geometry2d(3, 2, 1, 1, 0, 2, 1, 3), false));
    }

    /** Output size on one axis, PyTorch's rule: in ceil mode the last window must start inside the input or its leading padding. */
    static int extent(int in, int k, int stride, int padBefore, int padAfter, int dilation, boolean ceil) {
        int span = in + padBefore + padAfter - dilation * (k - 1) - 1;
        int out = (ceil ? Math.ceilDiv(span, stride) : Math.floorDiv(span, stride)) + 1;
        if (ceil && (out - 1) * stride >= in + padBefore) {
            out--;
        }
        return out;
    }

    /**
     * Max over the window's cells inside the input (the lowest float for none), or the sum of
     * those cells over the divisor: with {@code includePad} the taps inside the padded input,
     * else those inside the input (0 for an empty window).
     */
    static float[] reference(HostTensor x, Case k, boolean max, boolean includePad) {
        Geometry2d g = k.g();
        int n = x.shape().dim(0);
        int c = x.shape().dim(1);
        int hIn = x.shape().dim(2);
        int wIn = x.shape().dim(3);
        int oh = extent(hIn, k.kh(), g.strideH(), g.padTop(), g.padBottom(), g.dilationH(), k.ceil());
        int ow = extent(wIn, k.kw(), g.strideW(), g.padLeft(), g.padRight(), g.dilationW(), k.ceil());
        float[] y = new float[n * c * oh * ow];
        int at = 0;
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double best = -Float.MAX_VALUE;
                        double sum = 0;
                        int inside = 0;
                        int padded = 0;
                        for (int ki = 0; ki < k.kh(); ki++) {
                            for (int kj = 0; kj < k.kw(); kj++) {
                                int ih = i * g.strideH() - g.padTop() + ki * g.dilationH();
                                int iw = j * g.strideW() - g.padLeft() + kj * g.dilationW();
                                if (ih < hIn + g.padBottom() && iw < wIn + g.padRight()) {
                                    padded++;
                                }
                                if (ih >= 0 && ih < hIn && iw >= 0 && iw < wIn) {
                                    float v = x.get(b, ch, ih, iw);
                                    best = Math.max(best, v);
                                    sum += v;
                                    inside++;
                                }
                            }
                        }
                        int divisor = includePad ? padded : inside;
                        y[at++] = (float) (max ? best : divisor == 0 ? 0 : sum / divisor);
                    }
                }
            }
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void maxPoolMatchesReferenceAndFiniteDifferences(Case k) {
        Random r = new Random(10);
        Op.MaxPool2d op = new Op.MaxPool2d(k.kh(), k.kw(), k.g(), k.ceil());
        HostTensor ties = Harness.withZeros(r, 2, 3, 7, 5);
        assertClose(reference(ties, k, true, false), h.forward(op, ties).data(), 0, op.toString());
        h.assertGradients(op, 0.01, spaced(r, 0.03f, 2, 3, 7, 5));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void avgPoolMatchesReferenceAndFiniteDifferences(Case k) {
        Random r = new Random(11);
        HostTensor x = Harness.withZeros(r, 2, 3, 7, 5);
        for (boolean includePad : new boolean[] {true, false}) {
            Op.AvgPool2d op = new Op.AvgPool2d(k.kh(), k.kw(), k.g(), includePad, k.ceil());
            assertClose(reference(x, k, false, includePad), h.forward(op, x).data(), 1e-6, op.toString());
            h.assertGradients(op, 0.05, x);
        }
    }

    /** The old constructors are floor mode. */
    @Test
    void defaultsAreFloorMode() {
        Geometry2d g = new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1);
        HostTensor x = HostTensor.zeros(Shape.of(1, 1, 5, 5));
        assertEquals(Shape.of(1, 1, 2, 2), h.forward(new Op.MaxPool2d(2, 2, g), x).shape());
        assertEquals(Shape.of(1, 1, 2, 2), h.forward(new Op.AvgPool2d(2, 2, g, true), x).shape());
        assertEquals(Shape.of(1, 1, 3, 3), h.forward(new Op.MaxPool2d(2, 2, g, true), x).shape());
        assertEquals(Shape.of(1, 1, 3, 3), h.forward(new Op.AvgPool2d(2, 2, g, true, true), x).shape());
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

    /**
     * Padding as large as the window leaves windows with no input cell: the max is the lowest
     * float and the averages 0 (as ONNX Runtime), and no gradient flows from them.
     */
    @Test
    void windowsOfOnlyPadding() {
        Geometry2d g = new Geometry2d(1, 1, 2, 0, 0, 0, 1, 1);
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 2, 2), new float[] {1, 2, 3, 4});
        HostTensor gy = HostTensor.wrap(Shape.of(1, 1, 3, 1), new float[] {10, 20, 30});
        Op.MaxPool2d max = new Op.MaxPool2d(2, 2, g);
        assertArrayEquals(new float[] {-Float.MAX_VALUE, 2, 4}, h.forward(max, x).data());
        assertArrayEquals(new float[] {0, 20, 0, 30}, h.gradients(max, gy, x).get(0).data());
        for (boolean includePad : new boolean[] {true, false}) {
            Op.AvgPool2d avg = new Op.AvgPool2d(2, 2, g, includePad);
            float d = includePad ? 4 : 2;
            assertArrayEquals(new float[] {0, 3 / d, 10 / 4f}, h.forward(avg, x).data(), 1e-6f);
            assertArrayEquals(new float[] {20 / d + 30 / 4f, 20 / d + 30 / 4f, 30 / 4f, 30 / 4f},
                    h.gradients(avg, gy, x).get(0).data(), 1e-6f);
        }
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

    static Stream<int[]> globalShapes() {
        return Stream.of(new int[] {3, 2, 5}, new int[] {3, 2, 4, 5}, new int[] {2, 2, 3, 2, 3}, new int[] {2, 3, 1, 1});
    }

    @ParameterizedTest
    @MethodSource("globalShapes")
    void globalPoolsReduceEveryAxisAfterTheChannels(int[] dims) {
        Random r = new Random(12);
        HostTensor x = spaced(r, 0.03f, dims);
        int planes = dims[0] * dims[1];
        int area = x.data().length / planes;
        double[] mean = new double[planes];
        double[] max = new double[planes];
        for (int p = 0; p < planes; p++) {
            max[p] = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < area; i++) {
                mean[p] += x.data()[p * area + i] / (double) area;
                max[p] = Math.max(max[p], x.data()[p * area + i]);
            }
        }
        int[] out = dims.clone();
        Arrays.fill(out, 2, out.length, 1);
        h.assertForward(new Op.GlobalAvgPool(), Shape.of(out), mean, 1e-6, x);
        h.assertForward(new Op.GlobalMaxPool(), Shape.of(out), max, 0, x);
        h.assertGradients(new Op.GlobalAvgPool(), 0.05, x);
        h.assertGradients(new Op.GlobalMaxPool(), 0.01, x);
    }

    @Test
    void globalMaxPoolTieGoesToTheFirstCell() {
        HostTensor x = HostTensor.wrap(Shape.of(1, 2, 3), new float[] {1, 3, 3, 2, 2, 0});
        HostTensor g = HostTensor.wrap(Shape.of(1, 2, 1), new float[] {5, 7});
        assertArrayEquals(new float[] {0, 5, 0, 7, 0, 0}, h.gradients(new Op.GlobalMaxPool(), g, x).get(0).data());
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

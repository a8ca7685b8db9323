package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.assertClose;
import static dev.glassbox.backend.java.Harness.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ConvTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    /** One convolution problem: input shape, weight shape, geometry, groups, bias or not. */
    record Case(String name, int[] input, int[] weight, Geometry2d geo, int groups, boolean bias) {
        @Override
        public String toString() {
            return name;
        }

        Op.Conv2d op(Random r) {
            HostTensor w = random(r, weight);
            return new Op.Conv2d(w, bias ? random(r, weight[0]) : null, geo, groups);
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("3x3 pad 1, bias, batch 2", new int[] {2, 3, 7, 6}, new int[] {4, 3, 3, 3},
                        new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1, true),
                new Case("stride 2, asymmetric padding, batch 3", new int[] {3, 2, 7, 8}, new int[] {3, 2, 3, 3},
                        new Geometry2d(2, 2, 0, 1, 2, 1, 1, 1), 1, true),
                new Case("dilation 2, 3x2 kernel, no bias", new int[] {2, 2, 8, 7}, new int[] {3, 2, 3, 2},
                        new Geometry2d(1, 1, 2, 1, 1, 2, 2, 2), 1, false),
                new Case("groups 2, stride (2,1)", new int[] {2, 4, 6, 5}, new int[] {6, 2, 3, 3},
                        new Geometry2d(2, 1, 1, 1, 1, 1, 1, 1), 2, true),
                new Case("depthwise, multiplier 2, no bias", new int[] {2, 3, 6, 6}, new int[] {6, 1, 3, 3},
                        new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 3, false),
                new Case("1x1 direct, batch 2", new int[] {2, 5, 4, 3}, new int[] {3, 5, 1, 1},
                        Geometry2d.UNIT, 1, true),
                new Case("1x1 stride 2 with padding", new int[] {2, 3, 5, 5}, new int[] {2, 3, 1, 1},
                        new Geometry2d(2, 2, 1, 0, 0, 1, 1, 1), 1, false),
                new Case("batch 1, stride 3 dilation (1,2), groups 2", new int[] {1, 4, 9, 9}, new int[] {4, 2, 2, 3},
                        new Geometry2d(3, 2, 1, 0, 2, 1, 1, 2), 2, true),
                // A 1-D signal shorter than the padding (ONNX's Conv1d_pad2size1).
                new Case("padding wider than the input", new int[] {2, 4, 1, 1}, new int[] {3, 4, 1, 5},
                        new Geometry2d(1, 1, 0, 2, 0, 2, 1, 1), 1, true));
    }

    /** The definition, seven loops deep, in double. */
    static double[] reference(Op.Conv2d op, HostTensor x) {
        int n = x.shape().dim(0);
        int c = x.shape().dim(1);
        int hIn = x.shape().dim(2);
        int wIn = x.shape().dim(3);
        int o = op.outChannels();
        int cg = c / op.groups();
        int og = o / op.groups();
        Geometry2d g = op.geometry();
        int oh = g.outHeight(hIn, op.kernelH());
        int ow = g.outWidth(wIn, op.kernelW());
        double[] y = new double[n * o * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < o; oc++) {
                int group = oc / og;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double s = op.bias() == null ? 0 : op.bias().data()[oc];
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ki = 0; ki < op.kernelH(); ki++) {
                                for (int kj = 0; kj < op.kernelW(); kj++) {
                                    int ih = i * g.strideH() - g.padTop() + ki * g.dilationH();
                                    int iw = j * g.strideW() - g.padLeft() + kj * g.dilationW();
                                    if (ih >= 0 && ih < hIn && iw >= 0 && iw < wIn) {
                                        s += (double) op.weight().get(oc, ci, ki, kj) * x.get(b, group * cg + ci, ih, iw);
                                    }
                                }
                            }
                        }
                        y[((b * o + oc) * oh + i) * ow + j] = s;
                    }
                }
            }
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forwardMatchesTheDefinition(Case c) {
        Random r = new Random(1);
        Op.Conv2d op = c.op(r);
        HostTensor x = Harness.withZeros(r, c.input());
        HostTensor y = h.forward(op, x);
        assertEquals(Shape.of(c.input()[0], c.weight()[0],
                c.geo().outHeight(c.input()[2], c.weight()[2]), c.geo().outWidth(c.input()[3], c.weight()[3])), y.shape());
        assertClose(reference(op, x), y.data(), 1e-5, c.name());
    }

    @ParameterizedTest
    @MethodSource("cases")
    void inputGradientMatchesFiniteDifferences(Case c) {
        Random r = new Random(2);
        // Linear in x: large steps are exact up to rounding.
        h.assertGradients(c.op(r), 0.05, random(r, c.input()));
    }

    /** Large enough to fork: batch 1 splits output channels (forward) and K rows (backward). */
    @Test
    void parallelBatchOneAgreesWithSequentialAndIsAdjoint() {
        Random r = new Random(3);
        Op.Conv2d op = new Op.Conv2d(random(r, 32, 16, 3, 3), null, new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1);
        HostTensor x = random(r, 1, 16, 24, 24);
        HostTensor g = random(r, 1, 32, 24, 24);
        HostTensor y = h.forward(op, x);
        assertClose(reference(op, x), y.data(), 1e-5, "parallel forward");
        float[] dx = h.gradients(op, g, x).get(0).data();
        try (Harness single = new Harness(1)) {
            assertArrayEquals(single.forward(op, x).data(), y.data(), "same arithmetic on one thread");
            assertArrayEquals(single.gradients(op, g, x).get(0).data(), dx);
        }
        // <conv(x), g> = <x, conv^T(g)>: the gradient is the adjoint of the forward map.
        double lhs = 0;
        double rhs = 0;
        for (int i = 0; i < g.data().length; i++) {
            lhs += (double) y.data()[i] * g.data()[i];
        }
        for (int i = 0; i < dx.length; i++) {
            rhs += (double) x.data()[i] * dx[i];
        }
        assertEquals(lhs, rhs, 1e-4 * Math.abs(lhs) + 1e-3);
    }

    @Test
    void parallelBatchAgreesWithSequential() {
        Random r = new Random(4);
        Op.Conv2d op = new Op.Conv2d(random(r, 8, 4, 3, 3), random(r, 8), new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), 2);
        HostTensor x = random(r, 5, 8, 20, 20);
        HostTensor g = random(r, 5, 8, 10, 10);
        try (Harness single = new Harness(1)) {
            assertArrayEquals(single.forward(op, x).data(), h.forward(op, x).data());
            assertArrayEquals(single.gradients(op, g, x).get(0).data(), h.gradients(op, g, x).get(0).data());
        }
    }

    /** A kernel covering the whole image is a fully connected layer on the flattened image. */
    @Test
    void convolutionOverTheWholeImageIsDense() {
        Random r = new Random(5);
        HostTensor w = random(r, 6, 3, 4, 5);
        HostTensor b = random(r, 6);
        HostTensor x = random(r, 2, 3, 4, 5);
        Op.Conv2d conv = new Op.Conv2d(w, b, Geometry2d.UNIT, 1);
        Op.Dense dense = new Op.Dense(w.reshape(Shape.of(6, 60)), b);
        HostTensor flat = x.reshape(Shape.of(2, 60));

        HostTensor yc = h.forward(conv, x);
        assertEquals(Shape.of(2, 6, 1, 1), yc.shape());
        assertClose(h.forward(dense, flat).data(), yc.data(), 1e-5, "forward");

        HostTensor g = random(r, 2, 6);
        List<HostTensor> dc = h.gradients(conv, g.reshape(Shape.of(2, 6, 1, 1)), x);
        List<HostTensor> dd = h.gradients(dense, g, flat);
        assertClose(dd.get(0).data(), dc.get(0).data(), 1e-5, "input gradient");
    }

    @Test
    void shapeErrorsNameTheOpAndBothShapes() {
        Op.Conv2d op = new Op.Conv2d(HostTensor.zeros(Shape.of(3, 1, 3, 3)), null, Geometry2d.UNIT, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(op, HostTensor.zeros(Shape.of(1, 3, 5, 5))));
        assertTrue(e.getMessage().startsWith("Conv2d: input [1, 3, 5, 5] has 3 channels"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> h.forward(op, HostTensor.zeros(Shape.of(1, 1, 2, 5))));
        assertTrue(e.getMessage().startsWith("Conv2d: input [1, 1, 2, 5] is too small"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> h.forward(op, HostTensor.zeros(Shape.of(1, 5, 5))));
        assertTrue(e.getMessage().contains("rank 4") && e.getMessage().contains("[1, 5, 5]"), e.getMessage());

        HostTensor x = HostTensor.zeros(Shape.of(1, 1, 5, 5));
        e = assertThrows(IllegalArgumentException.class, () -> h.gradients(op, HostTensor.zeros(Shape.of(1, 3, 4, 4)), x));
        assertEquals("Conv2d: output gradient [1, 3, 4, 4] does not match output [1, 3, 3, 3] for input [1, 1, 5, 5]",
                e.getMessage());
    }

    // ------------------------------------------------------------------ ConvTranspose2d

    /** One transposed convolution: input shape, weight {@code [in, out/groups, kH, kW]}, geometry, groups, output padding. */
    record TCase(String name, int[] input, int[] weight, Geometry2d geo, int groups, int outPadH, int outPadW,
                 boolean bias) {
        @Override
        public String toString() {
            return name;
        }

        Op.ConvTranspose2d op(Random r) {
            return new Op.ConvTranspose2d(random(r, weight), bias ? random(r, weight[1] * groups) : null, geo, groups,
                    outPadH, outPadW);
        }
    }

    static Stream<TCase> transposedCases() {
        return Stream.of(
                new TCase("3x3, bias, batch 2", new int[] {2, 3, 4, 5}, new int[] {3, 2, 3, 3}, Geometry2d.UNIT, 1, 0, 0, true),
                new TCase("stride 2, pad 1, output padding 1", new int[] {2, 2, 3, 4}, new int[] {2, 3, 3, 3},
                        new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), 1, 1, 1, true),
                new TCase("groups 2, stride (2,3), asymmetric pads", new int[] {1, 4, 3, 3}, new int[] {4, 2, 2, 3},
                        new Geometry2d(2, 3, 0, 1, 1, 0, 1, 1), 2, 1, 2, false),
                new TCase("depthwise", new int[] {2, 3, 4, 4}, new int[] {3, 1, 3, 3},
                        new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 3, 0, 0, true),
                new TCase("dilation 2, output padding 1", new int[] {1, 2, 4, 3}, new int[] {2, 2, 2, 2},
                        new Geometry2d(1, 1, 0, 0, 0, 0, 2, 2), 1, 1, 1, true),
                new TCase("1x1", new int[] {2, 3, 3, 3}, new int[] {3, 4, 1, 1}, Geometry2d.UNIT, 1, 0, 0, true),
                new TCase("1x1, dilation 2, output padding 1", new int[] {2, 3, 3, 3}, new int[] {3, 2, 1, 1},
                        new Geometry2d(1, 1, 0, 0, 0, 0, 2, 2), 1, 1, 1, false),
                new TCase("pads crop, stride 2", new int[] {1, 2, 5, 5}, new int[] {2, 2, 3, 3},
                        new Geometry2d(2, 2, 2, 1, 2, 1, 1, 1), 1, 0, 1, true),
                new TCase("groups 2, multiplier 2, dilation (2,1), stride (1,2)", new int[] {2, 4, 3, 4},
                        new int[] {4, 3, 3, 2}, new Geometry2d(1, 2, 1, 0, 0, 1, 2, 1), 2, 1, 1, true));
    }

    /** The definition as a scatter: every input cell adds its weighted kernel into the output, then the bias. */
    static double[] reference(Op.ConvTranspose2d op, HostTensor x) {
        int n = x.shape().dim(0);
        int cin = x.shape().dim(1);
        int hIn = x.shape().dim(2);
        int wIn = x.shape().dim(3);
        int kh = op.weight().shape().dim(2);
        int kw = op.weight().shape().dim(3);
        int og = op.weight().shape().dim(1);
        int cout = og * op.groups();
        int cg = cin / op.groups();
        Geometry2d g = op.geometry();
        int oh = g.strideH() * (hIn - 1) + op.outputPadH() + g.dilationH() * (kh - 1) + 1 - g.padTop() - g.padBottom();
        int ow = g.strideW() * (wIn - 1) + op.outputPadW() + g.dilationW() * (kw - 1) + 1 - g.padLeft() - g.padRight();
        double[] y = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int ic = 0; ic < cin; ic++) {
                int group = ic / cg;
                for (int i = 0; i < hIn; i++) {
                    for (int j = 0; j < wIn; j++) {
                        double v = x.get(b, ic, i, j);
                        for (int ocl = 0; ocl < og; ocl++) {
                            int oc = group * og + ocl;
                            for (int ki = 0; ki < kh; ki++) {
                                for (int kj = 0; kj < kw; kj++) {
                                    int r = i * g.strideH() - g.padTop() + ki * g.dilationH();
                                    int c = j * g.strideW() - g.padLeft() + kj * g.dilationW();
                                    if (r >= 0 && r < oh && c >= 0 && c < ow) {
                                        y[((b * cout + oc) * oh + r) * ow + c] += v * op.weight().get(ic, ocl, ki, kj);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (op.bias() != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += op.bias().data()[i / (oh * ow) % cout];
            }
        }
        return y;
    }

    @ParameterizedTest
    @MethodSource("transposedCases")
    void transposedForwardMatchesTheDefinition(TCase c) {
        Random r = new Random(7);
        Op.ConvTranspose2d op = c.op(r);
        HostTensor x = Harness.withZeros(r, c.input());
        assertClose(reference(op, x), h.forward(op, x).data(), 1e-5, c.name());
    }

    @ParameterizedTest
    @MethodSource("transposedCases")
    void transposedInputGradientMatchesFiniteDifferences(TCase c) {
        Random r = new Random(8);
        h.assertGradients(c.op(r), 0.05, random(r, c.input()));
    }

    /** Without bias, the transposed layer is the convolution's input gradient for the same weight, and vice versa. */
    @Test
    void transposedConvolutionIsTheConvolutionsAdjoint() {
        Random r = new Random(9);
        HostTensor w = random(r, 4, 3, 3, 3);
        Geometry2d g = new Geometry2d(2, 2, 1, 0, 1, 1, 1, 2);
        Op.Conv2d conv = new Op.Conv2d(w, null, g, 1);
        Op.ConvTranspose2d convT = new Op.ConvTranspose2d(w, null, g, 1, 1, 1);
        HostTensor image = random(r, 2, 3, 8, 7);
        HostTensor small = random(r, h.forward(conv, image).shape().dims());
        assertEquals(image.shape(), h.forward(convT, small).shape());
        assertClose(h.gradients(conv, small, image).get(0).data(), h.forward(convT, small).data(), 1e-6, "forward");
        assertClose(h.forward(conv, image).data(), h.gradients(convT, image, small).get(0).data(), 1e-6, "gradient");
    }

    /** Batch 1, one group: the parallel split over GEMM rows gives the same numbers as one thread. */
    @Test
    void transposedParallelAgreesWithSequential() {
        Random r = new Random(10);
        Op.ConvTranspose2d op = new Op.ConvTranspose2d(random(r, 16, 8, 3, 3), random(r, 8),
                new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), 1, 1, 1);
        HostTensor x = random(r, 1, 16, 16, 16);
        HostTensor g = random(r, 1, 8, 32, 32);
        try (Harness single = new Harness(1)) {
            assertArrayEquals(single.forward(op, x).data(), h.forward(op, x).data());
            assertArrayEquals(single.gradients(op, g, x).get(0).data(), h.gradients(op, g, x).get(0).data());
        }
        assertClose(reference(op, x), h.forward(op, x).data(), 1e-5, "large");
    }

    /** The checker itself must reject a gradient that is slightly wrong. */
    @Test
    void finiteDifferenceCheckCatchesAWrongGradient() {
        Random r = new Random(6);
        Case c = cases().toList().get(1);
        Op.Conv2d op = c.op(r);
        HostTensor x = random(r, c.input());
        HostTensor g = random(r, h.forward(op, x).shape().dims());
        float[] dx = h.gradients(op, g, x).get(0).data();
        double[] numeric = h.numericGradient(op, g, 0, 0.05, x);
        assertTrue(Harness.worstError(dx, numeric) < Harness.GRADIENT_TOLERANCE);
        dx[dx.length / 2] += 0.01f;
        assertTrue(Harness.worstError(dx, numeric) > Harness.GRADIENT_TOLERANCE);
    }
}

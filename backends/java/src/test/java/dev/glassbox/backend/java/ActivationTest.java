package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.broadcastRead;
import static dev.glassbox.backend.java.Harness.random;
import static dev.glassbox.backend.java.Harness.unravel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The elementwise activations, PRelu's broadcast slope and BatchNorm, against their definitions in double. */
class ActivationTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    /** An activation, its definition, and the points where it has a kink (kept clear of in gradient checks). */
    record Case(Op op, DoubleUnaryOperator f, double... kinks) {
        @Override
        public String toString() {
            return op.toString();
        }
    }

    static double hardSigmoid(double x, double alpha, double beta) {
        return Math.max(0, Math.min(1, alpha * x + beta));
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case(new Op.Relu(), x -> x > 0 ? x : 0, 0),
                new Case(new Op.LeakyRelu(0.1f), x -> x >= 0 ? x : 0.1f * x, 0),
                new Case(new Op.LeakyRelu(-1.5f), x -> x >= 0 ? x : -1.5f * x, 0),
                new Case(new Op.Elu(1f), x -> x > 0 ? x : Math.exp(x) - 1, 0),
                new Case(new Op.Elu(0.4f), x -> x > 0 ? x : 0.4f * (Math.exp(x) - 1), 0),
                new Case(new Op.Sigmoid(), x -> 1 / (1 + Math.exp(-x))),
                new Case(new Op.Tanh(), Math::tanh),
                new Case(new Op.HardSigmoid(0.2f, 0.5f), x -> hardSigmoid(x, 0.2f, 0.5f), -2.5, 2.5),
                new Case(new Op.HardSigmoid(0.7f, -0.3f), x -> hardSigmoid(x, 0.7f, -0.3f), 0.3 / 0.7, 1.3 / 0.7),
                new Case(new Op.HardSwish(), x -> x * hardSigmoid(x, 1.0 / 6, 0.5), -3, 3),
                new Case(new Op.Clip(-0.5f, 1.25f), x -> Math.min(Math.max(x, -0.5f), 1.25f), -0.5f, 1.25f),
                new Case(new Op.Clip(Float.NEGATIVE_INFINITY, 0.3f), x -> Math.min(x, 0.3f), 0.3f),
                new Case(new Op.Clip(-1f, Float.POSITIVE_INFINITY), x -> Math.max(x, -1f), -1f),
                new Case(new Op.Clip(0.2f, 0.2f), x -> 0.2f, 0.2f));
    }

    /** Values in [-5, 5) with zeros and the kinks themselves; or, for gradients, kept 0.05 away from every kink. */
    static HostTensor inputs(Random r, Case c, boolean awayFromKinks) {
        HostTensor x = random(r, 2, 3, 4, 5);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            d[i] *= 5;
            if (!awayFromKinks) {
                if (i % 7 == 0) {
                    d[i] = 0;
                } else if (i % 7 == 3 && c.kinks().length > 0) {
                    d[i] = (float) c.kinks()[i % c.kinks().length];
                }
                continue;
            }
            for (double k : c.kinks()) {
                if (Math.abs(d[i] - k) < 0.05) {
                    d[i] = (float) (k + (d[i] < k ? -0.05 : 0.05));
                }
            }
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void forwardMatchesTheDefinition(Case c) {
        HostTensor x = inputs(new Random(40), c, false);
        double[] expected = new double[x.data().length];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = c.f().applyAsDouble(x.data()[i]);
        }
        h.assertForward(c.op(), x.shape(), expected, 1e-6, x);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void gradientMatchesFiniteDifferences(Case c) {
        h.assertGradients(c.op(), 0.01, inputs(new Random(41), c, true));
    }

    /** Subgradients at the kinks, as PyTorch (and the Op javadoc for Relu and Clip) define them. */
    static Stream<Arguments> kinks() {
        return Stream.of(
                Arguments.of(new Op.Relu(), 0f, 0f),
                Arguments.of(new Op.LeakyRelu(0.1f), 0f, 0.1f),
                Arguments.of(new Op.Elu(0.4f), 0f, 0.4f),
                Arguments.of(new Op.PRelu(HostTensor.wrap(Shape.of(1), new float[] {0.3f})), 0f, 0.3f),
                Arguments.of(new Op.HardSigmoid(0.2f, 0.5f), -2.5f, 0f),
                Arguments.of(new Op.HardSigmoid(0.2f, 0.5f), 2.5f, 0f),
                Arguments.of(new Op.HardSwish(), -3f, -0.5f),
                Arguments.of(new Op.HardSwish(), 3f, 1.5f),
                Arguments.of(new Op.Clip(-0.5f, 1.25f), -0.5f, 1f),
                Arguments.of(new Op.Clip(-0.5f, 1.25f), 1.25f, 1f),
                Arguments.of(new Op.Clip(-0.5f, 1.25f), 1.2500001f, 0f),
                Arguments.of(new Op.Clip(0.2f, 0.2f), 0.2f, 1f));
    }

    @ParameterizedTest
    @MethodSource("kinks")
    void derivativeAtAKink(Op op, float x, float derivative) {
        HostTensor in = HostTensor.wrap(Shape.of(1, 1), new float[] {x});
        HostTensor g = HostTensor.wrap(Shape.of(1, 1), new float[] {2f});
        assertEquals(2 * derivative, h.gradients(op, g, in).get(0).data()[0], 1e-6, op + " at " + x);
    }

    static Stream<int[]> slopeShapes() {
        return Stream.of(new int[] {3, 1, 1}, new int[] {5}, new int[] {1}, new int[] {4, 5}, new int[] {1, 3, 1, 1},
                new int[] {2, 3, 4, 5}, new int[] {3, 4, 1});
    }

    @ParameterizedTest
    @MethodSource("slopeShapes")
    void preluBroadcastsItsSlope(int[] slopeShape) {
        Random r = new Random(42);
        HostTensor slope = random(r, slopeShape);
        Op.PRelu op = new Op.PRelu(slope);
        HostTensor x = Harness.withZeros(r, 2, 3, 4, 5);
        double[] expected = new double[x.data().length];
        for (int i = 0; i < expected.length; i++) {
            double v = x.data()[i];
            double a = slope.data()[broadcastRead(unravel(i, x.shape().dims()), slopeShape)];
            expected[i] = v >= 0 ? v : a * v;
        }
        h.assertForward(op, x.shape(), expected, 1e-6, x);
        h.assertGradients(op, Harness.spaced(r, 0.03f, 2, 3, 4, 5));
    }

    static Stream<int[]> batchNormShapes() {
        return Stream.of(new int[] {3, 4}, new int[] {2, 4, 5}, new int[] {2, 4, 3, 3}, new int[] {1, 4, 2, 1, 3});
    }

    @ParameterizedTest
    @MethodSource("batchNormShapes")
    void batchNormIsAPerChannelAffineMap(int[] shape) {
        Random r = new Random(43);
        HostTensor scale = random(r, 4);
        HostTensor shift = random(r, 4);
        HostTensor x = Harness.withZeros(r, shape);
        for (HostTensor b : new HostTensor[] {shift, null}) {
            Op.BatchNorm op = new Op.BatchNorm(scale, b);
            double[] expected = new double[x.data().length];
            for (int i = 0; i < expected.length; i++) {
                int c = unravel(i, shape)[1];
                expected[i] = (double) x.data()[i] * scale.data()[c] + (b == null ? 0 : b.data()[c]);
            }
            h.assertForward(op, x.shape(), expected, 1e-6, x);
            h.assertGradients(op, 0.05, x);
        }
    }

    @Test
    void sigmoidAndTanhSaturateWithoutOverflow() {
        HostTensor x = HostTensor.wrap(Shape.of(1, 4), new float[] {-100f, -30f, 30f, 100f});
        float[] s = h.forward(new Op.Sigmoid(), x).data();
        assertTrue(s[0] > 0 && s[0] < 1e-40, "subnormal, not 0 and not NaN: " + s[0]);
        assertEquals(1 / (1 + Math.exp(30)), s[1], 1e-20);
        assertEquals(1f, s[3]);
        float[] t = h.forward(new Op.Tanh(), x).data();
        assertEquals(-1f, t[0]);
        assertEquals(1f, t[3]);
    }
}

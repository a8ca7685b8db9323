package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.broadcastRead;
import static dev.glassbox.backend.java.Harness.random;
import static dev.glassbox.backend.java.Harness.ravel;
import static dev.glassbox.backend.java.Harness.unravel;
import static dev.glassbox.backend.java.Harness.withZeros;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Constant, Add/Sub/Mul/Div with broadcasting, MatMul and the reductions, against naive loops in double. */
class ArithmeticTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    /** numpy broadcasting, written out. */
    static int[] broadcast(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - rank + a.length];
            int db = i < rank - b.length ? 1 : b[i - rank + b.length];
            out[i] = Math.max(da, db);
        }
        return out;
    }

    static int size(int[] dims) {
        return Arrays.stream(dims).reduce(1, (x, y) -> x * y);
    }

    static Stream<Arguments> binaryShapes() {
        int[][][] pairs = {
                {{2, 3, 4}, {2, 3, 4}},
                {{2, 3, 4}, {4}},
                {{4}, {2, 3, 4}},
                {{2, 1, 4}, {3, 1}},
                {{2, 3, 1, 5}, {1, 4, 1}},
                {{}, {2, 3}},
                {{2, 3}, {}},
                {{1}, {2, 1}},
                {{3, 1}, {1, 3}},
                {{2, 3, 4, 5}, {3, 1, 1}}};
        List<Op.Binary> ops = List.of(new Op.Add(), new Op.Sub(), new Op.Mul(), new Op.Div());
        return ops.stream().flatMap(op -> Arrays.stream(pairs).map(p -> Arguments.of(op, p[0], p[1])));
    }

    static double apply(Op.Binary op, double a, double b) {
        return switch (op) {
            case Op.Add _ -> a + b;
            case Op.Sub _ -> a - b;
            case Op.Mul _ -> a * b;
            case Op.Div _ -> a / b;
        };
    }

    /** Away from 0 (for a denominator): magnitudes in [1, 2), either sign. */
    static HostTensor awayFromZero(Random r, int... dims) {
        HostTensor t = random(r, dims);
        for (int i = 0; i < t.data().length; i++) {
            float v = t.data()[i];
            t.data()[i] = Math.copySign(1f + Math.abs(v), v);
        }
        return t;
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("binaryShapes")
    void binaryOpsBroadcastBothWays(Op.Binary op, int[] as, int[] bs) {
        Random r = new Random(50 + as.length * 7 + bs.length);
        HostTensor a = withZeros(r, as);
        HostTensor b = op instanceof Op.Div ? awayFromZero(r, bs) : withZeros(r, bs);
        int[] out = broadcast(as, bs);
        double[] expected = new double[size(out)];
        for (int i = 0; i < expected.length; i++) {
            int[] idx = unravel(i, out);
            expected[i] = apply(op, a.data()[broadcastRead(idx, as)], b.data()[broadcastRead(idx, bs)]);
        }
        h.assertForward(op, Shape.of(out), expected, 1e-6, a, b);
        h.assertGradients(op, 0.01, a, b);
    }

    @Test
    void divisionFollowsIeee() {
        HostTensor a = HostTensor.wrap(Shape.of(1, 3), new float[] {1, -1, 0});
        HostTensor b = HostTensor.wrap(Shape.of(1), new float[] {0});
        float[] y = h.forward(new Op.Div(), a, b).data();
        assertArrayEquals(new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}, y);
    }

    @Test
    void binaryShapeErrorNamesTheOp() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(new Op.Mul(), HostTensor.zeros(Shape.of(2, 3)), HostTensor.zeros(Shape.of(2))));
        assertTrue(e.getMessage().startsWith("Mul: "), e.getMessage());
    }

    @Test
    void constantHasItsOwnShapeAndNoGradients() {
        HostTensor v = random(new Random(51), 3, 1);
        Op.Constant c = new Op.Constant(v);
        HostTensor y = h.forward(c);
        assertEquals(Shape.of(3, 1), y.shape());
        assertArrayEquals(v.data(), y.data());
        assertEquals(List.of(), h.gradients(c, HostTensor.zeros(Shape.of(3, 1))));
    }

    /** A constant operand of a binary op still gets its (summed-back) gradient, whichever side it is on. */
    @Test
    void constantOperandsGetGradientsToo() {
        Random r = new Random(52);
        HostTensor x = random(r, 2, 3, 4);
        HostTensor bias = h.forward(new Op.Constant(random(r, 3, 1)));
        HostTensor g = random(r, 2, 3, 4);
        for (Op.Binary op : List.of(new Op.Add(), new Op.Mul())) {
            List<HostTensor> right = h.gradients(op, g, x, bias);
            List<HostTensor> left = h.gradients(op, g, bias, x);
            assertEquals(Shape.of(3, 1), right.get(1).shape());
            assertArrayEquals(right.get(1).data(), left.get(0).data(), 1e-6f);
            assertArrayEquals(right.get(0).data(), left.get(1).data(), 1e-6f);
        }
    }

    static Stream<Arguments> matmulShapes() {
        return Stream.of(
                Arguments.of(new int[] {3, 4}, new int[] {4, 5}),
                Arguments.of(new int[] {2, 3, 4}, new int[] {4, 5}),
                Arguments.of(new int[] {3, 4}, new int[] {2, 4, 5}),
                Arguments.of(new int[] {4}, new int[] {4, 5}),
                Arguments.of(new int[] {4}, new int[] {2, 4, 5}),
                Arguments.of(new int[] {2, 3, 4}, new int[] {4}),
                Arguments.of(new int[] {4}, new int[] {4}),
                Arguments.of(new int[] {2, 1, 3, 4}, new int[] {5, 4, 2}),
                Arguments.of(new int[] {1, 3, 4}, new int[] {2, 4, 2}),
                Arguments.of(new int[] {3, 1, 2, 3}, new int[] {1, 4, 3, 2}),
                Arguments.of(new int[] {2, 1, 1}, new int[] {2, 1, 3}));
    }

    @ParameterizedTest
    @MethodSource("matmulShapes")
    void matmulFollowsNumpy(int[] as, int[] bs) {
        Random r = new Random(53 + as.length * 5 + bs.length);
        HostTensor a = withZeros(r, as);
        HostTensor b = withZeros(r, bs);
        int[] ad = as.length == 1 ? new int[] {1, as[0]} : as;
        int[] bd = bs.length == 1 ? new int[] {bs[0], 1} : bs;
        int m = ad[ad.length - 2];
        int k = ad[ad.length - 1];
        int n = bd[bd.length - 1];
        int[] batch = broadcast(Arrays.copyOf(ad, ad.length - 2), Arrays.copyOf(bd, bd.length - 2));
        int[] full = IntStream.concat(Arrays.stream(batch), IntStream.of(m, n)).toArray();
        double[] expected = new double[size(full)];
        for (int i = 0; i < expected.length; i++) {
            int[] idx = unravel(i, full);
            int[] ai = idx.clone();
            int[] bi = idx.clone();
            double s = 0;
            for (int kk = 0; kk < k; kk++) {
                ai[full.length - 1] = kk;
                bi[full.length - 2] = kk;
                s += (double) a.data()[broadcastRead(ai, ad)] * b.data()[broadcastRead(bi, bd)];
            }
            expected[i] = s;
        }
        IntStream outDims = Arrays.stream(batch);
        if (as.length > 1) {
            outDims = IntStream.concat(outDims, IntStream.of(m));
        }
        if (bs.length > 1) {
            outDims = IntStream.concat(outDims, IntStream.of(n));
        }
        h.assertForward(new Op.MatMul(), Shape.of(outDims.toArray()), expected, 1e-5, a, b);
        h.assertGradients(new Op.MatMul(), 0.05, a, b);
    }

    @Test
    void largeMatmulAgreesAcrossThreads() {
        Random r = new Random(54);
        HostTensor a = random(r, 3, 40, 64);
        HostTensor b = random(r, 64, 50);
        HostTensor g = random(r, 3, 40, 50);
        try (Harness single = new Harness(1)) {
            Op op = new Op.MatMul();
            assertArrayEquals(single.forward(op, a, b).data(), h.forward(op, a, b).data());
            List<HostTensor> one = single.gradients(op, g, a, b);
            List<HostTensor> two = h.gradients(op, g, a, b);
            assertArrayEquals(one.get(0).data(), two.get(0).data());
            assertArrayEquals(one.get(1).data(), two.get(1).data());
        }
    }

    static Stream<Arguments> reductions() {
        int[][] axes = {{0}, {1}, {3}, {1, 2}, {0, 3}, {0, 1, 2, 3}, {2}};
        return Arrays.stream(axes).flatMap(a -> Stream.of(
                Arguments.of(a, true, true), Arguments.of(a, false, true),
                Arguments.of(a, true, false), Arguments.of(a, false, false)));
    }

    @ParameterizedTest(name = "axes {0} keepDims {1} mean {2}")
    @MethodSource("reductions")
    void reductionsSumOrAverage(int[] axes, boolean keepDims, boolean mean) {
        Random r = new Random(55);
        int[] dims = {2, 3, 4, 5};
        HostTensor x = withZeros(r, dims);
        List<Integer> axisList = Arrays.stream(axes).boxed().toList();
        Op op = mean ? new Op.ReduceMean(axisList, keepDims) : new Op.ReduceSum(axisList, keepDims);
        int[] kept = dims.clone();
        int count = 1;
        for (int a : axes) {
            kept[a] = 1;
            count *= dims[a];
        }
        double[] expected = new double[size(kept)];
        for (int i = 0; i < x.data().length; i++) {
            int[] idx = unravel(i, dims);
            for (int a : axes) {
                idx[a] = 0;
            }
            expected[ravel(idx, kept)] += x.data()[i] / (mean ? (double) count : 1);
        }
        int[] out = keepDims ? kept : IntStream.range(0, 4).filter(d -> !axisList.contains(d)).map(d -> dims[d]).toArray();
        h.assertForward(op, Shape.of(out), expected, 1e-6, x);
        h.assertGradients(op, 0.05, x);
    }
}

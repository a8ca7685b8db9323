package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.ArithmeticTest.broadcast;
import static dev.glassbox.backend.java.ArithmeticTest.size;
import static dev.glassbox.backend.java.Harness.broadcastRead;
import static dev.glassbox.backend.java.Harness.ravel;
import static dev.glassbox.backend.java.Harness.unravel;
import static dev.glassbox.backend.java.Harness.withZeros;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.Op.ResizeNearest.CoordinateMode;
import dev.glassbox.api.graph.Op.ResizeNearest.NearestMode;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
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

/**
 * Transpose, Concat, Slice, Pad, Expand and ResizeNearest against index arithmetic written out
 * per output element; gradients against finite differences (all of them are linear, so a large
 * step is exact up to rounding).
 */
class RoutingTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    /** The output of a routing op as a function of the output multi-index: an input value or a constant. */
    interface Reader {
        double at(int[] outIdx);
    }

    static double[] tabulate(int[] out, Reader f) {
        double[] y = new double[size(out)];
        for (int i = 0; i < y.length; i++) {
            y[i] = f.at(unravel(i, out));
        }
        return y;
    }

    static List<Integer> list(int... v) {
        return Arrays.stream(v).boxed().toList();
    }

    // ------------------------------------------------------------------ Transpose

    static Stream<int[]> perms() {
        return Stream.of(new int[] {0, 1, 2, 3}, new int[] {3, 2, 1, 0}, new int[] {0, 2, 3, 1}, new int[] {1, 0, 3, 2},
                new int[] {2, 0, 1, 3});
    }

    @ParameterizedTest
    @MethodSource("perms")
    void transposePermutesAxes(int[] perm) {
        int[] dims = {2, 3, 4, 5};
        HostTensor x = withZeros(new Random(60), dims);
        int[] out = Arrays.stream(perm).map(p -> dims[p]).toArray();
        Op op = new Op.Transpose(list(perm));
        h.assertForward(op, Shape.of(out), tabulate(out, o -> {
            int[] in = new int[4];
            for (int i = 0; i < 4; i++) {
                in[perm[i]] = o[i];
            }
            return x.data()[ravel(in, dims)];
        }), 0, x);
        h.assertGradients(op, 0.05, x);
    }

    @Test
    void transposeOfAMatrixAndAVector() {
        HostTensor m = HostTensor.wrap(Shape.of(2, 3), new float[] {1, 2, 3, 4, 5, 6});
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, h.forward(new Op.Transpose(list(1, 0)), m).data());
        HostTensor v = HostTensor.wrap(Shape.of(3), new float[] {1, 2, 3});
        assertArrayEquals(v.data(), h.forward(new Op.Transpose(list(0)), v).data());
    }

    // ------------------------------------------------------------------ Concat

    static Stream<Arguments> concats() {
        return Stream.of(
                Arguments.of(0, new int[][] {{1, 3, 4}, {2, 3, 4}}),
                Arguments.of(1, new int[][] {{2, 1, 4}, {2, 3, 4}, {2, 2, 4}}),
                Arguments.of(2, new int[][] {{2, 3, 1}, {2, 3, 5}}),
                Arguments.of(1, new int[][] {{2, 3, 4}}),
                Arguments.of(0, new int[][] {{3}, {2}, {1}, {4}}));
    }

    @ParameterizedTest
    @MethodSource("concats")
    void concatJoinsAlongAnAxis(int axis, int[][] shapes) {
        Random r = new Random(61);
        HostTensor[] xs = Arrays.stream(shapes).map(s -> withZeros(r, s)).toArray(HostTensor[]::new);
        int[] out = shapes[0].clone();
        out[axis] = Arrays.stream(shapes).mapToInt(s -> s[axis]).sum();
        Op op = new Op.Concat(axis, shapes.length);
        h.assertForward(op, Shape.of(out), tabulate(out, o -> {
            int[] idx = o.clone();
            int j = 0;
            while (idx[axis] >= shapes[j][axis]) {
                idx[axis] -= shapes[j][axis];
                j++;
            }
            return xs[j].data()[ravel(idx, shapes[j])];
        }), 0, xs);
        h.assertGradients(op, 0.05, xs);
    }

    // ------------------------------------------------------------------ Slice

    /** The indices ONNX Slice reads on one axis, from the spec's clamping rules. */
    static int[] sliceIndices(int dim, int start, int end, int step) {
        long s = start < 0 ? (long) start + dim : start;
        long e = end < 0 ? (long) end + dim : end;
        List<Integer> out = new ArrayList<>();
        if (step > 0) {
            s = Math.max(0, Math.min(dim, s));
            e = Math.max(0, Math.min(dim, e));
            for (long i = s; i < e; i += step) {
                out.add((int) i);
            }
        } else {
            s = Math.max(0, Math.min(dim - 1, s));
            e = Math.max(-1, Math.min(dim - 1, e));
            for (long i = s; i > e; i += step) {
                out.add((int) i);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static Stream<Op.Slice> slices() {
        int max = Integer.MAX_VALUE;
        int min = Integer.MIN_VALUE;
        return Stream.of(
                new Op.Slice(list(1), list(3), list(1), list(1)),
                new Op.Slice(list(-1), list(min), list(2), list(-1)),
                new Op.Slice(list(5, 0), list(0, max), list(2, 0), list(-2, 3)),
                new Op.Slice(list(0, 1, 2), list(max, -1, 100), list(0, 1, 2), list(2, 1, 2)),
                new Op.Slice(list(-100), list(100), list(1), list(1)),
                new Op.Slice(list(4), list(-100), list(1), list(-3)),
                new Op.Slice(list(100, -2), list(-100, 1), list(0, 2), list(-1, -1)),
                new Op.Slice(list(3), list(1), list(0), list(1)));
    }

    @ParameterizedTest
    @MethodSource("slices")
    void sliceSelectsWithClampingAndNegativeSteps(Op.Slice op) {
        int[] dims = {4, 5, 6};
        HostTensor x = withZeros(new Random(62), dims);
        int[][] picks = new int[3][];
        for (int d = 0; d < 3; d++) {
            int i = op.axes().indexOf(d);
            picks[d] = i < 0 ? IntStream.range(0, dims[d]).toArray()
                    : sliceIndices(dims[d], op.starts().get(i), op.ends().get(i), op.steps().get(i));
        }
        int[] out = Arrays.stream(picks).mapToInt(p -> p.length).toArray();
        h.assertForward(op, Shape.of(out), tabulate(out, o -> x.data()[ravel(
                new int[] {picks[0][o[0]], picks[1][o[1]], picks[2][o[2]]}, dims)]), 0, x);
        h.assertGradients(op, 0.05, x);
    }

    // ------------------------------------------------------------------ Pad

    static Stream<Op.Pad> pads() {
        return Stream.of(
                new Op.Pad(list(0, 1, 2, 0, 0, 1), 0f),
                new Op.Pad(list(1, 0, 0, 1, 2, 0), 1.5f),
                new Op.Pad(list(0, -1, 1, 0, 1, -2), -2f),
                new Op.Pad(list(-1, -1, -1, 0, -1, -1), 3f),
                new Op.Pad(list(0, 0, -3, 0, 0, 5), 0.25f),
                new Op.Pad(list(0, 0, 0, 0, 0, 0), 7f));
    }

    @ParameterizedTest
    @MethodSource("pads")
    void padAddsOrCrops(Op.Pad op) {
        int[] dims = {2, 3, 4};
        HostTensor x = withZeros(new Random(63), dims);
        int[] out = new int[3];
        for (int d = 0; d < 3; d++) {
            out[d] = dims[d] + op.pads().get(d) + op.pads().get(d + 3);
        }
        h.assertForward(op, Shape.of(out), tabulate(out, o -> {
            int[] in = new int[3];
            for (int d = 0; d < 3; d++) {
                in[d] = o[d] - op.pads().get(d);
                if (in[d] < 0 || in[d] >= dims[d]) {
                    return op.value();
                }
            }
            return x.data()[ravel(in, dims)];
        }), 0, x);
        h.assertGradients(op, 0.05, x);
    }

    // ------------------------------------------------------------------ Expand

    static Stream<Arguments> expands() {
        return Stream.of(
                Arguments.of(new int[] {3, 1}, new int[] {2, 3, 4}),
                Arguments.of(new int[] {2, 3, 4}, new int[] {3, 1}),
                Arguments.of(new int[] {1, 4}, new int[] {3, 1, 4}),
                Arguments.of(new int[] {2, 1, 1}, new int[] {1, 1, 3, 5}),
                Arguments.of(new int[] {1}, new int[] {2, 3}),
                Arguments.of(new int[] {2, 3}, new int[] {2, 3}));
    }

    @ParameterizedTest
    @MethodSource("expands")
    void expandBroadcasts(int[] dims, int[] shape) {
        HostTensor x = withZeros(new Random(64), dims);
        int[] out = broadcast(dims, shape);
        Op op = new Op.Expand(list(shape));
        h.assertForward(op, Shape.of(out), tabulate(out, o -> x.data()[broadcastRead(o, dims)]), 0, x);
        h.assertGradients(op, 0.05, x);
    }

    // ------------------------------------------------------------------ ResizeNearest

    /** ONNX's coordinate transform and rounding, computed in float as ONNX Runtime does. */
    static int source(CoordinateMode cm, NearestMode nm, int i, int in, int out, float scale) {
        float x = switch (cm) {
            case HALF_PIXEL -> (i + 0.5f) / scale - 0.5f;
            case PYTORCH_HALF_PIXEL -> out > 1 ? (i + 0.5f) / scale - 0.5f : 0f;
            case ALIGN_CORNERS -> out == 1 ? 0f : i * (float) (in - 1) / (out - 1);
            case ASYMMETRIC -> i / scale;
            case TF_HALF_PIXEL_FOR_NN -> (i + 0.5f) / scale;
        };
        double fl = Math.floor(x);
        double n = switch (nm) {
            case ROUND_PREFER_FLOOR -> x - fl <= 0.5 ? fl : fl + 1;
            case ROUND_PREFER_CEIL -> x - fl < 0.5 ? fl : fl + 1;
            case FLOOR -> fl;
            case CEIL -> Math.ceil(x);
        };
        return (int) Math.min(in - 1, Math.max(0, n));
    }

    static Stream<Arguments> resizes() {
        List<float[]> scales = List.of(
                new float[] {1, 1, 2, 2}, new float[] {1, 1, 0.5f, 0.6f}, new float[] {1, 1, 1.5f, 2.3f},
                new float[] {2, 1, 1, 0.5f}, new float[] {1, 1, 5 / 3f, 7 / 4f}, new float[] {1, 1, 3, 0.75f});
        List<int[]> sizes = List.of(
                new int[] {-1, -1, -1, -1}, new int[] {-1, -1, -1, -1}, new int[] {-1, -1, -1, -1},
                new int[] {-1, -1, -1, -1}, new int[] {-1, -1, 5, 7}, new int[] {-1, -1, 9, 3});
        List<Arguments> out = new ArrayList<>();
        for (CoordinateMode cm : CoordinateMode.values()) {
            for (NearestMode nm : NearestMode.values()) {
                for (int i = 0; i < scales.size(); i++) {
                    List<Float> s = new ArrayList<>();
                    for (float f : scales.get(i)) {
                        s.add(f);
                    }
                    out.add(Arguments.of(new Op.ResizeNearest(s, list(sizes.get(i)), cm, nm)));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("resizes")
    void resizeNearestPicksTheSpecifiedSource(Op.ResizeNearest op) {
        int[] dims = {1, 2, 3, 4};
        HostTensor x = withZeros(new Random(65), dims);
        int[] out = new int[4];
        for (int d = 0; d < 4; d++) {
            int size = op.sizes().get(d);
            out[d] = size > 0 ? size : (int) Math.floor(dims[d] * (double) op.scales().get(d));
        }
        h.assertForward(op, Shape.of(out), tabulate(out, o -> {
            int[] in = new int[4];
            for (int d = 0; d < 4; d++) {
                in[d] = source(op.coordinateMode(), op.nearestMode(), o[d], dims[d], out[d], op.scales().get(d));
            }
            return x.data()[ravel(in, dims)];
        }), 0, x);
        h.assertGradients(op, 0.05, x);
    }

    /** Hand-checked: 2x upsampling with asymmetric floor (ONNX's Upsample) copies each cell into a 2x2 block. */
    @Test
    void upsampleByTwo() {
        HostTensor x = HostTensor.wrap(Shape.of(1, 1, 2, 2), new float[] {1, 2, 3, 4});
        Op op = new Op.ResizeNearest(List.of(1f, 1f, 2f, 2f), list(-1, -1, -1, -1), CoordinateMode.ASYMMETRIC,
                NearestMode.FLOOR);
        assertArrayEquals(new float[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, h.forward(op, x).data());
        HostTensor g = HostTensor.wrap(Shape.of(1, 1, 4, 4), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        assertArrayEquals(new float[] {14, 22, 46, 54}, h.gradients(op, g, x).get(0).data());
        assertEquals(Shape.of(1, 1, 2, 2), h.gradients(op, g, x).get(0).shape());
    }
}

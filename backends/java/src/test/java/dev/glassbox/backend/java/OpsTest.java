package dev.glassbox.backend.java;

import static dev.glassbox.backend.java.Harness.assertClose;
import static dev.glassbox.backend.java.Harness.random;
import static dev.glassbox.backend.java.Harness.spaced;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Dense, ReLU, Add, the reshapes, softmax and the elementwise primitives. */
class OpsTest {
    private static Harness h;

    @BeforeAll
    static void start() {
        h = new Harness(2);
    }

    @AfterAll
    static void stop() {
        h.close();
    }

    @Test
    void denseMatchesNaiveProduct() {
        Random r = new Random(20);
        HostTensor w = random(r, 5, 7);
        HostTensor b = random(r, 5);
        HostTensor x = random(r, 3, 7);
        for (HostTensor bias : new HostTensor[] {b, null}) {
            double[] expected = new double[15];
            for (int n = 0; n < 3; n++) {
                for (int o = 0; o < 5; o++) {
                    double s = bias == null ? 0 : bias.get(o);
                    for (int i = 0; i < 7; i++) {
                        s += (double) x.get(n, i) * w.get(o, i);
                    }
                    expected[n * 5 + o] = s;
                }
            }
            HostTensor y = h.forward(new Op.Dense(w, bias), x);
            assertEquals(Shape.of(3, 5), y.shape());
            assertClose(expected, y.data(), 1e-6, "dense, bias " + (bias != null));
        }
        h.assertGradients(new Op.Dense(w, b), 0.05, x);
    }

    /** Dense acts on the last axis; every leading position is a row. */
    @Test
    void denseOverTheLastAxisOfAnyRank() {
        Random r = new Random(26);
        HostTensor w = random(r, 4, 3);
        HostTensor b = random(r, 4);
        for (int[] dims : new int[][] {{2, 5, 3}, {2, 1, 2, 3}, {1, 3}}) {
            HostTensor x = Harness.withZeros(r, dims);
            int rows = x.data().length / 3;
            double[] expected = new double[rows * 4];
            for (int row = 0; row < rows; row++) {
                for (int o = 0; o < 4; o++) {
                    double s = b.get(o);
                    for (int i = 0; i < 3; i++) {
                        s += (double) x.data()[row * 3 + i] * w.get(o, i);
                    }
                    expected[row * 4 + o] = s;
                }
            }
            int[] out = dims.clone();
            out[out.length - 1] = 4;
            h.assertForward(new Op.Dense(w, b), Shape.of(out), expected, 1e-6, x);
            h.assertGradients(new Op.Dense(w, b), 0.05, x);
        }
    }

    @Test
    void largeDenseAgreesAcrossThreadsAndWithFiniteDifferencesOfOneOutput() {
        Random r = new Random(21);
        Op.Dense op = new Op.Dense(random(r, 300, 650), random(r, 300));
        HostTensor x = random(r, 2, 650);
        HostTensor g = random(r, 2, 300);
        try (Harness single = new Harness(1)) {
            assertArrayEquals(single.forward(op, x).data(), h.forward(op, x).data());
            assertArrayEquals(single.gradients(op, g, x).get(0).data(), h.gradients(op, g, x).get(0).data());
        }
        // dx = g W, checked by hand in double
        float[] dx = h.gradients(op, g, x).get(0).data();
        for (int n = 0; n < 2; n++) {
            for (int i = 0; i < 650; i += 97) {
                double s = 0;
                for (int o = 0; o < 300; o++) {
                    s += (double) g.get(n, o) * op.weight().get(o, i);
                }
                assertEquals(s, dx[n * 650 + i], 1e-4);
            }
        }
    }

    @Test
    void denseShapeError() {
        Op.Dense op = new Op.Dense(HostTensor.zeros(Shape.of(4, 6)), null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(op, HostTensor.zeros(Shape.of(2, 5))));
        assertEquals("Dense: input [2, 5] needs rank >= 2 and 6 features on the last axis", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> h.forward(op, HostTensor.zeros(Shape.of(6))));
    }

    @Test
    void relu() {
        Random r = new Random(22);
        HostTensor x = spaced(r, 0.05f, 2, 3, 4);
        float[] y = h.forward(new Op.Relu(), x).data();
        for (int i = 0; i < y.length; i++) {
            assertEquals(Math.max(0, x.data()[i]), y[i]);
        }
        h.assertGradients(new Op.Relu(), 0.01, x);
    }

    @Test
    void add() {
        Random r = new Random(23);
        HostTensor a = random(r, 2, 3, 2, 2);
        HostTensor b = random(r, 2, 3, 2, 2);
        float[] y = h.forward(new Op.Add(), a, b).data();
        for (int i = 0; i < y.length; i++) {
            assertEquals(a.data()[i] + b.data()[i], y[i]);
        }
        h.assertGradients(new Op.Add(), 0.05, a, b);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(new Op.Add(), a, HostTensor.zeros(Shape.of(2, 3, 3, 1))));
        assertEquals("Add: shapes [2, 3, 2, 2] and [2, 3, 3, 1] do not broadcast", e.getMessage());
    }

    @Test
    void flattenAndReshape() {
        Random r = new Random(24);
        HostTensor x = random(r, 2, 3, 4, 5);
        assertEquals(Shape.of(2, 60), h.forward(new Op.Flatten(1), x).shape());
        assertEquals(Shape.of(6, 20), h.forward(new Op.Flatten(2), x).shape());
        assertEquals(Shape.of(24, 5), h.forward(new Op.Flatten(-1), x).shape());
        assertEquals(Shape.of(1, 120), h.forward(new Op.Flatten(0), x).shape());
        assertEquals(Shape.of(2, 12, 5), h.forward(new Op.Reshape(new int[] {0, -1, 5}), x).shape());
        assertArrayEquals(x.data(), h.forward(new Op.Flatten(1), x).data());
        h.assertGradients(new Op.Flatten(2), 0.05, x);
        h.assertGradients(new Op.Reshape(new int[] {0, -1, 5}), 0.05, x);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.forward(new Op.Reshape(new int[] {0, 7, -1}), x));
        assertTrue(e.getMessage().startsWith("Reshape: cannot reshape [2, 3, 4, 5]"), e.getMessage());
    }

    @Test
    void softmaxAndLogSoftmax() {
        Random r = new Random(25);
        HostTensor x = random(r, 2, 4, 3);
        for (int axis : new int[] {1, 2}) {
            float[] s = h.forward(new Op.Softmax(axis), x).data();
            float[] ls = h.forward(new Op.LogSoftmax(axis), x).data();
            int len = x.shape().dim(axis);
            int inner = axis == 1 ? 3 : 1;
            for (int n = 0; n < 2; n++) {
                for (int in = 0; in < (axis == 1 ? 3 : 4); in++) {
                    int base = axis == 1 ? n * 12 + in : n * 12 + in * 3;
                    double total = 0;
                    double z = 0;
                    for (int t = 0; t < len; t++) {
                        z += Math.exp(x.data()[base + t * inner]);
                    }
                    for (int t = 0; t < len; t++) {
                        int at = base + t * inner;
                        total += s[at];
                        assertEquals(Math.exp(x.data()[at]) / z, s[at], 1e-6);
                        assertEquals(x.data()[at] - Math.log(z), ls[at], 1e-6);
                    }
                    assertEquals(1, total, 1e-6);
                }
            }
            h.assertGradients(new Op.Softmax(axis), 1e-2, x);
            h.assertGradients(new Op.LogSoftmax(axis), 1e-2, x);
        }
    }

    /** Before opset 13, softmax viewed the input as 2-D: {@code [prod(dims < axis), prod(dims >= axis)]}. */
    @Test
    void softmaxOverTrailingAxes() {
        Random r = new Random(27);
        HostTensor x = Harness.withZeros(r, 2, 3, 2, 2);
        for (int axis = 0; axis < 4; axis++) {
            int inner = x.data().length;
            for (int d = 0; d < axis; d++) {
                inner /= x.shape().dim(d);
            }
            double[] soft = new double[x.data().length];
            double[] logSoft = new double[x.data().length];
            for (int o = 0; o < x.data().length / inner; o++) {
                double z = 0;
                for (int t = 0; t < inner; t++) {
                    z += Math.exp(x.data()[o * inner + t]);
                }
                for (int t = 0; t < inner; t++) {
                    soft[o * inner + t] = Math.exp(x.data()[o * inner + t]) / z;
                    logSoft[o * inner + t] = x.data()[o * inner + t] - Math.log(z);
                }
            }
            h.assertForward(new Op.Softmax(axis, true), x.shape(), soft, 1e-6, x);
            h.assertForward(new Op.LogSoftmax(axis, true), x.shape(), logSoft, 1e-6, x);
            h.assertGradients(new Op.Softmax(axis, true), x);
            h.assertGradients(new Op.LogSoftmax(axis, true), x);
        }
        // The last axis alone is the same either way.
        assertArrayEquals(h.forward(new Op.Softmax(3), x).data(), h.forward(new Op.Softmax(3, true), x).data());
    }

    @Test
    void elementwisePrimitives() {
        try (TensorScope s = h.scope.child()) {
            Tensor a = h.kernels.upload(HostTensor.wrap(Shape.of(2, 2), new float[] {1, -2, 3, -4}), s);
            Tensor b = h.kernels.upload(HostTensor.wrap(Shape.of(2, 2), new float[] {0.5f, 2, -1, -3}), s);
            assertArrayEquals(new float[] {1.5f, 0, 2, -7}, h.kernels.add(a, b, s).toHost().data());
            assertArrayEquals(new float[] {0.5f, -4, -3, 12}, h.kernels.multiply(a, b, s).toHost().data());
            assertArrayEquals(new float[] {-2, 4, -6, 8}, h.kernels.scale(a, -2, s).toHost().data());
            assertArrayEquals(new float[] {1, 2, 3, 4}, h.kernels.abs(a, s).toHost().data());
            Tensor c = h.kernels.upload(HostTensor.zeros(Shape.of(4)), s);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.kernels.multiply(a, c, s));
            assertEquals("multiply: shapes [2, 2] and [4] differ", e.getMessage());
        }
    }

    @Test
    void uploadCopies() {
        float[] data = {1, 2, 3};
        try (TensorScope s = h.scope.child()) {
            Tensor t = h.kernels.upload(HostTensor.wrap(Shape.of(3), data), s);
            data[0] = 99;
            assertArrayEquals(new float[] {1, 2, 3}, t.toHost().data());
            t.toHost().data()[1] = 42;
            assertArrayEquals(new float[] {1, 2, 3}, t.toHost().data(), "toHost copies too");
        }
    }

    @Test
    void foreignTensorsAndScopesAreRejected() {
        Tensor foreign = new Tensor() {
            @Override
            public Shape shape() {
                return Shape.of(1);
            }

            @Override
            public HostTensor toHost() {
                return HostTensor.zeros(Shape.of(1));
            }
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.kernels.forward(new Op.Relu(), List.of(foreign), h.scope));
        assertTrue(e.getMessage().startsWith("Relu: tensor") && e.getMessage().contains("does not belong to the java backend"),
                e.getMessage());
        TensorScope foreignScope = new TensorScope() {
            @Override
            public TensorScope child() {
                return this;
            }

            @Override
            public int liveTensors() {
                return 0;
            }

            @Override
            public void close() {
            }
        };
        assertThrows(IllegalArgumentException.class, () -> h.kernels.upload(HostTensor.zeros(Shape.of(1)), foreignScope));
    }
}

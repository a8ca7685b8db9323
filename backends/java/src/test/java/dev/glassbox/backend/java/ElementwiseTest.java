package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/** The elementwise primitives LRP rules are built from, against their definitions. */
class ElementwiseTest {
    private static final float[] A = {-2f, -0f, 0f, 0.5f, 3f, -1e-7f};
    private static final float[] B = {4f, 1f, -2f, 0.25f, -3f, 2f};

    private static float[] apply(BiFunction<Kernels, TensorScope, Tensor> op) {
        try (Harness h = new Harness(1); TensorScope s = h.scope.child()) {
            return op.apply(h.kernels, s).toHost().data();
        }
    }

    private static Tensor t(Kernels k, TensorScope s, float[] v) {
        return k.upload(HostTensor.wrap(Shape.of(2, 3), v.clone()), s);
    }

    @Test
    void subtractDivideClampMaskAndStabilize() {
        assertArrayEquals(new float[] {-6f, -1f, 2f, 0.25f, 6f, -2.0000001f},
                apply((k, s) -> k.subtract(t(k, s, A), t(k, s, B), s)));
        assertArrayEquals(new float[] {-0.5f, -0f, -0f, 2f, -1f, -5e-8f},
                apply((k, s) -> k.divide(t(k, s, A), t(k, s, B), s)));
        assertArrayEquals(new float[] {0f, 0f, 0f, 0.5f, 3f, 0f},
                apply((k, s) -> k.clamp(t(k, s, A), 0f, Float.POSITIVE_INFINITY, s)));
        assertArrayEquals(new float[] {-2f, -0f, 0f, 0f, 0f, -1e-7f},
                apply((k, s) -> k.clamp(t(k, s, A), Float.NEGATIVE_INFINITY, 0f, s)));
        assertArrayEquals(new float[] {0f, 0f, 0f, 1f, 1f, 0f}, apply((k, s) -> k.positiveMask(t(k, s, A), s)));
        // stab(z, e) = z + e (sign(z) + [z == 0]): zeros move up, negatives down.
        assertArrayEquals(new float[] {-2.1f, 0.1f, 0.1f, 0.6f, 3.1f, -0.1000001f},
                apply((k, s) -> k.stabilize(t(k, s, A), 0.1f, s)), 1e-7f);
    }

    /**
     * One fused pass over 1300 elements (three blocks, the last partial) against the same chain
     * of primitives and against the API's default (one primitive call per node); a shared
     * subexpression, a bare input and two results at once.
     */
    @Test
    void evaluateEqualsThePrimitivesAcrossBlocks() {
        Elementwise x = Elementwise.input(0);
        Elementwise y = Elementwise.input(1);
        Elementwise shared = x.times(y.positiveMask());
        List<Elementwise> expressions = List.of(shared.dividedBy(x.minus(y).stabilized(0.1f)),
                shared.abs().clamped(-1f, 0.5f).scaled(3f).plus(y), y);
        java.util.Random r = new java.util.Random(2);
        float[] a = new float[1300];
        float[] b = new float[1300];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
            b[i] = i % 97 == 0 ? 0f : (float) r.nextGaussian();
        }
        try (Harness h = new Harness(1); TensorScope s = h.scope.child()) {
            Kernels k = h.kernels;
            Tensor ta = k.upload(HostTensor.wrap(Shape.of(13, 100), a), s);
            Tensor tb = k.upload(HostTensor.wrap(Shape.of(13, 100), b), s);
            List<Tensor> fused = k.evaluate(expressions, List.of(ta, tb), s);
            Kernels byPrimitives = new Kernels() {
                // the interface's default evaluate over the Java primitives
                @Override public Tensor upload(HostTensor host, TensorScope sc) { return k.upload(host, sc); }
                @Override public Tensor forward(dev.glassbox.api.graph.Op op, List<Tensor> in, TensorScope sc) { return k.forward(op, in, sc); }
                @Override public List<Tensor> inputGradients(dev.glassbox.api.graph.Op op, List<Tensor> in, Tensor out, Tensor g, TensorScope sc) { return k.inputGradients(op, in, out, g, sc); }
                @Override public Tensor add(Tensor p, Tensor q, TensorScope sc) { return k.add(p, q, sc); }
                @Override public Tensor multiply(Tensor p, Tensor q, TensorScope sc) { return k.multiply(p, q, sc); }
                @Override public Tensor scale(Tensor p, float f, TensorScope sc) { return k.scale(p, f, sc); }
                @Override public Tensor abs(Tensor p, TensorScope sc) { return k.abs(p, sc); }
                @Override public Tensor subtract(Tensor p, Tensor q, TensorScope sc) { return k.subtract(p, q, sc); }
                @Override public Tensor divide(Tensor p, Tensor q, TensorScope sc) { return k.divide(p, q, sc); }
                @Override public Tensor clamp(Tensor p, float lo, float hi, TensorScope sc) { return k.clamp(p, lo, hi, sc); }
                @Override public Tensor positiveMask(Tensor p, TensorScope sc) { return k.positiveMask(p, sc); }
                @Override public Tensor stabilize(Tensor p, float e, TensorScope sc) { return k.stabilize(p, e, sc); }
            };
            List<Tensor> unfused = byPrimitives.evaluate(expressions, List.of(ta, tb), s);
            float[] want0 = new float[a.length];
            float[] want1 = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                float sh = a[i] * (b[i] > 0f ? 1f : 0f);
                float z = a[i] - b[i];
                want0[i] = sh / (z + (z < 0f ? -0.1f : 0.1f));
                want1[i] = 3f * Math.min(Math.max(Math.abs(sh), -1f), 0.5f) + b[i];
            }
            for (List<Tensor> got : List.of(fused, unfused)) {
                assertArrayEquals(want0, got.get(0).toHost().data());
                assertArrayEquals(want1, got.get(1).toHost().data());
                assertArrayEquals(b, got.get(2).toHost().data());
                assertNotSame(tb, got.get(2));
            }
            // sum: fused in double over 1300 elements (three blocks), the default's float reduction
            double want = 0;
            for (float v : want1) {
                want += v;
            }
            assertEquals(want, k.sum(expressions.get(1), List.of(ta, tb), s), 1e-9 * a.length);
            assertEquals(want, byPrimitives.sum(expressions.get(1), List.of(ta, tb), s), 1e-5 * a.length);
            Elementwise ratio = x.dividedBy(y); // infinite where y = 0
            assertEquals(Double.POSITIVE_INFINITY, k.sum(ratio.abs(), List.of(ta, tb), s));
            assertTrue(Double.isNaN(k.sum(ratio.minus(ratio), List.of(ta, tb), s)));
            assertEquals(0.0, k.sum(x.minus(x), List.of(ta, tb), s));
            assertThrows(IllegalArgumentException.class, () -> k.sum(Elementwise.input(2), List.of(ta, tb), s));
            assertThrows(IllegalArgumentException.class, () -> k.evaluate(List.of(Elementwise.input(2)),
                    List.of(ta, tb), s));
            assertThrows(IllegalArgumentException.class, () -> byPrimitives.evaluate(List.of(Elementwise.input(2)),
                    List.of(ta, tb), s));
            Tensor other = k.upload(HostTensor.zeros(Shape.of(1300)), s);
            assertThrows(IllegalArgumentException.class, () -> k.evaluate(expressions, List.of(ta, other), s));
            assertThrows(IllegalArgumentException.class, () -> k.sum(y, List.of(ta, other), s));
            assertThrows(IllegalArgumentException.class, () -> byPrimitives.sum(y, List.of(ta, other), s));
            assertThrows(IllegalArgumentException.class, () -> byPrimitives.evaluate(expressions, List.of(ta, other), s));
        }
    }

    @Test
    void shapesMustMatch() {
        assertThrows(IllegalArgumentException.class, () -> apply((k, s) -> k.divide(t(k, s, A),
                k.upload(HostTensor.zeros(Shape.of(6)), s), s)));
    }
}

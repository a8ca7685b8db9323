package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
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

    @Test
    void shapesMustMatch() {
        assertThrows(IllegalArgumentException.class, () -> apply((k, s) -> k.divide(t(k, s, A),
                k.upload(HostTensor.zeros(Shape.of(6)), s), s)));
    }
}

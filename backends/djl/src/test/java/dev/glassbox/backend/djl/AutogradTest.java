package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.glassbox.djl.pytorch.Autograd;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PyTorch's backward pass from a gradient of ours, which the VJPs of recorded ops rest on. */
class AutogradTest {

    @BeforeAll
    static void engine() {
        String why = Backends.unavailable();
        assumeTrue(why == null, () -> "DJL backend " + why);
    }

    @Test
    void theLeafGetsTheSeedTimesTheJacobian() {
        try (NDManager m = NDManager.newBaseManager(Engine.getEngine("PyTorch").defaultDevice(), "PyTorch")) {
            float[] x = {-1.5f, 0.25f, 2f, 3f, -0.5f, 4f};
            float[] seed = {1f, -2f, 0.5f, 0f, 3f, -1f};
            NDArray leaf = m.create(x, new Shape(2, 3));
            try (GradientCollector _ = Engine.getEngine("PyTorch").newGradientCollector()) {
                leaf.setRequiresGradient(true);
                // y = x * x: dy/dx = 2x, exact in float for these values
                Autograd.backward(leaf.mul(leaf), m.create(seed, new Shape(2, 3)));
            }
            float[] expected = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = 2 * x[i] * seed[i];
            }
            assertArrayEquals(expected, leaf.getGradient().toFloatArray());
        }
    }

    @Test
    void aSeedOfAnotherShapeIsRefusedWithBothShapes() {
        try (NDManager m = NDManager.newBaseManager(Engine.getEngine("PyTorch").defaultDevice(), "PyTorch")) {
            NDArray leaf = m.ones(new Shape(2, 3));
            try (GradientCollector _ = Engine.getEngine("PyTorch").newGradientCollector()) {
                leaf.setRequiresGradient(true);
                NDArray y = leaf.mul(2f);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Autograd.backward(y, m.ones(new Shape(3, 2))));
                assertTrue(e.getMessage().contains("(3, 2)") && e.getMessage().contains("(2, 3)"), e.getMessage());
            }
        }
    }
}

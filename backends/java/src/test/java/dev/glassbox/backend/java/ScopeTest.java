package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScopeTest {

    @Test
    void closingFreesEverythingIncludingChildren() {
        try (Harness h = new Harness(1)) {
            TensorScope root = h.model.openScope();
            Tensor x = h.kernels.upload(HostTensor.zeros(Shape.of(2, 3)), root);
            h.kernels.forward(new Op.Relu(), List.of(x), root);
            assertEquals(2, root.liveTensors());

            TensorScope child = root.child();
            TensorScope grandchild = child.child();
            h.kernels.scale(x, 2, child);
            h.kernels.inputGradients(new Op.Relu(), List.of(x), null, x, grandchild);
            assertEquals(4, root.liveTensors());
            assertEquals(2, child.liveTensors());

            child.close();
            assertEquals(0, child.liveTensors());
            assertEquals(0, grandchild.liveTensors(), "a child's children close with it");
            assertEquals(2, root.liveTensors(), "the parent keeps its own tensors");

            TensorScope other = root.child();
            h.kernels.abs(x, other);
            root.close();
            assertEquals(0, root.liveTensors());
            assertEquals(0, other.liveTensors());
            root.close(); // idempotent
            assertEquals(0, root.liveTensors());
        }
    }

    @Test
    void useAfterCloseFailsNamingTheTensor() {
        try (Harness h = new Harness(1)) {
            TensorScope root = h.model.openScope();
            TensorScope child = root.child();
            Tensor x = h.kernels.upload(HostTensor.zeros(Shape.of(2, 3)), root);
            Tensor y = h.kernels.forward(new Op.Relu(), List.of(x), child);
            child.close();

            IllegalStateException e = assertThrows(IllegalStateException.class, y::toHost);
            assertEquals("tensor Relu output [2, 3] used after its scope was closed", e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> h.kernels.add(x, y, root));
            assertTrue(e.getMessage().contains("Relu output [2, 3]"), e.getMessage());
            assertEquals(Shape.of(2, 3), y.shape(), "the shape stays readable for messages");

            assertThrows(IllegalStateException.class, () -> h.kernels.scale(x, 1, child), "closed scope takes no tensors");
            assertThrows(IllegalStateException.class, child::child);
            root.close();
            assertThrows(IllegalStateException.class, x::toHost);
        }
    }

    /** A shared array (reshape) stays valid for the tensor whose scope is still open. */
    @Test
    void sharedArraysOutliveTheOtherOwner() {
        try (Harness h = new Harness(1)) {
            TensorScope root = h.model.openScope();
            TensorScope child = root.child();
            Tensor x = h.kernels.upload(HostTensor.wrap(Shape.of(1, 2, 2), new float[] {1, 2, 3, 4}), child);
            Tensor flat = h.kernels.forward(new Op.Flatten(1), List.of(x), root);
            child.close();
            assertEquals(4f, flat.toHost().get(0, 3));
            root.close();
        }
    }

    @Test
    void closedModelOpensNoScopes() {
        try (Harness h = new Harness(1)) {
            h.model.close();
            assertThrows(IllegalStateException.class, h.model::openScope);
        }
    }
}

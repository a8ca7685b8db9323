package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JavaBackendTest {

    private static Graph cnn(int denseIn) {
        Random r = new Random(30);
        return new Graph("tiny-cnn", List.of(new ValueInfo("image", Shape.of(1, 8, 8))), List.of(
                new Node("conv", new Op.Conv2d(Harness.random(r, 4, 1, 3, 3), Harness.random(r, 4),
                        new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1), List.of("image"), "c"),
                new Node("relu", new Op.Relu(), List.of("c"), "r"),
                new Node("pool", new Op.MaxPool2d(2, 2, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1)), List.of("r"), "p"),
                new Node("flatten", new Op.Flatten(1), List.of("p"), "f"),
                new Node("fc", new Op.Dense(Harness.random(r, 3, denseIn), null), List.of("f"), "logits"),
                new Node("softmax", new Op.Softmax(1), List.of("logits"), "probs")), List.of("probs"));
    }

    @Test
    void identity() {
        JavaBackend b = new JavaBackend(2);
        try {
            assertEquals("java", b.id());
            assertTrue(b.availability().isAvailable());
            assertTrue(b.description().contains("2 threads"), b.description());
        } finally {
            b.deactivate();
        }
    }

    @Test
    void preparesAndRunsASmallNetwork() {
        JavaBackend b = new JavaBackend(2);
        try (PreparedModel m = b.prepare(cnn(64)); TensorScope scope = m.openScope()) {
            assertEquals("java", m.backendId());
            Kernels k = m.kernels();
            Map<String, Tensor> values = new HashMap<>();
            values.put("image", k.upload(Harness.random(new Random(31), 2, 1, 8, 8), scope));
            for (Node node : m.graph().nodes()) {
                values.put(node.output(), k.forward(node.op(), List.of(values.get(node.inputs().get(0))), scope));
            }
            HostTensor probs = values.get("probs").toHost();
            assertEquals(Shape.of(2, 3), probs.shape());
            for (int n = 0; n < 2; n++) {
                assertEquals(1, probs.get(n, 0) + probs.get(n, 1) + probs.get(n, 2), 1e-6);
            }
            assertEquals(7, scope.liveTensors(), "the upload and one output per node");
        } finally {
            b.deactivate();
        }
    }

    /** Shapes are the caller's batch size's business: prepare accepts, the kernel names the op. */
    @Test
    void shapesThatDoNotFitFailAtTheNodeNotAtPrepare() {
        JavaBackend b = new JavaBackend(1);
        try (PreparedModel m = b.prepare(cnn(60)); TensorScope scope = m.openScope()) {
            Op fc = m.graph().node("fc").orElseThrow().op();
            Tensor x = m.kernels().upload(HostTensor.zeros(Shape.of(1, 64)), scope);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> m.kernels().forward(fc, List.of(x), scope));
            assertTrue(e.getMessage().contains("Dense: input [1, 64] needs rank >= 2 and 60 features on the last axis"),
                    e.getMessage());
        } finally {
            b.deactivate();
        }
    }

    /** Constant nodes read no input; their own shape (no batch axis) broadcasts against the activations. */
    @Test
    void runsGraphsWithConstants() {
        JavaBackend b = new JavaBackend(1);
        try {
            for (int width : new int[] {4, 3}) {
                Graph g = new Graph("scaled", List.of(new ValueInfo("x", Shape.of(2, 4))), List.of(
                        new Node("c", new Op.Constant(HostTensor.wrap(Shape.of(width), new float[width])), List.of(), "k"),
                        new Node("mul", new Op.Mul(), List.of("x", "k"), "y")), List.of("y"));
                try (PreparedModel m = b.prepare(g); TensorScope scope = m.openScope()) {
                    Tensor k = m.kernels().forward(g.nodes().get(0).op(), List.of(), scope);
                    Tensor x = m.kernels().upload(HostTensor.zeros(Shape.of(1, 2, 4)), scope);
                    if (width == 4) {
                        assertEquals(Shape.of(1, 2, 4), m.kernels().forward(new Op.Mul(), List.of(x, k), scope).shape());
                    } else {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> m.kernels().forward(new Op.Mul(), List.of(x, k), scope));
                        assertTrue(e.getMessage().contains("Mul: shapes [1, 2, 4] and [3] do not broadcast"), e.getMessage());
                    }
                }
            }
        } finally {
            b.deactivate();
        }
    }

    /** After deactivation the pool is gone; a request still in flight finishes on its own thread. */
    @Test
    void kernelsStillWorkAfterDeactivation() {
        JavaBackend b = new JavaBackend(2);
        PreparedModel m = b.prepare(cnn(64));
        b.deactivate();
        Random r = new Random(32);
        Op.Conv2d big = new Op.Conv2d(Harness.random(r, 16, 8, 3, 3), null, Geometry2d.UNIT, 1);
        try (TensorScope s = m.openScope()) {
            Tensor x = m.kernels().upload(Harness.random(r, 4, 8, 20, 20), s);
            assertEquals(Shape.of(4, 16, 18, 18), m.kernels().forward(big, List.of(x), s).shape());
        }
    }

    /** bnd turns the annotations into the descriptor the runtime reads; check what it says. */
    @Test
    void componentDescriptor() throws IOException {
        try (InputStream in = JavaBackend.class.getResourceAsStream("/OSGI-INF/" + JavaBackend.class.getName() + ".xml")) {
            assertNotNull(in, "DS descriptor generated by bnd");
            String xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(xml.contains("interface=\"dev.glassbox.api.backend.Backend\""), xml);
            assertTrue(xml.contains("name=\"id\"") && xml.contains("value=\"java\""), xml);
            assertTrue(xml.contains("name=\"service.ranking\" type=\"Integer\" value=\"0\""), xml);
            assertTrue(xml.contains("name=\"threads\""), xml);
            assertTrue(xml.contains("deactivate=\"deactivate\""), xml);
        }
    }
}

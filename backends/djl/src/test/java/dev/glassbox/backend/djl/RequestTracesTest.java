package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With a trace directory, each request (root scope) leaves PyTorch's operator trace of its own work. */
class RequestTracesTest {
    private static final Graph CONV = new Graph("conv", List.of(new ValueInfo("x", Shape.of(2, 5, 5))),
            List.of(new Node("conv", new Op.Conv2d(HostTensor.wrap(Shape.of(3, 2, 3, 3), new float[54]), null,
                    new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1), List.of("x"), "y"),
                    new Node("relu", new Op.Relu(), List.of("y"), "z")), List.of("z"));

    /** A djl backend on the CPU with the natives under test, tracing into {@code dir}. */
    private static DjlBackend tracingInto(Path dir) {
        return new DjlBackend(Path.of(System.getProperty("glassbox.djl.natives")),
                Path.of(System.getProperty("glassbox.djl.cache")), 0, "cpu", dir, DjlBackend.ELEMENTWISE_AUTO);
    }

    private static void run(PreparedModel model, TensorScope scope) {
        Tensor x = model.kernels().upload(HostTensor.zeros(Shape.of(1, 2, 5, 5)), scope);
        for (Node n : model.graph().nodes()) {
            x = model.kernels().forward(n.op(), List.of(x), scope);
        }
        x.toHost();
    }

    @Test
    void eachTracedRequestIsWrittenWholeToTheNextFileAndAnOverlappingOneRunsUntraced(@TempDir Path tmp)
            throws IOException {
        assumeTrue(Backends.unavailable() == null, Backends::unavailable);
        Path dir = tmp.resolve("traces");
        DjlBackend backend = tracingInto(dir);
        // one trace at a time and one numbering across the backend's prepared models
        try (PreparedModel model = backend.prepare(CONV); PreparedModel other = backend.prepare(CONV)) {
            try (TensorScope first = model.openScope()) {
                try (TensorScope overlapping = other.openScope()) {
                    run(other, overlapping);
                }
                assertFalse(Files.exists(dir.resolve("djl-trace-1.json")), "written before its request ended");
                run(model, first);
            }
            try (TensorScope second = other.openScope()) {
                run(other, second);
            }
            try (var files = Files.list(dir)) {
                assertEquals(List.of("djl-trace-1.json", "djl-trace-2.json"),
                        files.map(p -> p.getFileName().toString()).sorted().toList());
            }
            for (String name : List.of("djl-trace-1.json", "djl-trace-2.json")) {
                String trace = Files.readString(dir.resolve(name));
                assertTrue(trace.strip().startsWith("[") && trace.strip().endsWith("]"), name + " is a JSON array");
                assertTrue(trace.contains("\"aten::conv2d\""), name + " records the convolution");
                assertTrue(trace.contains("[[1, 2, 5, 5], [3, 2, 3, 3]"), name + " records input shapes");
            }
        } finally {
            backend.deactivate();
        }
    }

    @Test
    void aTraceDirectoryThatCannotBeMadeFailsTheRequestWithItsName(@TempDir Path tmp) throws IOException {
        assumeTrue(Backends.unavailable() == null, Backends::unavailable);
        Path file = Files.writeString(tmp.resolve("a-file"), "not a directory");
        DjlBackend backend = tracingInto(file.resolve("traces"));
        try (PreparedModel model = backend.prepare(CONV)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, model::openScope);
            assertTrue(e.getMessage().startsWith("cannot trace the request into " + file.resolve("traces")),
                    e.getMessage());
        } finally {
            backend.deactivate();
        }
    }
}

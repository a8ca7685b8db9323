package dev.glassbox.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.HostTensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The fixtures in {@code src/test/resources/ort} (see {@code src/test/python/make_fixtures.py}):
 * PyTorch exports and hand-made graphs with ONNX Runtime's outputs for one or two batch sizes.
 * Each loads, and a plain forward pass of the converted graph ({@link ReferenceForward}, which
 * follows the {@code Op} definitions) reproduces ONNX Runtime at every stored batch size, so
 * the conversion keeps the model's meaning and its batch axis.
 */
class OrtFixturesTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    /** The fixtures' directory; {@code GLASSBOX_ORT_FIXTURES} points elsewhere (e.g. at larger exports). */
    static Path root() {
        String other = System.getenv("GLASSBOX_ORT_FIXTURES");
        if (other != null) {
            return Path.of(other);
        }
        try {
            return Path.of(OrtFixturesTest.class.getResource("/ort").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyFixtureMatchesOnnxRuntime() throws IOException {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root())) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        assertFalse(dirs.isEmpty());
        return dirs.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> check(d)));
    }

    private void check(Path dir) throws IOException {
        Path model = dir.resolve("model.onnx");
        Graph g = loader.load(Files.readAllBytes(model), model.toString());
        List<Path> inputs = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().matches("input_\\d+\\.npy")).sorted().forEach(inputs::add);
        }
        assertFalse(inputs.isEmpty());
        for (Path in : inputs) {
            String k = in.getFileName().toString().replaceAll("\\D", "");
            HostTensor x = ReferenceForward.readNpy(in);
            Map<String, HostTensor> values = ReferenceForward.runAll(g, Map.of(g.input().name(), x));
            for (int j = 0; j < g.outputs().size(); j++) {
                HostTensor expected = ReferenceForward.readNpy(dir.resolve("output_" + k + "_" + j + ".npy"));
                HostTensor actual = values.get(g.outputs().get(j));
                String what = dir.getFileName() + " batch " + x.shape().dim(0) + " output " + j;
                assertEquals(expected.shape(), actual.shape(), what);
                for (int i = 0; i < expected.data().length; i++) {
                    float e = expected.data()[i];
                    float a = actual.data()[i];
                    assertTrue(Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-5, what + " element " + i + ": " + a
                            + ", ONNX Runtime " + e);
                }
            }
        }
    }
}

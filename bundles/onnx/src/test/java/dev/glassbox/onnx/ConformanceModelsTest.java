package dev.glassbox.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The ONNX conformance models (Debian's libonnx-testdata, when installed): every model whose
 * ops are all in {@link OnnxModelLoader#operators()} loads, with every graph input but the
 * first turned into an initializer from {@code test_data_set_0}. A model may still be
 * rejected as unsupported (a mode or attribute value Glassbox does not implement), never as
 * invalid and never with anything but a Glassbox exception. Where the expected output is
 * stored, a plain forward pass of the converted graph ({@link ReferenceForward}) must match it.
 */
class ConformanceModelsTest {
    static final Path DATA = Path.of(System.getProperty("glassbox.onnx.testdata", "/usr/share/libonnx-testdata/data"));
    private static final List<String> SETS = List.of("node", "pytorch-converted", "pytorch-operator");

    /** One conformance model with all inputs but the first folded in, and its expected outputs. */
    record Case(String name, Path dir, ModelProto model, TensorProto input, List<TensorProto> outputs) {
    }

    static List<Case> cases(List<String> operators) throws IOException {
        List<Case> out = new ArrayList<>();
        for (String set : SETS) {
            Path root = DATA.resolve(set);
            if (!Files.isDirectory(root)) {
                continue;
            }
            List<Path> dirs;
            try (Stream<Path> s = Files.list(root)) {
                dirs = s.filter(Files::isDirectory).sorted().toList();
            }
            for (Path dir : dirs) {
                Path file = dir.resolve("model.onnx");
                if (!Files.isRegularFile(file)) {
                    continue;
                }
                ModelProto m = ModelProto.parseFrom(Files.readAllBytes(file));
                boolean known = true;
                for (NodeProto n : m.getGraph().getNodeList()) {
                    known &= (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx")) && operators.contains(n.getOpType());
                }
                if (!known) {
                    continue;
                }
                GraphProto.Builder g = m.getGraph().toBuilder();
                Path data = dir.resolve("test_data_set_0");
                List<String> initialized = new ArrayList<>();
                for (TensorProto t : g.getInitializerList()) {
                    initialized.add(t.getName());
                }
                TensorProto first = null;
                int k = 0;
                for (int i = 0; i < g.getInputCount(); i++) {
                    String name = g.getInput(i).getName();
                    if (initialized.contains(name)) {
                        continue;
                    }
                    Path pb = data.resolve("input_" + k + ".pb");
                    if (k == 0) {
                        first = Files.isRegularFile(pb) ? TensorProto.parseFrom(Files.readAllBytes(pb)) : null;
                    } else if (Files.isRegularFile(pb)) {
                        g.addInitializer(TensorProto.parseFrom(Files.readAllBytes(pb)).toBuilder().setName(name));
                    }
                    k++;
                }
                List<TensorProto> outputs = new ArrayList<>();
                for (int i = 0; Files.isRegularFile(data.resolve("output_" + i + ".pb")); i++) {
                    outputs.add(TensorProto.parseFrom(Files.readAllBytes(data.resolve("output_" + i + ".pb"))));
                }
                out.add(new Case(set + "/" + dir.getFileName(), dir, m.toBuilder().setGraph(g).build(), first, outputs));
            }
        }
        return out;
    }

    @Test
    void everyModelOfSupportedOpsLoadsOrIsClearlyUnsupported() throws IOException {
        assumeTrue(Files.isDirectory(DATA), DATA + " is not installed");
        OnnxModelLoader loader = new OnnxModelLoader();
        List<Case> cases = cases(loader.operators());
        int loaded = 0;
        int checked = 0;
        Map<String, String> wrong = new TreeMap<>();
        Map<String, String> unsupported = new TreeMap<>();
        Map<String, String> failed = new TreeMap<>();
        for (Case c : cases) {
            try {
                Graph g = loader.load(c.model().toByteArray(), c.name() + ".onnx", c.dir());
                assertTrue(g.nodes().size() > 0 || !g.outputs().isEmpty());
                loaded++;
                String mismatch = compare(g, c);
                if (mismatch == null) {
                    checked++;
                } else if (!mismatch.isEmpty()) {
                    wrong.put(c.name(), mismatch);
                }
            } catch (UnsupportedFeatureException e) {
                unsupported.put(c.name(), e.describe());
            } catch (GlassboxException e) {
                failed.put(c.name(), e.getClass().getSimpleName() + ": " + e.describe());
            } catch (RuntimeException e) {
                failed.put(c.name(), "CRASH " + e);
            }
        }
        System.out.println("conformance models with supported ops: " + cases.size() + ", loaded " + loaded
                + " (outputs checked " + checked + ", wrong " + wrong.size() + "), unsupported " + unsupported.size()
                + ", failed " + failed.size());
        wrong.forEach((k, v) -> System.out.println("  WRONG " + k + ": " + v));
        unsupported.forEach((k, v) -> System.out.println("  unsupported " + k + ": " + v));
        failed.forEach((k, v) -> System.out.println("  FAILED " + k + ": " + v));
        assertTrue(failed.isEmpty(), failed.toString());
        assertTrue(wrong.isEmpty(), wrong.toString());
    }

    /**
     * Runs the converted graph on the stored input and compares with the stored outputs: null
     * when they match, "" when there is nothing to compare, else what differs.
     */
    static String compare(Graph g, Case c) {
        if (c.input() == null || c.outputs().isEmpty() || g.inputs().size() != 1 || c.input().getDataType() != 1) {
            return "";
        }
        HostTensor in = Tensors.decode(c.input(), null, "input").toHost();
        Map<String, HostTensor> values;
        try {
            values = ReferenceForward.runAll(g, Map.of(g.input().name(), in));
        } catch (RuntimeException e) {
            return "forward pass failed: " + e;
        }
        for (int i = 0; i < c.outputs().size() && i < g.outputs().size(); i++) {
            Const expected = Tensors.decode(c.outputs().get(i), null, "output");
            if (!expected.isFloat()) {
                continue;
            }
            HostTensor actual = values.get(g.outputs().get(i));
            if (!actual.shape().equals(expected.shape())) {
                return "output " + i + " has shape " + actual.shape() + ", expected " + expected.shape();
            }
            float[] e = expected.toFloats();
            float[] a = actual.data();
            for (int k = 0; k < e.length; k++) {
                boolean same = Float.compare(a[k], e[k]) == 0 || Math.abs(a[k] - e[k]) <= 1e-4 * Math.abs(e[k]) + 1e-5;
                if (!same) {
                    return "output " + i + " element " + k + " is " + a[k] + ", expected " + e[k];
                }
            }
        }
        return null;
    }
}

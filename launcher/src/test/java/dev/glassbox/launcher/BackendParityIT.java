package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every explainer, and LRP with every composite, on the MLP, CNN, ResNet-style and
 * MobileNet-style fixtures: each available backend other than {@code java} must give the Java
 * backend's result within {@link Tolerance}. With only the Java backend available there is
 * nothing to compare: the test is skipped, saying why (under {@code .ci/run} it fails).
 */
class BackendParityIT {

    static final Path TORCH = GlassboxIT.ROOT.resolve("testdata/torch");
    static final List<String> MODELS = List.of("mlp", "cnn", "resnet_block", "mobilenet_block");
    static final List<String> COMPOSITES = List.of("epsilon", "zplus", "epsilon-plus", "epsilon-plus-flat",
            "epsilon-gamma-box", "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat");

    private static GlassboxRuntime runtime;
    private static ExplanationService service;

    @BeforeAll
    static void start() throws Exception {
        runtime = SharedRuntime.get();
        service = runtime.service();
    }

    /** Method and options of every explanation compared. */
    static List<Map.Entry<String, Map<String, String>>> explanations() {
        List<Map.Entry<String, Map<String, String>>> all = new ArrayList<>();
        for (String m : List.of("gradient", "saliency", "gradient-x-input", "integrated-gradients", "smoothgrad",
                "deep-taylor")) {
            all.add(Map.entry(m, Map.of()));
        }
        for (String c : COMPOSITES) {
            all.add(Map.entry("lrp", Map.of("composite", c)));
        }
        all.add(Map.entry("lrp", Map.of("composite", "epsilon-plus-flat", "canonizers", "none")));
        return all;
    }

    @Test
    void everyBackendExplainsLikeTheJavaBackend() {
        List<String> others = service.backends().stream()
                .filter(b -> b.availability().isAvailable() && !b.id().equals("java"))
                .map(BackendInfo::id).toList();
        if (others.isEmpty()) {
            // .ci/run builds the djl backend with its natives: there it must be available.
            OnnxConformanceIT.skipUnless(false, "BackendParityIT: only the java backend is available ("
                    + service.backends().stream().map(b -> b.id() + ": " + b.availability()).toList() + ")");
        }
        if ("script".equals(System.getProperty("glassbox.djl.elementwise"))) {
            // the failsafe execution scripted-formulas: make sure djl took the setting
            assertTrue(service.backends().stream().anyMatch(b -> b.id().equals("djl")
                    && b.description().endsWith("elementwise formulas as TorchScript functions")), "djl is not scripted");
        }
        List<String> failures = new ArrayList<>();
        int compared = 0;
        for (String name : MODELS) {
            Graph model = service.loadModel(TORCH.resolve(name + ".onnx"));
            HostTensor input = Npy.read(TORCH.resolve(name + "_input.npy"));
            Target target = Target.classes(Npy.readInts(TORCH.resolve(name + "_target.npy")));
            for (var e : explanations()) {
                ExplanationQuery q = ExplanationQuery.of(e.getKey(), input).withTarget(target).withOptions(e.getValue());
                HostTensor reference = service.explain(model, q.withBackend("java")).attribution();
                for (String backend : others) {
                    HostTensor actual = service.explain(model, q.withBackend(backend)).attribution();
                    Tolerance.Result r = Tolerance.compare(reference.shape().dims(), reference.data(),
                            actual.shape().dims(), actual.data());
                    compared++;
                    if (!r.ok()) {
                        failures.add(name + " " + e.getKey() + " " + e.getValue() + " on " + backend + ": " + r.detail());
                    }
                }
            }
        }
        System.out.println("BackendParityIT: " + compared + " explanations compared with java on "
                + service.backends().stream().filter(b -> others.contains(b.id())).map(b -> b.id() + " (" + b.description() + ")")
                .toList());
        assertTrue(failures.isEmpty(), failures.size() + " differ:\n" + String.join("\n", failures));
    }
}

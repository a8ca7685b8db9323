package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The djl backend uninstalled and installed again in a live runtime, twice: meanwhile the
 * service answers on java and names djl unknown; afterwards djl explains as before. libtorch
 * stays loaded in the class loader of glassbox-djl-pytorch, which is not touched, and the
 * reinstalled backend gets DJL's engine from there. Runs in the {@code backends} execution,
 * on the shared runtime, which it leaves with the backend installed.
 */
class DjlReinstallIT {
    static final String BACKEND_BUNDLE = "glassbox-backend-djl";
    static final double RTOL = 1e-6;

    @Test
    void theDjlBundleCanBeUninstalledAndInstalledAgain() throws Exception {
        GlassboxRuntime runtime = SharedRuntime.get();
        OnnxConformanceIT.skipUnless(djl(runtime.service()).map(b -> b.availability().isAvailable()).orElse(false),
                "DjlReinstallIT: the djl backend is not available (" + runtime.service().backends() + ")");
        Path jar = Main.home().toAbsolutePath().resolve("bundles").resolve(BACKEND_BUNDLE + ".jar");
        Graph model = runtime.service().loadModel(GlassboxIT.TORCH.resolve("cnn.onnx"));
        ExplanationQuery query = ExplanationQuery.of("lrp", Npy.read(GlassboxIT.TORCH.resolve("cnn_input.npy")))
                .withTarget(Target.classes(Npy.readInts(GlassboxIT.TORCH.resolve("cnn_target.npy"))))
                .withOptions(Map.of("composite", "epsilon-plus-flat"));
        HostTensor first = runtime.service().explain(model, query.withBackend("djl")).attribution();
        try {
            for (int round = 1; round <= 2; round++) {
                assertTrue(runtime.uninstallBundle(BACKEND_BUNDLE), "round " + round + ": no " + BACKEND_BUNDLE);
                ExplanationService service = runtime.service();
                assertEquals(Optional.empty(), djl(service), "round " + round);
                assertEquals(first.shape(), service.explain(model, query.withBackend("java")).attribution().shape());
                UnsupportedFeatureException unknown = assertThrows(UnsupportedFeatureException.class,
                        () -> service.explain(model, query.withBackend("djl")));
                assertTrue(unknown.getMessage().startsWith("unknown backend djl"), unknown.getMessage());

                runtime.installBundle(jar);
                BackendInfo djl = awaitDjl(runtime);
                assertTrue(djl.availability().isAvailable(), "round " + round + ": " + djl);
                HostTensor again = runtime.service().explain(model, query.withBackend("djl")).attribution();
                Tolerance.Result r = Tolerance.compare(first.shape().dims(), first.data(), again.shape().dims(),
                        again.data());
                assertTrue(r.ok() && r.relError() <= RTOL,
                        "round " + round + ": " + (r.ok() ? r.summary() : r.detail()));
            }
        } finally {
            if (runtime.bundles().stream().noneMatch(b -> b.symbolicName().equals(BACKEND_BUNDLE))) {
                runtime.installBundle(jar);
            }
        }
    }

    static Optional<BackendInfo> djl(ExplanationService service) {
        return service.backends().stream().filter(b -> b.id().equals("djl")).findFirst();
    }

    /** The djl backend once its bundle's component has registered it (DS may do so after start returns). */
    static BackendInfo awaitDjl(GlassboxRuntime runtime) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            Optional<BackendInfo> djl = djl(runtime.service());
            if (djl.isPresent() || System.nanoTime() > deadline) {
                return djl.orElseThrow(() -> new AssertionError("no djl backend 30 s after its bundle started: "
                        + runtime.bundles()));
            }
            Thread.sleep(50);
        }
    }
}

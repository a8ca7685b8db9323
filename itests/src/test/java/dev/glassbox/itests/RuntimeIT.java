package dev.glassbox.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.glassbox.api.DeadlineExceededException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

/**
 * The assembled runtime (the bundles of {@code launcher/target/glassbox}) inside a real Felix:
 * bundles resolve and start, explanations run through the service and match PyTorch, and an
 * explainer bundle comes and goes while requests are in flight.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RuntimeIT {

    @Inject
    private BundleContext context;

    @Inject
    private ExplanationService service;

    @Configuration
    public Option[] config() throws IOException {
        return AssembledRuntime.options();
    }

    private static Path root() {
        return AssembledRuntime.root();
    }

    @Test
    public void everyBundleIsActive() {
        for (Bundle b : context.getBundles()) {
            boolean fragment = b.getHeaders().get(Constants.FRAGMENT_HOST) != null;
            if (!fragment) {
                assertEquals(b.getSymbolicName() + " is not active", Bundle.ACTIVE, b.getState());
            }
        }
        assertTrue(service.backends().stream().anyMatch(b -> b.id().equals("java") && b.availability().isAvailable()));
        assertEquals(List.of("actmax", "deep-taylor", "gradient", "gradient-x-input", "integrated-gradients", "lrp",
                "saliency", "smoothgrad"),
                service.explainers().stream().map(ExplainerInfo::id).toList());
        assertTrue(service.modelFormats().contains("onnx"));
    }

    @Test
    public void gradientAndIntegratedGradientsMatchPyTorch() {
        for (String name : List.of("mlp", "mlp_matmul", "cnn", "cnn_reshape", "resnet_block", "resnet_block_nobias",
                "mobilenet_block")) {
            Path dir = root().resolve("testdata/torch");
            Graph model = service.loadModel(dir.resolve(name + ".onnx"));
            HostTensor input = Npy.read(dir.resolve(name + "_input.npy"));
            int[] targets = Npy.readInts(dir.resolve(name + "_target.npy"));
            Explanation gradient = service.explain(model,
                    ExplanationQuery.of("gradient", input).withTarget(Target.classes(targets)));
            assertClose(name + " gradient", Npy.read(dir.resolve(name + "_gradient.npy")), gradient.attribution());
            assertClose(name + " logits", Npy.read(dir.resolve(name + "_logits.npy")), gradient.logits());
            Explanation ig = service.explain(model,
                    ExplanationQuery.of("integrated-gradients", input).withTarget(Target.classes(targets)));
            assertClose(name + " integrated gradients", Npy.read(dir.resolve(name + "_ig.npy")), ig.attribution());
        }
    }

    @Test
    public void gradientFamilyKeepsItsDefiningProperties() {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        Explanation gradient = service.explain(model, ExplanationQuery.of("gradient", samples));
        float[] g = gradient.attribution().data();
        float[] x = samples.data();
        float[] saliency = service.explain(model, ExplanationQuery.of("saliency", samples)).attribution().data();
        float[] gxi = service.explain(model, ExplanationQuery.of("gradient-x-input", samples)).attribution().data();
        for (int i = 0; i < g.length; i++) {
            assertEquals(Math.abs(g[i]), saliency[i], 0f);
            assertEquals(g[i] * x[i], gxi[i], 1e-6f * Math.abs(g[i] * x[i]));
        }

        // Completeness: integrated gradients sum to f(x) - f(baseline) as the path integral converges.
        int[] targets = gradient.targets();
        Explanation ig = service.explain(model, ExplanationQuery.of("integrated-gradients", samples)
                .withTarget(Target.classes(targets)).withOptions(Map.of("steps", "256")));
        HostTensor atZero = service.predict(model, HostTensor.zeros(samples.shape()), null);
        int per = x.length / samples.shape().dim(0);
        for (int item = 0; item < targets.length; item++) {
            double sum = 0;
            for (int j = item * per; j < (item + 1) * per; j++) {
                sum += ig.attribution().data()[j];
            }
            double expected = ig.logits().get(item, targets[item]) - atZero.get(item, targets[item]);
            assertEquals("item " + item + " completeness", expected, sum, 0.01 * Math.abs(expected) + 1e-3);
        }

        // SmoothGrad is a deterministic function of its seed.
        ExplanationQuery smooth = ExplanationQuery.of("smoothgrad", samples.item(3)).withOptions(Map.of("samples", "8"));
        float[] a = service.explain(model, smooth).attribution().data();
        float[] b = service.explain(model, smooth).attribution().data();
        float[] c = service.explain(model, smooth.withOptions(Map.of("samples", "8", "seed", "1"))).attribution().data();
        assertTrue(Arrays.equals(a, b));
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    public void perLayerResultsShowWhatArrivedAtEveryValue() {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        Explanation lrp = service.explain(model, ExplanationQuery.of("lrp", samples).withPerLayer(true));
        List<String> values = new ArrayList<>(lrp.perLayer().keySet());
        assertEquals("logits", values.get(0));
        assertEquals("input", values.get(values.size() - 1));
        assertEquals(11, values.size());
        assertClose("input relevance", lrp.attribution(), lrp.perLayer().get("input"));
        int[] t = lrp.targets();
        HostTensor seed = lrp.perLayer().get("logits");
        HostTensor atConv1 = lrp.perLayer().get("/conv1/Conv_output_0");
        int per = samples.shape().size() / t.length;
        int perConv = atConv1.shape().size() / t.length;
        for (int i = 0; i < t.length; i++) {
            assertEquals(lrp.logits().get(i, t[i]), seed.get(i, t[i]), 0f);
            // flat (epsilon-plus-flat's first layer) has no bias: it passes on all it receives.
            double in = 0;
            double conv = 0;
            for (int j = 0; j < per; j++) {
                in += lrp.attribution().data()[i * per + j];
            }
            for (int j = 0; j < perConv; j++) {
                conv += atConv1.data()[i * perConv + j];
            }
            assertEquals("item " + i, conv, in, 1e-4 * Math.abs(conv));
        }
        assertTrue(service.explain(model, ExplanationQuery.of("lrp", samples)).perLayer().isEmpty());
        UnsupportedFeatureException none = assertThrows(UnsupportedFeatureException.class, () -> service.explain(model,
                ExplanationQuery.of("integrated-gradients", samples).withPerLayer(true)));
        assertEquals("--per-layer", none.where());
    }

    @Test
    public void aRuleRegisteredByAnotherBundleIsUsedByNameWithoutRestart() {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        ExplanationQuery scaled = ExplanationQuery.of("lrp", samples)
                .withOptions(Map.of("composite", "epsilon", "rule", "/relu3/Relu=scaled-pass(2.5)"));
        InvalidOptionException before = assertThrows(InvalidOptionException.class, () -> service.explain(model, scaled));
        assertEquals("--rule", before.where());

        // A rule as a third-party bundle writes it: pass relevance on, scaled by its parameter.
        ServiceRegistration<Rule> registration = context.registerService(Rule.class, new Rule() {
            @Override
            public String name() {
                return "scaled-pass";
            }

            @Override
            public String description() {
                return "R_in = s * R (test rule)";
            }

            @Override
            public NodeRule bind(Node node, double[] parameters, RuleDefaults defaults) {
                float s = (float) parameters[0];
                return step -> List.of(step.kernels().scale(step.upstream(), s, step.scope()));
            }
        }, null);
        try {
            HostTensor plain = service.explain(model, ExplanationQuery.of("lrp", samples)
                    .withOptions(Map.of("composite", "epsilon"))).attribution();
            HostTensor withRule = service.explain(model, scaled).attribution();
            // Every rule is linear in the relevance it receives, so scaling one layer scales the input's.
            float[] expected = plain.data().clone();
            for (int i = 0; i < expected.length; i++) {
                expected[i] *= 2.5f;
            }
            assertClose("scaled-pass at relu3", HostTensor.wrap(plain.shape(), expected), withRule);
        } finally {
            registration.unregister();
        }
        assertThrows(InvalidOptionException.class, () -> service.explain(model, scaled));
    }

    @Test
    public void occlusionBundleComesAndGoesWhileRequestsAreInFlight() throws Exception {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        HostTensor one = samples.item(5);
        File jar = Path.of(System.getProperty("glassbox.runtime"), "extra").toFile().listFiles(
                f -> f.getName().startsWith("glassbox-explainer-occlusion"))[0];

        Bundle occlusion = context.installBundle(jar.toURI().toString());
        occlusion.start();
        awaitExplainer("occlusion", true);
        Explanation quick = service.explain(model, ExplanationQuery.of("occlusion", one));
        assertEquals(Shape.of(1, 1, 28, 28), quick.attribution().shape());
        assertTrue("occluding a sandal must change its logit", maxAbs(quick.attribution()) > 0);

        // Two long requests: one of the bundle about to go away, one of another bundle.
        CountDownLatch running = new CountDownLatch(2);
        ExecutorService callers = Executors.newFixedThreadPool(2);
        CompletableFuture<Explanation> inFlightOcclusion = CompletableFuture.supplyAsync(() -> service.explain(model,
                ExplanationQuery.of("occlusion", samples).withOptions(Map.of("window", "2", "stride", "1"))
                        .withProgress(started(running))), callers);
        CompletableFuture<Explanation> inFlightSmoothGrad = CompletableFuture.supplyAsync(() -> service.explain(model,
                ExplanationQuery.of("smoothgrad", one).withOptions(Map.of("samples", "640"))
                        .withProgress(started(running))), callers);
        assertTrue("requests did not start", running.await(60, TimeUnit.SECONDS));
        assertFalse("the occlusion request finished too soon to test anything", inFlightOcclusion.isDone());
        occlusion.uninstall();
        awaitExplainer("occlusion", false);

        Explanation finished = inFlightOcclusion.get(120, TimeUnit.SECONDS);
        assertEquals(samples.shape(), finished.attribution().shape());
        assertEquals(Shape.of(1, 1, 28, 28), inFlightSmoothGrad.get(120, TimeUnit.SECONDS).attribution().shape());
        callers.shutdown();
        UnsupportedFeatureException gone = assertThrows(UnsupportedFeatureException.class,
                () -> service.explain(model, ExplanationQuery.of("occlusion", one)));
        assertTrue(gone.getMessage(), gone.getMessage().contains("unknown method occlusion"));
    }

    @Test
    public void badRequestsFailWithANamedErrorAndTheServiceKeepsServing() {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        InvalidInputException shape = assertThrows(InvalidInputException.class,
                () -> service.explain(model, ExplanationQuery.of("gradient", HostTensor.zeros(Shape.of(2, 3, 28, 28)))));
        assertTrue(shape.describe(), shape.describe().contains("[2, 3, 28, 28]"));
        assertThrows(UnsupportedFeatureException.class,
                () -> service.explain(model, ExplanationQuery.of("no-such-method", samples)));
        DeadlineExceededException late = assertThrows(DeadlineExceededException.class,
                () -> service.explain(model, ExplanationQuery.of("smoothgrad", samples)
                        .withOptions(Map.of("samples", "100000")).withTimeout(Duration.ofMillis(300))));
        assertTrue(late.describe(), late.describe().contains("smoothgrad"));
        InvalidInputException missing = assertThrows(InvalidInputException.class,
                () -> service.loadModel(root().resolve("models/no-such-model.onnx")));
        assertTrue(missing.describe(), missing.describe().contains("no-such-model.onnx"));
        // Still serving.
        Explanation ok = service.explain(model, ExplanationQuery.of("gradient", samples));
        assertEquals(samples.shape(), ok.attribution().shape());
    }

    @Test
    public void anExplainerThatThrowsOrHangsFailsOnlyItsOwnRequest() throws Exception {
        Graph model = service.loadModel(root().resolve("models/fashion-mnist-cnn.onnx"));
        HostTensor samples = Npy.read(root().resolve("models/samples/samples.npy"));
        ServiceRegistration<Explainer> throwing = context.registerService(Explainer.class,
                new TestExplainer("throws", () -> {
                    throw new NullPointerException("bug in a third-party explainer");
                }), null);
        ServiceRegistration<Explainer> hanging = context.registerService(Explainer.class,
                new TestExplainer("hangs", () -> {
                    try {
                        Thread.sleep(60_000); // never checks its deadline
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }), null);
        try {
            IllegalStateException thrown = assertThrows(IllegalStateException.class,
                    () -> service.explain(model, ExplanationQuery.of("throws", samples)));
            assertTrue(thrown.getMessage(), thrown.getMessage().contains("explainer throws")
                    && thrown.getMessage().contains("NullPointerException"));
            long start = System.nanoTime();
            DeadlineExceededException late = assertThrows(DeadlineExceededException.class,
                    () -> service.explain(model, ExplanationQuery.of("hangs", samples).withTimeout(Duration.ofSeconds(1))));
            assertTrue("the caller waited past the deadline", System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
            assertEquals("method hangs", late.where());
            assertEquals(samples.shape(), service.explain(model, ExplanationQuery.of("gradient", samples))
                    .attribution().shape());
        } finally {
            throwing.unregister();
            hanging.unregister();
        }
    }

    /** An explainer whose body is given by the test. */
    private record TestExplainer(String id, Runnable body) implements Explainer {
        @Override
        public String description() {
            return "test explainer";
        }

        @Override
        public List<dev.glassbox.api.explain.Option<?>> options() {
            return List.of();
        }

        @Override
        public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
            body.run();
            return HostTensor.zeros(request.input().shape());
        }
    }

    private static dev.glassbox.api.service.ProgressListener started(CountDownLatch latch) {
        boolean[] once = {false};
        return (done, total) -> {
            if (!once[0]) {
                once[0] = true;
                latch.countDown();
            }
        };
    }

    private void awaitExplainer(String id, boolean present) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < end) {
            if (service.explainers().stream().anyMatch(e -> e.id().equals(id)) == present) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("explainer " + id + (present ? " did not appear" : " did not go away"));
    }

    private static float maxAbs(HostTensor t) {
        float m = 0;
        for (float v : t.data()) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Agreement to 1e-4 relative to the reference's largest magnitude. */
    static void assertClose(String what, HostTensor expected, HostTensor actual) {
        assertNotNull(actual);
        assertEquals(what + " shape", expected.shape(), actual.shape());
        float scale = maxAbs(expected);
        float[] e = expected.data();
        float[] a = actual.data();
        for (int i = 0; i < e.length; i++) {
            double tol = 1e-4 * scale + 1e-6;
            if (Math.abs(e[i] - a[i]) > tol) {
                throw new AssertionError(what + ": element " + i + " is " + a[i] + ", PyTorch says " + e[i]
                        + " (tolerance " + tol + "); first values " + Arrays.toString(Arrays.copyOf(a, 4)));
            }
        }
    }
}

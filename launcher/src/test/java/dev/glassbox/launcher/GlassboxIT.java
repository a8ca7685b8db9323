package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Npy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assembled runtime in launcher/target/glassbox, end to end through Main.run and GlassboxRuntime. */
class GlassboxIT {

    static final Path ROOT = Path.of(System.getProperty("glassbox.root", "..")).toAbsolutePath().normalize();
    static final Path HOME = Main.home().toAbsolutePath();
    static final Path TORCH = ROOT.resolve("testdata/torch");
    static final Path OCCLUSION = HOME.resolve("extra/glassbox-explainer-occlusion.jar");

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result runWithStdin(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Result run(String... args) {
        return runWithStdin("", args);
    }

    @Test
    void listShowsBackendsExplainersFormatsAndBundles() {
        Result r = run("list");
        assertEquals(0, r.code(), r::toString);
        for (String s : new String[] {"Backends:", "java", "(default)", "Explainers:", "gradient", "integrated-gradients",
                "--steps", "smoothgrad", "Model formats: onnx", "glassbox-core", "ACTIVE"}) {
            assertTrue(r.out().contains(s), s + " missing in\n" + r);
        }
        assertFalse(r.out().contains("occlusion"), r::toString);
        // the cuDNN backend installs everywhere and says why it cannot run (no kernels yet, so never the default)
        String cudnn = r.out().lines().filter(l -> l.trim().startsWith("cudnn ")).findFirst().orElse("");
        assertTrue(cudnn.contains("ranking 20   unavailable: ") && !cudnn.contains("(default)"), r::toString);
    }

    @Test
    void theCudnnLibraryPathIsConfigurable(@TempDir Path tmp) throws Exception {
        Path deploy = Files.createDirectories(tmp.resolve("deploy"));
        Path libs = Files.createDirectories(tmp.resolve("cuda libs"));
        try (GlassboxRuntime rt = runtimeWatching(deploy)) {
            ExplanationService service = rt.service();
            java.util.function.Supplier<String> cudnn = () -> service.backends().stream()
                    .filter(b -> b.id().equals("cudnn")).findFirst().orElseThrow().availability().toString();
            assertFalse(cudnn.get().contains(libs.toString()), cudnn.get());
            // not a library: found first there, it fails to load, or the search past it names the directory
            Files.createFile(libs.resolve("libcudart.so"));
            Files.writeString(deploy.resolve("dev.glassbox.backend.cudnn.config"), "path=\"" + libs + "\"\n");
            awaitTrue(() -> cudnn.get().contains(libs.toString()), "the configured library path was not taken");
            assertTrue(cudnn.get().startsWith("unavailable: "), cudnn.get());
        }
    }

    /** ConfigAdmin reaches the djl backend (device and natives): a changed configuration makes a new instance that reads it. */
    @Test
    void theDjlDeviceIsConfigurable(@TempDir Path tmp) throws Exception {
        Path deploy = Files.createDirectories(tmp.resolve("deploy"));
        try (GlassboxRuntime rt = runtimeWatching(deploy)) {
            ExplanationService service = rt.service();
            // between the old instance and the new one, djl is briefly not registered
            java.util.function.Supplier<String> djl = () -> service.backends().stream().filter(b -> b.id().equals("djl"))
                    .findFirst().map(b -> b.availability().toString()).orElse("not registered");
            String before = djl.get();
            assertFalse(before.equals("not registered"), before);
            Path config = Files.writeString(deploy.resolve("dev.glassbox.backend.djl.config"), "device=\"tpu\"\n");
            awaitTrue(() -> djl.get().contains("unknown device 'tpu'"), "the configured device was not read");
            assertEquals("unavailable: unknown device 'tpu' (glassbox.djl.device, or device in dev.glassbox.backend.djl):"
                    + " use auto, cpu, cuda or cuda:N", djl.get());
            Path nowhere = tmp.resolve("no libtorch");
            Files.writeString(config, "natives=\"" + nowhere + "\"\ndevice=\"cpu\"\n");
            awaitTrue(() -> djl.get().equals("unavailable: PyTorch natives not found in " + nowhere),
                    "the configured natives were not taken");
            Files.delete(config);
            awaitTrue(() -> djl.get().equals(before), "removing the configuration did not restore " + before);
        }
    }

    @Test
    void anUnavailableBackendIsRefusedWithItsReason(@TempDir Path tmp) {
        Result r = run("explain", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(), "--input",
                ROOT.resolve("models/samples/00-t-shirt-top.png").toString(), "--method", "gradient", "--backend",
                "cudnn", "--out", tmp.resolve("x.npy").toString());
        assertEquals(4, r.code(), r::toString);
        assertTrue(r.err().startsWith("glassbox: error: backend cudnn is unavailable: ")
                && r.err().strip().endsWith("(--backend)"), r::toString);
        assertFalse(Files.exists(tmp.resolve("x.npy")));
    }

    @Test
    void gradientOfMlpMatchesPyTorch(@TempDir Path tmp) {
        checkGradient("mlp", tmp);
    }

    @Test
    void gradientOfCnnMatchesPyTorch(@TempDir Path tmp) {
        checkGradient("cnn", tmp);
    }

    private static void checkGradient(String name, Path tmp) {
        Path out = tmp.resolve(name + "_gradient.npy");
        String targets = Arrays.stream(Npy.readInts(TORCH.resolve(name + "_target.npy"))).mapToObj(Integer::toString)
                .collect(Collectors.joining(","));
        Result r = run("explain", "--model", TORCH.resolve(name + ".onnx").toString(), "--input",
                TORCH.resolve(name + "_input.npy").toString(), "--method", "gradient", "--target", targets,
                "--out", out.toString());
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("gradient on java"), r::toString);
        HostTensor expected = Npy.read(TORCH.resolve(name + "_gradient.npy"));
        HostTensor actual = Npy.read(out);
        assertEquals(expected.shape(), actual.shape());
        double maxRef = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.data().length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected.data()[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected.data()[i] - actual.data()[i]));
        }
        assertTrue(maxDiff <= 1e-4 * maxRef + 1e-6, name + ": max |a-b| = " + maxDiff + ", max |b| = " + maxRef);
    }

    @Test
    void perLayerWritesEveryValueAndTheirSums(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("layers");
        Result r = run("explain", "--quiet", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(),
                "--input", ROOT.resolve("models/samples/05-sandal.png").toString(), "--method", "lrp",
                "--composite", "epsilon-gamma-box", "--out", tmp.resolve("r.npy").toString(),
                "--per-layer", dir.toString());
        assertEquals(0, r.code(), r::toString);
        String json = Files.readString(dir.resolve("layers.json"));
        assertTrue(json.contains("\"value\": \"logits\"") && json.contains("\"op\": \"input\""), json);
        assertEquals(Npy.read(tmp.resolve("r.npy")).shape(), Npy.read(dir.resolve("10-input.npy")).shape());
        assertTrue(Files.isRegularFile(dir.resolve("09-_conv1_Conv_output_0.npy")));

        Result none = run("explain", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(),
                "--input", ROOT.resolve("models/samples/05-sandal.png").toString(), "--method", "saliency",
                "--out", tmp.resolve("s.npy").toString(), "--per-layer", tmp.resolve("none").toString());
        assertEquals(4, none.code(), none::toString);
        assertFalse(Files.exists(tmp.resolve("s.npy")), "nothing is written when the request fails");
    }

    @Test
    void explainWritesHeatmapsForEveryItem(@TempDir Path tmp) {
        Path png = tmp.resolve("h.png");
        Result r = run("explain", "--quiet", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(),
                "--input", ROOT.resolve("models/samples/samples.npy").toString(), "--method", "integrated-gradients",
                "--steps", "8", "--out", tmp.resolve("r.npy").toString(), "--png", png.toString());
        assertEquals(0, r.code(), r::toString);
        assertEquals("", r.out());
        assertTrue(Files.isRegularFile(png) && Files.isRegularFile(tmp.resolve("h-9.png")));
        assertEquals(Npy.read(ROOT.resolve("models/samples/samples.npy")).shape(), Npy.read(tmp.resolve("r.npy")).shape());
    }

    @Test
    void explainAnImageAndPredict(@TempDir Path tmp) {
        String model = ROOT.resolve("models/fashion-mnist-cnn.onnx").toString();
        Path image = ROOT.resolve("models/samples/07-sneaker.png");
        Result r = run("explain", "--model", model, "--input", image.toString(), "--method", "saliency",
                "--out", tmp.resolve("r.npy").toString());
        assertEquals(0, r.code(), r::toString);
        assertEquals("[1, 1, 28, 28]", Npy.read(tmp.resolve("r.npy")).shape().toString());
        r = run("predict", "--model", model, "--input", image.toString(), "--out", tmp.resolve("y.npy").toString(),
                "--logits");
        assertEquals(0, r.code(), r::toString);
        int expected = Inputs.argmax(Npy.read(ROOT.resolve("models/samples/expected_logits.npy")))[7];
        assertEquals("0: " + expected, r.out().strip());
    }

    @Test
    void missingModelIsBadInput(@TempDir Path tmp) {
        Result r = run("explain", "--model", tmp.resolve("none.onnx").toString(), "--input",
                TORCH.resolve("mlp_input.npy").toString(), "--method", "gradient", "--out", tmp.resolve("r.npy").toString());
        assertEquals(3, r.code(), r::toString);
        assertTrue(r.err().contains("none.onnx"), r::toString);
    }

    @Test
    void corruptModelIsBadInput(@TempDir Path tmp) throws Exception {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        Path model = Files.write(tmp.resolve("junk.onnx"), junk);
        Result r = explainMlp(model, tmp, "gradient");
        assertEquals(3, r.code(), r::toString);
        assertOneLineError(r, "junk.onnx");
        assertFalse(Files.exists(tmp.resolve("r.npy")));
    }

    @Test
    void wrongInputShapeIsBadInput(@TempDir Path tmp) {
        Result r = run("explain", "--model", TORCH.resolve("mlp.onnx").toString(), "--input",
                TORCH.resolve("cnn_input.npy").toString(), "--method", "gradient", "--out", tmp.resolve("r.npy").toString());
        assertEquals(3, r.code(), r::toString);
        assertOneLineError(r, "cnn_input.npy");
    }

    @Test
    void unknownMethodIsUnsupported(@TempDir Path tmp) {
        Result r = explainMlp(TORCH.resolve("mlp.onnx"), tmp, "no-such-method");
        assertEquals(4, r.code(), r::toString);
        assertOneLineError(r, "no-such-method");
    }

    @Test
    void unknownMethodOptionIsAUsageError(@TempDir Path tmp) {
        Result r = explainMlp(TORCH.resolve("mlp.onnx"), tmp, "gradient", "--bogus", "1");
        assertEquals(2, r.code(), r::toString);
        assertOneLineError(r, "--bogus");
    }

    @Test
    void verboseShowsTheStackTrace(@TempDir Path tmp) {
        Result r = explainMlp(TORCH.resolve("mlp.onnx"), tmp, "no-such-method", "--verbose");
        assertEquals(4, r.code(), r::toString);
        assertTrue(r.err().contains("\tat "), r::toString);
    }

    private static Result explainMlp(Path model, Path tmp, String method, String... more) {
        String[] base = {"explain", "--model", model.toString(), "--input", TORCH.resolve("mlp_input.npy").toString(),
                "--method", method, "--out", tmp.resolve("r.npy").toString()};
        String[] args = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        return run(args);
    }

    private static void assertOneLineError(Result r, String where) {
        String err = r.err().strip();
        assertTrue(err.startsWith("glassbox: error: ") && !err.contains("\n"), r::toString);
        assertTrue(err.contains(where), where + " not named: " + r);
    }

    @Test
    void demoWritesAnIndexWithEveryMethod(@TempDir Path tmp) throws Exception {
        long t0 = System.nanoTime();
        Result r = run("demo", "--out", tmp.toString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, r.code(), r::toString);
        Path index = tmp.resolve("index.html");
        assertEquals(index.toString(), r.out().strip());
        String html = Files.readString(index);
        double accuracy = Double.parseDouble(DemoCommand.number(
                Files.readString(ROOT.resolve("models/fashion-mnist-cnn.json")), "test_accuracy"));
        String percent = String.format(java.util.Locale.ROOT, "%.2f%%", accuracy * 100);
        for (String s : new String[] {"gradient", "saliency", "gradient-x-input", "integrated-gradients", "smoothgrad",
                "lrp", "deep-taylor",
                "Ankle boot", percent}) {
            assertTrue(html.contains(s), s + " missing in index.html");
        }
        assertTrue(Files.isRegularFile(tmp.resolve("smoothgrad-overlay-09-ankle-boot.png")));
        assertTrue(Files.isRegularFile(tmp.resolve("input-00-t-shirt-top.png")));
        assertTrue(ms < 60_000, "demo took " + ms + " ms");
        System.out.println("demo took " + ms + " ms");
    }

    @Test
    void consoleRunsStdinAndInstallsBundlesLive() {
        String script = String.join("\n",
                "glassbox:explainers",
                "echo ---",
                "install file:" + OCCLUSION,
                "start file:" + OCCLUSION, // the installed bundle: same location
                "glassbox:explainers",
                "echo ---",
                "uninstall glassbox-explainer-occlusion",
                "no-such-command",
                "glassbox:explainers",
                "echo ---",
                "glassbox:formats",
                "");
        Result r = runWithStdin(script, "console");
        assertEquals(0, r.code(), r::toString);
        String[] parts = r.out().split("(?m)^---$");
        assertEquals(4, parts.length, r::toString);
        assertTrue(parts[0].contains("gradient") && !parts[0].contains("occlusion"), r::toString);
        assertTrue(parts[1].contains("Bundle ID:") && parts[1].contains("occlusion "), r::toString);
        assertTrue(parts[2].contains("gradient") && !parts[2].contains("occlusion"), r::toString);
        assertEquals("onnx", parts[3].strip());
        assertEquals("glassbox: error: Command not found: no-such-command (console line 8: no-such-command)",
                r.err().strip(), r::toString);
    }

    @Test
    void consoleExitEndsTheScriptWithItsStatus() {
        Result r = runWithStdin("glassbox:formats\nexit 5\nglassbox:backends\n", "console");
        assertEquals(5, r.code(), r::toString);
        assertEquals("onnx", r.out().strip());
    }

    @Test
    void fileInstallDeploysAndRemovesBundles(@TempDir Path deploy) throws Exception {
        long t0 = System.nanoTime();
        try (GlassboxRuntime rt = runtimeWatching(deploy)) {
            ExplanationService service = rt.service();
            System.out.println("runtime start to service: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            assertFalse(hasOcclusion(service));
            Path jar = Files.copy(OCCLUSION, deploy.resolve("occlusion.jar"));
            awaitTrue(() -> hasOcclusion(service), "occlusion did not appear after deploying");
            Files.delete(jar);
            awaitTrue(() -> !hasOcclusion(service), "occlusion did not disappear after deleting the jar");

            assertEquals("glassbox-explainer-occlusion", rt.installBundle(OCCLUSION));
            awaitTrue(() -> hasOcclusion(service), "occlusion did not appear after installBundle");
            assertTrue(rt.bundles().stream().anyMatch(b -> b.symbolicName().equals("glassbox-explainer-occlusion")
                    && b.state().equals("ACTIVE")));
            assertTrue(rt.uninstallBundle("glassbox-explainer-occlusion"));
            awaitTrue(() -> !hasOcclusion(service), "occlusion did not disappear after uninstallBundle");
        }
    }

    /** A runtime of its own whose FileInstall watches {@code deploy} (configurations, bundles). */
    private static GlassboxRuntime runtimeWatching(Path deploy) throws Exception {
        return GlassboxRuntime.builder().home(HOME).deployDir(deploy).startTimeout(Duration.ofSeconds(30)).build();
    }

    @Test
    void compositesComeFromFilesAndFromConfigAdmin(@TempDir Path tmp) throws Exception {
        Path deploy = Files.createDirectories(tmp.resolve("deploy"));
        try (GlassboxRuntime rt = runtimeWatching(deploy)) {
            ExplanationService service = rt.service();
            var model = service.loadModel(ROOT.resolve("models/fashion-mnist-cnn.onnx"));
            HostTensor all = Npy.read(ROOT.resolve("models/samples/samples.npy"));
            HostTensor x = HostTensor.wrap(all.shape().withoutBatch().withBatch(2),
                    Arrays.copyOf(all.data(), 2 * all.shape().size() / all.shape().dim(0)));
            java.util.function.Function<java.util.Map<String, String>, float[]> lrp = options ->
                    service.explain(model, dev.glassbox.api.service.ExplanationQuery.of("lrp", x).withOptions(options))
                            .attribution().data();
            float[] reference = lrp.apply(java.util.Map.of("composite", "epsilon-plus-flat"));

            // The same table as a mapping file ...
            Path file = Files.writeString(tmp.resolve("mine.composite"), """
                    # epsilon-plus-flat, spelled out
                    first = flat
                    op Conv2d = zplus
                    op Dense = epsilon
                    """);
            assertTrue(Arrays.equals(reference, lrp.apply(java.util.Map.of("composite-file", file.toString()))));
            assertTrue(rt.readServices(dev.glassbox.api.lrp.Composite.class, dev.glassbox.api.lrp.Composite::name)
                    .containsAll(java.util.List.of("epsilon", "epsilon-plus-flat", "epsilon-gamma-box")),
                    "built-in composites are services");

            // ... and as a ConfigAdmin factory configuration dropped into the deploy directory.
            Path config = deploy.resolve("dev.glassbox.lrp.composite-mine.config");
            Files.writeString(config, "name=\"spelled-out\"\n"
                    + "rules=[\"first = flat\",\"op Conv2d = zplus\",\"op Dense = epsilon\"]\n");
            awaitTrue(() -> rt.readServices(dev.glassbox.api.lrp.Composite.class, dev.glassbox.api.lrp.Composite::name)
                    .contains("spelled-out"), "the configured composite did not appear");
            assertTrue(Arrays.equals(reference, lrp.apply(java.util.Map.of("composite", "spelled-out"))));
            Files.delete(config);
            awaitTrue(() -> !rt.readServices(dev.glassbox.api.lrp.Composite.class, dev.glassbox.api.lrp.Composite::name)
                    .contains("spelled-out"), "the configured composite did not go away");
            var gone = org.junit.jupiter.api.Assertions.assertThrows(dev.glassbox.api.InvalidOptionException.class,
                    () -> lrp.apply(java.util.Map.of("composite", "spelled-out")));
            assertEquals("--composite", gone.where());
        }
        Path bad = Files.writeString(tmp.resolve("bad.composite"), "first = flat\nlayer conv = zplus\n");
        Result r = run("explain", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(), "--input",
                ROOT.resolve("models/samples/05-sandal.png").toString(), "--method", "lrp", "--composite-file",
                bad.toString(), "--out", tmp.resolve("r.npy").toString());
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("unknown key 'layer'") && r.err().contains(bad + ", entry 2"), r::toString);
        assertFalse(Files.exists(tmp.resolve("r.npy")));
    }

    @Test
    void theDefaultBackendIsConfigurable(@TempDir Path tmp) throws Exception {
        Path deploy = Files.createDirectories(tmp.resolve("deploy"));
        try (GlassboxRuntime rt = runtimeWatching(deploy)) {
            ExplanationService service = rt.service();
            var model = service.loadModel(ROOT.resolve("models/fashion-mnist-cnn.onnx"));
            HostTensor x = Npy.read(ROOT.resolve("models/samples/samples.npy"));
            var query = dev.glassbox.api.service.ExplanationQuery.of("gradient", x);
            // Unconfigured: the available backend of highest ranking.
            String best = service.backends().stream().filter(b -> b.availability().isAvailable())
                    .max(java.util.Comparator.comparingInt(dev.glassbox.api.service.BackendInfo::ranking))
                    .orElseThrow().id();
            assertEquals(java.util.Optional.of(best), service.defaultBackend());
            assertEquals(best, service.explain(model, query).backend());

            Path config = deploy.resolve("dev.glassbox.runtime.config");
            Files.writeString(config, "backend=\"java\"\n");
            awaitTrue(() -> service.defaultBackend().equals(java.util.Optional.of("java")),
                    "the configured default backend was not taken");
            assertEquals("java", service.explain(model, query).backend());

            Files.writeString(config, "backend=\"tpu\"\n");
            awaitTrue(() -> service.defaultBackend().isEmpty(), "an unknown configured backend was taken");
            var e = org.junit.jupiter.api.Assertions.assertThrows(dev.glassbox.api.UnsupportedFeatureException.class,
                    () -> service.explain(model, query));
            assertEquals("configuration dev.glassbox.runtime", e.where());
            assertTrue(e.getMessage().contains("unknown backend tpu"), e::getMessage);
            // A request that names its backend is not affected.
            assertEquals("java", service.explain(model, query.withBackend("java")).backend());

            Files.delete(config);
            awaitTrue(() -> service.defaultBackend().equals(java.util.Optional.of(best)),
                    "removing the configuration did not restore the best available backend");
        }
    }

    @Test
    void aNeuronOrChannelOfANamedNodeIsExplainedLikeAClass(@TempDir Path tmp) throws Exception {
        String model = ROOT.resolve("models/fashion-mnist-cnn.onnx").toString();
        String input = ROOT.resolve("models/samples/05-sandal.png").toString();
        java.util.function.Function<String[], float[]> explain = extra -> {
            Path out = tmp.resolve("r" + System.nanoTime() + ".npy");
            String[] base = {"explain", "--model", model, "--input", input, "--method", "gradient", "--out", out.toString()};
            String[] args = java.util.stream.Stream.concat(Arrays.stream(base), Arrays.stream(extra)).toArray(String[]::new);
            Result r = run(args);
            assertEquals(0, r.code(), r::toString);
            return Npy.read(out).data();
        };
        // The last Gemm's outputs are the logits: its neuron 3, its channel 3 and class 3 are one thing.
        float[] byClass = explain.apply(new String[] {"--target", "3"});
        assertTrue(Arrays.equals(byClass, explain.apply(new String[] {"--node", "/fc2/Gemm", "--neuron", "3"})));
        assertTrue(Arrays.equals(byClass, explain.apply(new String[] {"--node", "/fc2/Gemm", "--channel", "3"})));
        // A channel of a feature map is the sum of its neurons; gradients add up.
        try (GlassboxRuntime rt = GlassboxRuntime.builder().home(HOME).build()) {
            ExplanationService service = rt.service();
            var graph = service.loadModel(Path.of(model));
            HostTensor x = HostTensor.wrap(graph.input().itemShape().withBatch(1), new float[28 * 28]);
            Random random = new Random(5);
            for (int i = 0; i < x.data().length; i++) {
                x.data()[i] = random.nextFloat();
            }
            java.util.function.Function<dev.glassbox.api.explain.Target, float[]> gradient = t -> service.explain(graph,
                    dev.glassbox.api.service.ExplanationQuery.of("gradient", x).withTarget(t)).attribution().data();
            float[] channel = gradient.apply(new dev.glassbox.api.explain.Target.Channel("/pool2/MaxPool", 1));
            float[] sum = new float[channel.length];
            for (int i = 0; i < 7 * 7; i++) {
                float[] g = gradient.apply(new dev.glassbox.api.explain.Target.Neuron("/pool2/MaxPool", 49 + i));
                for (int k = 0; k < sum.length; k++) {
                    sum[k] += g[k];
                }
            }
            double scale = 0;
            for (float v : channel) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(scale > 0, "channel 1 has a gradient");
            for (int k = 0; k < sum.length; k++) {
                assertEquals(channel[k], sum[k], 1e-5 * scale, "pixel " + k);
            }
        }

        Result unknown = run("explain", "--model", model, "--input", input, "--method", "gradient", "--node", "nope",
                "--neuron", "0", "--out", tmp.resolve("x.npy").toString());
        assertEquals(2, unknown.code(), unknown::toString);
        assertTrue(unknown.err().contains("no node named 'nope'") && unknown.err().contains("--node"), unknown::toString);
        Result range = run("explain", "--model", model, "--input", input, "--method", "gradient", "--node", "/fc2/Gemm",
                "--neuron", "10", "--out", tmp.resolve("x.npy").toString());
        assertEquals(2, range.code(), range::toString);
        assertTrue(range.err().contains("neuron 10 is out of range: node /fc2/Gemm has 10 values per item"), range::toString);
        Result both = run("explain", "--model", model, "--input", input, "--method", "gradient", "--node", "/fc2/Gemm",
                "--neuron", "1", "--channel", "1", "--out", tmp.resolve("x.npy").toString());
        assertEquals(2, both.code(), both::toString);
        assertFalse(Files.exists(tmp.resolve("x.npy")));
    }

    @Test
    void benchPrintsTheContractsJsonLine() {
        Result r = run("bench", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(), "--method", "lrp",
                "--composite", "epsilon-gamma-box", "--batch", "3", "--iterations", "3", "--warmup", "0", "--quiet");
        assertEquals(0, r.code(), r::toString);
        String[] lines = r.out().strip().split("\n");
        assertEquals(1, lines.length, "--quiet leaves only the JSON line: " + r);
        String json = lines[0];
        for (String key : new String[] {"\"model\":\"fashion-mnist-cnn.onnx\"", "\"backend\":\"java\"",
                "\"method\":\"lrp\"", "\"options\":{\"composite\":\"epsilon-gamma-box\"}", "\"batch\":3",
                "\"iterations\":3", "\"threads\":"}) {
            assertTrue(json.contains(key), key + " missing in " + json);
        }
        double forward = Double.parseDouble(DemoCommand.number(json, "forward_ms"));
        double explain = Double.parseDouble(DemoCommand.number(json, "explain_ms"));
        double ratio = Double.parseDouble(DemoCommand.number(json, "ratio"));
        assertTrue(forward > 0 && explain > 0, json);
        assertEquals(explain / forward, ratio, 1e-3 * ratio + 1e-3, json);
        Result bad = run("bench", "--model", ROOT.resolve("models/fashion-mnist-cnn.onnx").toString(), "--method", "lrp",
                "--iterations", "0");
        assertEquals(2, bad.code(), bad::toString);
        assertTrue(bad.err().contains("--iterations"), bad::toString);
    }

    @Test
    void listShowsLrpRulesCompositesCanonizersAndOps() {
        Result r = run("list");
        assertEquals(0, r.code(), r::toString);
        for (String s : new String[] {"LRP rules (--rule):", "alpha-beta", "zbox", "LRP composites (--composite):",
                "epsilon-gamma-box", "LRP canonizers (--canonizers):", "batchnorm-fold"}) {
            assertTrue(r.out().contains(s), s + " missing in\n" + r);
        }
        Result ops = run("list", "--ops");
        assertEquals(0, ops.code(), ops::toString);
        for (String op : new String[] {"Operators (onnx, ", "  BatchNormalization", "  Conv", "  Gemm", "  Resize"}) {
            assertTrue(ops.out().contains(op), op + " missing in\n" + ops);
        }
    }

    @Test
    void aMissingCoreIsNamedWhenTheServiceNeverAppears(@TempDir Path home) throws Exception {
        Files.createDirectories(home.resolve("bundles"));
        try (GlassboxRuntime rt = GlassboxRuntime.builder().home(home).startTimeout(Duration.ofMillis(200)).build()) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, rt::service);
            assertTrue(e.getMessage().contains("did not start within 200 ms") && e.getMessage().contains("glassbox-core"),
                    e.getMessage());
            assertEquals(1, rt.bundles().size()); // the system bundle
        }
    }

    private static boolean hasOcclusion(ExplanationService service) {
        return service.explainers().stream().map(ExplainerInfo::id).anyMatch("occlusion"::equals);
    }

    private static void awaitTrue(BooleanSupplier condition, String message) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(message);
            }
            Thread.sleep(100);
        }
    }
}

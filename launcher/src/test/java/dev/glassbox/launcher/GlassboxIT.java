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
        try (GlassboxRuntime rt = GlassboxRuntime.builder().home(HOME).deployDir(deploy)
                .startTimeout(Duration.ofSeconds(30)).build()) {
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

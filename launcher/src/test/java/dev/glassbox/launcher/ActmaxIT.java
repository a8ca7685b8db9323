package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Graph;
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
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Activation maximization on the demo model, end to end: the glassbox actmax command and the demo's gallery. */
class ActmaxIT {

    static final Path ROOT = Path.of(System.getProperty("glassbox.root", "..")).toAbsolutePath().normalize();
    static final Path HOME = Main.home().toAbsolutePath();
    static final Path MODEL = ROOT.resolve("models/fashion-mnist-cnn.onnx");
    static final Path SAMPLES = ROOT.resolve("models/samples/samples.npy");
    static final Path PRIOR = ROOT.resolve("models/" + DemoCommand.PRIOR);
    static final String ALL_CLASSES = "0,1,2,3,4,5,6,7,8,9";

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static GlassboxRuntime runtime() throws Exception {
        return GlassboxRuntime.builder().home(HOME).startTimeout(Duration.ofSeconds(30)).build();
    }

    /** Softmax probability of class i for item i, predicted by a runtime of its own (not the command's numbers). */
    static double[] probabilityOfOwnClass(HostTensor images) throws Exception {
        try (GlassboxRuntime rt = runtime()) {
            ExplanationService service = rt.service();
            Graph graph = service.loadModel(MODEL);
            HostTensor p = DemoCommand.softmax(service.predict(graph.logits(), images, null));
            int k = p.shape().dim(1);
            double[] out = new double[images.shape().dim(0)];
            for (int i = 0; i < out.length; i++) {
                out[i] = p.data()[i * k + i];
            }
            return out;
        }
    }

    private static void assertEveryClassAtLeast(double min, Path npy, String what) throws Exception {
        double[] p = probabilityOfOwnClass(Npy.read(npy));
        System.out.println("actmax " + what + ": softmax p of the target class " + Arrays.toString(
                Arrays.stream(p).mapToObj(v -> String.format(Locale.ROOT, "%.4f", v)).toArray()));
        for (int c = 0; c < p.length; c++) {
            assertTrue(p[c] >= min, what + ": class " + c + " has p " + p[c]);
        }
    }

    @Test
    void everyClassFromNoiseIsClassifiedAsItsTarget(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("x.npy");
        long t0 = System.nanoTime();
        Result r = run("actmax", "--model", MODEL.toString(), "--target", ALL_CLASSES, "--out", out.toString(),
                "--png", tmp.resolve("x.png").toString());
        System.out.println("actmax from noise, 10 classes, default settings: " + (System.nanoTime() - t0) / 1_000_000
                + " ms");
        assertEquals(0, r.code(), r::toString);
        assertEquals(Npy.read(SAMPLES).shape(), Npy.read(out).shape());
        assertTrue(Files.isRegularFile(tmp.resolve("x.png")) && Files.isRegularFile(tmp.resolve("x-9.png")));
        assertTrue(r.out().contains("9: class 9 logit ") && r.out().contains("softmax p "), r::toString);
        assertTrue(r.out().strip().endsWith("-> " + out), r::toString);
        assertEveryClassAtLeast(0.9, out, "from noise");
        HostTensor x = Npy.read(out);
        for (float v : x.data()) {
            assertTrue(v >= 0 && v <= 1, "clipped to the valid input range [0, 1], got " + v);
        }
    }

    @Test
    void withTrainingImagesAsTheDataPriorEveryClassIsItsTargetAndLooksLikeItsClass(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("x.npy");
        Result r = run("actmax", "--quiet", "--model", MODEL.toString(), "--target", ALL_CLASSES, "--start",
                PRIOR.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r::toString);
        assertEquals("", r.out());
        assertEveryClassAtLeast(0.9, out, "with the training images as the data prior");
        // what the class looks like to a person, measured without the model: most of the image's ten nearest
        // training images (pixel distance; labels the method never sees) are of its class
        HostTensor x = Npy.read(out);
        float[] examples = Npy.read(PRIOR).data();
        int[] labels = Npy.readInts(PRIOR.resolveSibling("labels.npy"));
        int per = x.shape().size() / 10;
        int[] agree = new int[10];
        for (int c = 0; c < 10; c++) {
            double[] d = new double[labels.length];
            for (int k = 0; k < labels.length; k++) {
                for (int j = 0; j < per; j++) {
                    double v = x.data()[c * per + j] - examples[k * per + j];
                    d[k] += v * v;
                }
            }
            int target = c;
            agree[c] = (int) java.util.stream.IntStream.range(0, labels.length).boxed()
                    .sorted(java.util.Comparator.comparingDouble(k -> d[k])).limit(10)
                    .filter(k -> labels[k] == target).count();
        }
        System.out.println("actmax with the data prior: of the 10 nearest training images, of the target class "
                + Arrays.toString(agree));
        for (int c = 0; c < 10; c++) {
            assertTrue(agree[c] >= 6, "class " + c + ": only " + agree[c] + " of its 10 nearest training images are"
                    + " of that class " + Arrays.toString(agree));
        }
    }

    @Test
    void theSameSeedGivesTheSameImage(@TempDir Path tmp) throws Exception {
        String[] args = {"actmax", "--quiet", "--model", MODEL.toString(), "--target", "3,7", "--steps", "48"};
        Path a = tmp.resolve("a.npy");
        Path b = tmp.resolve("b.npy");
        Path c = tmp.resolve("c.npy");
        assertEquals(0, run(concat(args, "--seed", "11", "--out", a.toString())).code());
        assertEquals(0, run(concat(args, "--seed", "11", "--out", b.toString())).code());
        assertEquals(0, run(concat(args, "--seed", "12", "--out", c.toString())).code());
        assertEquals(-1, Files.mismatch(a, b), "two runs with seed 11 differ");
        assertNotEquals(-1, Files.mismatch(a, c), "seeds 11 and 12 gave the same image");
    }

    @Test
    void aRunInPartsGivesExactlyTheImageOfOneRun() throws Exception {
        try (GlassboxRuntime rt = runtime()) {
            ExplanationService service = rt.service();
            Graph graph = service.loadModel(MODEL);
            HostTensor start = ActivationMaximization.repeat(ActivationMaximization.mean(Npy.read(SAMPLES)), 2);
            Map<String, String> options = Map.of("steps", "40", "seed", "5", "tv", "0.05", "l2", "0.01");
            long[] calls = {0};
            ActivationMaximization.Result whole = ActivationMaximization.run(service, graph, start, new int[] {1, 8},
                    options, null, null, 1, (done, total, objective) -> { });
            ActivationMaximization.Result parts = ActivationMaximization.run(service, graph, start, new int[] {1, 8},
                    options, null, null, 5, (done, total, objective) -> {
                        calls[0]++;
                        assertEquals(40, total);
                    });
            assertArrayEquals(whole.images().data(), parts.images().data());
            assertArrayEquals(whole.objective(), parts.objective());
            assertTrue(calls[0] >= 5);
            assertTrue(whole.probability()[0] > 0.5 && whole.probability()[1] > 0.5, Arrays.toString(whole.probability()));
            // with training images as the prior, whose reading and ranking the parts share
            Map<String, String> fromData = Map.of("steps", "24", "seed", "5", "prior", PRIOR.toString(), "init", "prior");
            ActivationMaximization.Result wholeFromData = ActivationMaximization.run(service, graph, start,
                    new int[] {1, 8}, fromData, null, null, 1, (done, total, objective) -> { });
            ActivationMaximization.Result partsFromData = ActivationMaximization.run(service, graph, start,
                    new int[] {1, 8}, fromData, null, null, 4, (done, total, objective) -> { });
            assertArrayEquals(wholeFromData.images().data(), partsFromData.images().data());
        }
    }

    @Test
    void aNeuronOrAChannelOfANodeExceedsEveryRealExample() throws Exception {
        try (GlassboxRuntime rt = runtime()) {
            ExplanationService service = rt.service();
            Graph graph = service.loadModel(MODEL);
            HostTensor samples = Npy.read(SAMPLES);
            HostTensor zeros = HostTensor.zeros(graph.input().itemShape().withBatch(1));
            for (Map<String, String> options : java.util.List.of(
                    Map.of("node", "/conv2/Conv", "channel", "5", "steps", "64"),
                    Map.of("node", "/fc1/Gemm_output_0", "neuron", "7", "steps", "64"))) {
                ActivationMaximization.Measure m = ActivationMaximization.Measure.of(graph, options).orElseThrow();
                double best = Arrays.stream(m.of(service, samples, new int[10], null)[0]).max().orElseThrow();
                ActivationMaximization.Result r = ActivationMaximization.run(service, graph, zeros, new int[] {0},
                        options, null, null, 1, (done, total, objective) -> { });
                System.out.println("actmax " + r.label() + ": " + r.objective()[0] + ", the samples' largest " + best);
                assertTrue(r.objective()[0] > best, r.label() + ": " + r.objective()[0] + " vs samples' " + best);
            }
        }
    }

    @Test
    void theCommandMaximizesANodesChannel(@TempDir Path tmp) {
        Result r = run("actmax", "--model", MODEL.toString(), "--node", "/conv1/Conv", "--channel", "2", "--steps", "16",
                "--out", tmp.resolve("c.npy").toString());
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().startsWith("0: channel 2 of /conv1/Conv_output_0 "), r::toString);
    }

    @Test
    void badObjectivesAreNamed(@TempDir Path tmp) {
        String out = tmp.resolve("x.npy").toString();
        Result r = run("actmax", "--model", MODEL.toString(), "--node", "nope", "--neuron", "1", "--out", out);
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().strip().startsWith("glassbox: error: no node or value of that name in the model (nodes: ")
                && r.err().strip().endsWith("(--node nope)"), r::toString);
        r = run("actmax", "--model", MODEL.toString(), "--node", "/fc1/Gemm", "--neuron", "64", "--out", out);
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("neuron 64 is out of range") && r.err().contains("(--neuron)"), r::toString);
        r = run("actmax", "--model", MODEL.toString(), "--target", "10", "--out", out);
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("(--target)"), r::toString);
        r = run("actmax", "--model", MODEL.toString(), "--target", "1", "--tv", "-1", "--out", out);
        assertEquals(2, r.code(), r::toString);
        assertTrue(r.err().contains("(--tv)"), r::toString);
        assertFalse(Files.exists(tmp.resolve("x.npy")), "nothing is written when the run fails");
    }

    @Test
    void theDemoShowsAGalleryOfEveryClass(@TempDir Path tmp) throws Exception {
        long t0 = System.nanoTime();
        Result r = run("demo", "--out", tmp.toString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, r.code(), r::toString);
        String html = Files.readString(tmp.resolve("index.html"));
        assertTrue(html.contains("<h2>Activation maximization</h2>") && html.contains("Ankle boot (9)"), html);
        for (int c = 0; c < 10; c++) {
            assertTrue(Files.isRegularFile(tmp.resolve("actmax-" + c + ".png")), "actmax-" + c + ".png");
            assertTrue(Files.isRegularFile(tmp.resolve("actmax-noise-" + c + ".png")), "actmax-noise-" + c + ".png");
        }
        assertFalse(html.contains("actmax-overlay"), "actmax is not a heatmap column");
        assertTrue(r.err().contains("actmax gallery"), r::toString);
        System.out.println("demo with the actmax gallery took " + ms + " ms");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

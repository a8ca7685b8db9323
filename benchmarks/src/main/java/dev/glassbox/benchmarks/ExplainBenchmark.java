package dev.glassbox.benchmarks;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.launcher.GlassboxRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One forward pass ({@code method=forward}) or one explanation per operation, through the real
 * runtime: an embedded Felix started by {@link GlassboxRuntime} from {@code launcher/target/glassbox}
 * and its {@link ExplanationService}, as {@code glassbox bench} does. The input is seeded uniform
 * [0, 1) noise, the target the predicted class. {@link BenchmarkMain} divides each explanation's
 * time by the forward time of the same model, backend and batch.
 *
 * <p>Each parameter combination runs in a JVM of its own (a fork), which also lets every fork
 * load libtorch, which loads once per JVM. System properties: {@code glassbox.repo} (the checkout,
 * default: three directories above this jar or classes directory), {@code glassbox.home} (the
 * runtime, default {@code launcher/target/glassbox} there), {@code glassbox.resnet18} (resnet18 at
 * 224x224, default {@code launcher/target/torchvision/resnet18_224.onnx}, exported there by
 * {@code tools/export_torchvision.py} with {@code torchvision.python}, default /usr/bin/python3,
 * when missing).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class ExplainBenchmark {

    static final String FORWARD = "forward";
    /** {@code lrp-NAME} is {@code lrp --composite NAME}. */
    static final String LRP = "lrp-";

    @Param({"demo", "resnet18"})
    public String model;

    @Param({"java", "djl"})
    public String backend;

    @Param({"1", "16"})
    public int batch;

    @Param({FORWARD, "gradient", "integrated-gradients", "lrp-epsilon", "lrp-zplus", "lrp-epsilon-plus",
            "lrp-epsilon-plus-flat", "lrp-epsilon-gamma-box", "lrp-epsilon-alpha2-beta1",
            "lrp-epsilon-alpha2-beta1-flat"})
    public String method;

    private GlassboxRuntime runtime;
    private ExplanationService service;
    private Graph graph;
    private HostTensor input;
    private ExplanationQuery query;

    @Setup(Level.Trial)
    public void start() throws Exception {
        Path repo = repo();
        Path file = switch (model) {
            case "demo" -> repo.resolve("models/fashion-mnist-cnn.onnx");
            case "resnet18" -> resnet18(repo);
            default -> throw new IllegalArgumentException("unknown model " + model + " (demo, resnet18)");
        };
        Path home = Path.of(System.getProperty("glassbox.home", repo.resolve("launcher/target/glassbox").toString()));
        if (!Files.isDirectory(home.resolve("bundles"))) {
            throw new IllegalStateException("no Glassbox runtime at " + home + ": build it (./mvnw package -pl launcher"
                    + " -am) or set -Dglassbox.home");
        }
        runtime = GlassboxRuntime.builder().home(home.toAbsolutePath()).startTimeout(Duration.ofSeconds(60)).build();
        service = runtime.service();
        BackendInfo info = service.backends().stream().filter(b -> b.id().equals(backend)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no backend " + backend + " in " + service.backends()));
        if (!info.availability().isAvailable()) {
            throw new IllegalStateException("backend " + backend + " is unavailable: " + info.availability());
        }
        graph = service.loadModel(file);
        input = noise(graph, batch);
        if (!method.equals(FORWARD)) {
            ExplanationQuery q = method.startsWith(LRP)
                    ? ExplanationQuery.of("lrp", input).withOptions(Map.of("composite", method.substring(LRP.length())))
                    : ExplanationQuery.of(method, input);
            // resnet18 on java at batch 16 takes many minutes per integrated-gradients call
            query = q.withBackend(backend).withTimeout(Duration.ofHours(2));
        }
    }

    @TearDown(Level.Trial)
    public void stop() {
        if (runtime != null) {
            runtime.close();
        }
    }

    @Benchmark
    public Object run() {
        return query == null ? service.predict(graph, input, backend) : service.explain(graph, query);
    }

    /** {@code glassbox.repo}, else the directory three above this code (benchmarks/target/benchmarks.jar or classes). */
    static Path repo() throws Exception {
        String prop = System.getProperty("glassbox.repo");
        Path repo = prop != null ? Path.of(prop)
                : Path.of(ExplainBenchmark.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                        .getParent().getParent().getParent();
        if (!Files.isDirectory(repo.resolve("models"))) {
            throw new IllegalStateException("no Glassbox checkout at " + repo + " (set -Dglassbox.repo)");
        }
        return repo.toAbsolutePath();
    }

    /** The resnet18 224x224 export, made with tools/export_torchvision.py as TorchvisionIT does when missing. */
    private static Path resnet18(Path repo) throws IOException, InterruptedException {
        String given = System.getProperty("glassbox.resnet18");
        if (given != null) {
            Path file = Path.of(given);
            if (!Files.isRegularFile(file)) {
                throw new IllegalStateException("-Dglassbox.resnet18=" + given + ": no such file");
            }
            return file;
        }
        Path dir = repo.resolve("launcher/target/torchvision");
        Path file = dir.resolve("resnet18_224.onnx");
        if (Files.isRegularFile(file)) {
            return file;
        }
        String python = System.getProperty("torchvision.python", "/usr/bin/python3");
        String script = repo.resolve("tools/export_torchvision.py").toString();
        Process export = new ProcessBuilder(python, script, dir.toString(), "resnet18_224").redirectErrorStream(true)
                .start();
        String log = new String(export.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (export.waitFor() != 0 || !Files.isRegularFile(file)) {
            throw new IllegalStateException("resnet18 224x224 not found at " + file + " and `" + python + " " + script
                    + " " + dir + " resnet18_224` failed (Debian: python3-torchvision); or give one with"
                    + " -Dglassbox.resnet18=FILE:\n" + log);
        }
        return file;
    }

    /** {@code batch} copies of one item of seeded uniform [0, 1) noise, as {@code glassbox bench} makes by default. */
    private static HostTensor noise(Graph graph, int batch) {
        int item = graph.input().itemShape().size();
        Random random = new Random(0);
        float[] one = new float[item];
        for (int i = 0; i < item; i++) {
            one[i] = random.nextFloat();
        }
        float[] all = new float[Math.multiplyExact(batch, item)];
        for (int n = 0; n < batch; n++) {
            System.arraycopy(one, 0, all, n * item, item);
        }
        return HostTensor.wrap(graph.input().itemShape().withBatch(batch), all);
    }
}

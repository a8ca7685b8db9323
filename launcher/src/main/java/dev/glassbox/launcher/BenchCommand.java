package dev.glassbox.launcher;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

@Command(name = "bench", description = {
        "Times one explanation method against the forward pass of the model, in one run: after --warmup rounds,"
                + " --iterations rounds of one forward pass (predict) and one explanation each, alternating, so both"
                + " see the same machine load. Prints the medians and, on the last line of stdout, one JSON object:"
                + " model, backend, method, batch, threads, iterations, forward_ms, explain_ms, ratio"
                + " (explain_ms / forward_ms).",
        "Method options follow as --name value, e.g. --composite epsilon-gamma-box for lrp."})
final class BenchCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "the model (.onnx)")
    Path model;

    @Option(names = "--method", required = true, paramLabel = "ID", description = "explainer id (see glassbox list)")
    String method;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "items per call (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--iterations", paramLabel = "K", defaultValue = "5",
            description = "timed rounds (default ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "1",
            description = "untimed rounds first, for the JIT and the caches (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--input", paramLabel = "X",
            description = "input (.npy or image; its first item is repeated to --batch); default: uniform [0, 1) noise")
    Path input;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seed of the noise input (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    Inputs.ImageOptions image;

    @Unmatched
    List<String> methodWords = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Map<String, String> options = Inputs.methodOptions(methodWords);
        positive(batch, "--batch");
        positive(iterations, "--iterations");
        if (warmup < 0) {
            throw new InvalidOptionException("must be >= 0, got " + warmup, "--warmup");
        }
        existing(model);
        if (input != null) {
            existing(input);
        }
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(model);
            HostTensor x = input(graph);
            ExplanationQuery query = ExplanationQuery.of(method, x).withOptions(options).withBackend(common.backend);
            String backend = null;
            double[] forward = new double[iterations];
            double[] explain = new double[iterations];
            try (ProgressBar bar = new ProgressBar(err(), "bench " + method, terminal() && !common.quiet)) {
                int rounds = warmup + iterations;
                for (int round = 0; round < rounds; round++) {
                    long t0 = System.nanoTime();
                    service.predict(graph, x, common.backend);
                    long t1 = System.nanoTime();
                    Explanation e = service.explain(graph, query);
                    long t2 = System.nanoTime();
                    backend = e.backend();
                    if (round >= warmup) {
                        forward[round - warmup] = (t1 - t0) / 1e6;
                        explain[round - warmup] = (t2 - t1) / 1e6;
                    }
                    bar.progress(round + 1, rounds);
                }
            }
            double forwardMs = median(forward);
            double explainMs = median(explain);
            int threads = common.threads != null ? common.threads : Runtime.getRuntime().availableProcessors();
            if (!common.quiet) {
                out().printf(Locale.ROOT, "%s on %s, batch %d, %d threads: forward %.2f ms, %s %.2f ms (medians of %d),"
                        + " ratio %.2f%n", model.getFileName(), backend, batch, threads, forwardMs, method, explainMs,
                        iterations, explainMs / forwardMs);
            }
            out().println(String.format(Locale.ROOT, "{\"model\":%s,\"backend\":%s,\"method\":%s,\"options\":%s,"
                            + "\"batch\":%d,\"threads\":%d,\"iterations\":%d,\"forward_ms\":%.3f,\"explain_ms\":%.3f,"
                            + "\"ratio\":%.3f}", Json.string(model.getFileName().toString()), Json.string(backend),
                    Json.string(method), Json.object(new TreeMap<>(options)), batch, threads, iterations, forwardMs,
                    explainMs, explainMs / forwardMs));
        }
        return Main.OK;
    }

    /** {@code --batch} copies of the first item of {@code --input}, or seeded noise in [0, 1). */
    private HostTensor input(Graph graph) {
        Shape item = graph.input().itemShape();
        float[] one;
        if (input != null) {
            HostTensor given = Inputs.read(input, graph.input(), image);
            one = Arrays.copyOf(given.data(), item.size());
        } else {
            Random random = new Random(seed);
            one = new float[item.size()];
            for (int i = 0; i < one.length; i++) {
                one[i] = random.nextFloat();
            }
        }
        float[] all = new float[Math.multiplyExact(batch, one.length)];
        for (int n = 0; n < batch; n++) {
            System.arraycopy(one, 0, all, n * one.length, one.length);
        }
        return HostTensor.wrap(item.withBatch(batch), all);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int mid = v.length / 2;
        return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    }

    private static void positive(int value, String option) {
        if (value < 1) {
            throw new InvalidOptionException("must be at least 1, got " + value, option);
        }
    }
}

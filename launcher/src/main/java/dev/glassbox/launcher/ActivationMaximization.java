package dev.glassbox.launcher;

import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs the {@code actmax} explainer for the command line and the demo: builds its request (the
 * start images, one per target), runs it (in parts, when someone watches the objective grow),
 * and measures the objective of the result with plain predictions.
 *
 * <p>The explainer's steps depend only on the image before them and the step number, so a run
 * in parts ({@code --from-step}/{@code --to-step}) gives exactly the image of a run in one
 * request; between parts this class measures the objective for the progress bar.
 */
final class ActivationMaximization {

    static final String METHOD = "actmax";

    private ActivationMaximization() {
    }

    /** What the objective of each item was at the end, and how the run went. */
    record Result(HostTensor images, int[] targets, double[] objective, double[] probability, String label,
                  String backend, Duration elapsed) {
    }

    /** Told after each part: steps done of all, and the objective's mean over the items. */
    @FunctionalInterface
    interface Listener {
        void progress(long done, long total, String objective);
    }

    /** Where the objective is read and what it is; {@code value == null} for class logits. */
    record Measure(Graph graph, String value, String kind, int index) {

        /** The measure the method options name (node, neuron, channel), if the node resolves. */
        static Optional<Measure> of(Graph graph, Map<String, String> options) {
            String node = options.getOrDefault("node", "").trim();
            int neuron = intOr(options.get("neuron"));
            int channel = intOr(options.get("channel"));
            if (neuron < 0 && channel < 0) {
                return node.isEmpty() ? Optional.of(new Measure(graph, null, "logit", -1)) : Optional.empty();
            }
            String value = node.isEmpty() ? graph.logits().output()
                    : graph.node(node).map(Node::output).orElse(graph.producer(node).isPresent() ? node : null);
            if (value == null) {
                return Optional.empty();
            }
            return Optional.of(new Measure(graph, value, neuron >= 0 ? "neuron" : "channel",
                    neuron >= 0 ? neuron : channel));
        }

        /** The objective of each item, and for classes its softmax probability (else null). */
        double[][] of(ExplanationService service, HostTensor images, int[] targets, String backend) {
            int n = images.shape().dim(0);
            double[] objective = new double[n];
            if (value == null) {
                HostTensor logits = service.predict(graph.logits(), images, backend);
                HostTensor p = DemoCommand.softmax(logits);
                int k = logits.shape().size() / n;
                double[] prob = new double[n];
                for (int i = 0; i < n; i++) {
                    objective[i] = logits.data()[i * k + targets[i]];
                    prob[i] = p.data()[i * k + targets[i]];
                }
                return new double[][] {objective, prob};
            }
            HostTensor a = service.predict(upTo(graph, value), images, backend);
            Shape s = a.shape();
            int per = s.size() / n;
            for (int i = 0; i < n; i++) {
                if (kind.equals("neuron")) {
                    objective[i] = index < per ? a.data()[i * per + index] : Double.NaN;
                } else {
                    int plane = s.rank() >= 2 ? per / s.dim(1) : 1;
                    double sum = 0;
                    for (int j = 0; j < plane && (index + 1) * plane <= per; j++) {
                        sum += a.data()[i * per + index * plane + j];
                    }
                    objective[i] = sum / plane;
                }
            }
            return new double[][] {objective, null};
        }

        String describe() {
            return value == null ? "logit" : kind + " " + index + " of " + value;
        }
    }

    /** The graph that stops at {@code value}: the nodes it needs, in order. */
    static Graph upTo(Graph graph, String value) {
        List<Node> kept = new ArrayList<>();
        java.util.Set<String> needed = new java.util.HashSet<>(List.of(value));
        List<Node> nodes = graph.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node node = nodes.get(i);
            if (needed.contains(node.output())) {
                kept.add(0, node);
                needed.addAll(node.inputs());
            }
        }
        return new Graph(graph.name() + ":" + value, graph.inputs(), kept, List.of(value));
    }

    /** The default of one of the installed actmax explainer's options, as text. */
    static String defaultOf(ExplanationService service, String option) {
        ExplainerInfo info = service.explainers().stream().filter(e -> e.id().equals(METHOD)).findFirst()
                .orElseThrow(() -> new dev.glassbox.api.UnsupportedFeatureException("the actmax explainer is not installed"
                        + " (bundle glassbox-explainer-actmax)", "--method " + METHOD));
        return info.options().stream().filter(o -> o.name().equals(option)).map(Option::defaultValue)
                .map(String::valueOf).findFirst().orElse(null);
    }

    /** {@code start} repeated for {@code n} items: the batch {@code [n, ...item]}. */
    static HostTensor repeat(HostTensor item, int n) {
        return HostTensor.stack(java.util.Collections.nCopies(n, item));
    }

    /** The mean over the batch axis of {@code [N, ...]}: one item. */
    static HostTensor mean(HostTensor batch) {
        int n = batch.shape().dim(0);
        int per = batch.shape().size() / n;
        double[] acc = new double[per];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < per; j++) {
                acc[j] += batch.data()[i * per + j];
            }
        }
        float[] out = new float[per];
        for (int j = 0; j < per; j++) {
            out[j] = (float) (acc[j] / n);
        }
        return HostTensor.wrap(batch.shape().withoutBatch(), out);
    }

    /**
     * Runs actmax from {@code start} ({@code [N, ...]}, one item per target) in {@code parts}
     * requests and measures the result.
     *
     * @param target  the class of each item; ignored (but required by the request) for a node's objective
     * @param options the method's options (steps, seed, node, ... as text)
     */
    static Result run(ExplanationService service, Graph graph, HostTensor start, int[] target,
                      Map<String, String> options, String backend, Duration timeout, int parts, Listener listener) {
        int steps = intOr(options.getOrDefault("steps", defaultOf(service, "steps")));
        int n = start.shape().dim(0);
        long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
        Optional<Measure> measure = Measure.of(graph, options);
        long t0 = System.nanoTime();
        HostTensor x = start;
        String backendId = null;
        int[] targets = target;
        Path priorDir = null;
        String[] lastLabel = {""};
        try {
            Map<String, String> base = new LinkedHashMap<>(options);
            // a malformed --steps goes to the explainer in one request, which names it
            int count = steps < 1 ? 1 : Math.min(parts, steps);
            if (count > 1 && !base.containsKey("prior")) {
                // the data prior is the start image: pass it to every part, whose input is the last part's image
                priorDir = Files.createTempDirectory("glassbox-actmax");
                Path prior = priorDir.resolve("start.npy");
                Npy.write(prior, start);
                base.put("prior", prior.toString());
            }
            for (int p = 0; p < count; p++) {
                int from = (int) ((long) steps * p / count);
                int to = (int) ((long) steps * (p + 1) / count);
                Map<String, String> opts = new LinkedHashMap<>(base);
                if (count > 1) {
                    opts.put("from-step", Integer.toString(from));
                    opts.put("to-step", Integer.toString(to));
                }
                int done = from;
                String label = lastLabel[0];
                ExplanationQuery q = ExplanationQuery.of(METHOD, x).withTarget(Target.classes(targets))
                        .withOptions(opts).withBackend(backend)
                        .withTimeout(timeout == null ? null : Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))
                        .withProgress((d, total) -> listener.progress(done + d, steps, label));
                Explanation e = service.explain(graph, q);
                x = e.attribution().reshape(start.shape());
                targets = e.targets();
                backendId = e.backend();
                if (count > 1 && p + 1 < count && measure.isPresent()) {
                    double[][] m = measure.get().of(service, x, targets, backend);
                    lastLabel[0] = summary(measure.get(), m);
                    listener.progress(to, steps, lastLabel[0]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the data prior for a run in parts: " + e.getMessage(), e);
        } finally {
            deleteQuietly(priorDir);
        }
        return finish(service, x, targets, measure, backend, backendId, Duration.ofNanos(System.nanoTime() - t0), n);
    }

    private static Result finish(ExplanationService service, HostTensor x, int[] targets, Optional<Measure> measure,
                                 String backend, String backendId, Duration elapsed, int n) {
        if (measure.isEmpty()) {
            return new Result(x, targets, new double[n], null, "objective", backendId, elapsed);
        }
        double[][] m = measure.get().of(service, x, targets, backend);
        return new Result(x, targets, m[0], m[1], measure.get().describe(), backendId, elapsed);
    }

    /** The objective's mean over the items (and the mean probability, for classes), for a progress label. */
    static String summary(Measure measure, double[][] m) {
        double mean = java.util.Arrays.stream(m[0]).average().orElse(Double.NaN);
        String s = String.format(java.util.Locale.ROOT, "%s %.3f", measure.describe(), mean);
        if (m[1] != null) {
            s += String.format(java.util.Locale.ROOT, ", p %.3f", java.util.Arrays.stream(m[1]).average().orElse(Double.NaN));
        }
        return s;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a temporary file left behind is harmless
        }
    }

    private static int intOr(String text) {
        if (text == null) {
            return -1;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return -1; // the explainer names the bad option
        }
    }
}

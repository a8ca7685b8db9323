package dev.glassbox.launcher;

import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Heatmaps;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

@Command(name = "explain", description = {"Explains the model's decision for an input (a batch is allowed).",
        "Method options follow as --name value, e.g. --steps 64 for integrated-gradients."})
final class ExplainCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "the model (.onnx)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X", description = ".npy (with or without batch axis) or PNG/JPEG")
    Path input;

    @Option(names = "--method", required = true, paramLabel = "ID", description = "explainer id (see glassbox list)")
    String method;

    @Option(names = "--target", paramLabel = "T", defaultValue = "predicted",
            description = "class index, comma list (one per item) or predicted (default)")
    String target;

    @Option(names = "--node", paramLabel = "NAME",
            description = "explain a feature of this node instead of a class: give --neuron or --channel")
    String node;

    @Option(names = "--neuron", paramLabel = "I", description = "with --node: value I of the node's output per item (row-major)")
    Integer neuron;

    @Option(names = "--channel", paramLabel = "C", description = "with --node: the sum of channel C of the node's output")
    Integer channel;

    @Option(names = "--out", required = true, paramLabel = "R.npy", description = "attribution, float32, shaped like the batched input")
    Path out;

    @Option(names = "--png", paramLabel = "H.png", description = "heatmap of item 0; items i > 0 go to H-<i>.png")
    Path png;

    @Option(names = "--per-layer", paramLabel = "DIR",
            description = "what arrived at each layer: one .npy per value and layers.json with per-item sums")
    Path perLayer;

    @Mixin
    Inputs.TimeoutOption timeout;

    @Mixin
    Inputs.ImageOptions image;

    @Unmatched
    List<String> methodWords = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Map<String, String> options = Inputs.methodOptions(methodWords);
        Duration deadline = timeout.duration();
        existing(model);
        existing(input);
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(model);
            HostTensor x = Inputs.read(input, graph.input(), image);
            Target t = node == null && neuron == null && channel == null ? Inputs.target(target, x.shape().dim(0))
                    : featureTarget();
            int itemRank = x.shape().rank() - 1;
            if (png != null && itemRank != 2 && itemRank != 3) {
                throw new dev.glassbox.api.InvalidOptionException("a heatmap needs inputs shaped [C, H, W] or [H, W], the"
                        + " model's are " + x.shape().withoutBatch(), "--png");
            }
            Explanation e;
            try (ProgressBar bar = new ProgressBar(err(), method, terminal() && !common.quiet)) {
                ExplanationQuery q = ExplanationQuery.of(method, x).withTarget(t).withOptions(options)
                        .withBackend(common.backend).withProgress(bar).withPerLayer(perLayer != null)
                        .withTimeout(deadline);
                e = service.explain(graph, q);
            }
            writeNpy(out, e.attribution().reshape(x.shape()));
            if (png != null) {
                writeHeatmaps(png, e.attribution().reshape(x.shape()));
            }
            if (perLayer != null) {
                writePerLayer(perLayer, graph, e);
            }
            if (!common.quiet) {
                out().printf("%s on %s: targets %s, %d ms -> %s%n", e.method(), e.backend(),
                        Arrays.toString(e.targets()), e.elapsed().toMillis(), out);
            }
        }
        return Main.OK;
    }

    /** {@code --node} with exactly one of {@code --neuron} and {@code --channel}, and no {@code --target}. */
    private Target featureTarget() {
        if (node == null) {
            throw new dev.glassbox.api.InvalidOptionException("needs --node NAME", neuron != null ? "--neuron" : "--channel");
        }
        if ((neuron == null) == (channel == null)) {
            throw new dev.glassbox.api.InvalidOptionException("give exactly one of --neuron and --channel", "--node");
        }
        if (!target.equals("predicted")) {
            throw new dev.glassbox.api.InvalidOptionException("--target explains a class; --node explains a feature", "--target");
        }
        int index = neuron != null ? neuron : channel;
        if (index < 0) {
            throw new dev.glassbox.api.InvalidOptionException("must be >= 0, got " + index,
                    neuron != null ? "--neuron" : "--channel");
        }
        return neuron != null ? new Target.Neuron(node, neuron) : new Target.Channel(node, channel);
    }

    /**
     * {@code NN-<value>.npy} for every value the backward walk reached (from the output down to
     * the input) and {@code layers.json} with each one's node, op, shape and per-item sum, so
     * users see where relevance is conserved and where biases or stabilizers absorb it.
     */
    static void writePerLayer(Path dir, Graph graph, Explanation e) {
        writing(dir, () -> java.nio.file.Files.createDirectories(dir));
        StringBuilder json = new StringBuilder("{\"method\": \"").append(e.method()).append("\", \"targets\": ")
                .append(Arrays.toString(e.targets())).append(", \"layers\": [");
        int index = 0;
        for (Map.Entry<String, HostTensor> layer : e.perLayer().entrySet()) {
            String value = layer.getKey();
            HostTensor t = layer.getValue();
            String file = String.format("%02d-%s.npy", index, value.replaceAll("[^A-Za-z0-9._-]", "_"));
            writeNpy(dir.resolve(file), t);
            int n = t.shape().dim(0);
            int per = t.shape().size() / n;
            double[] sums = new double[n];
            for (int i = 0; i < t.data().length; i++) {
                sums[i / per] += t.data()[i];
            }
            var node = graph.producer(value);
            json.append(index == 0 ? "\n  " : ",\n  ")
                    .append("{\"value\": ").append(Json.string(value)).append(", \"node\": ")
                    .append(node.map(nd -> Json.string(nd.name())).orElse("null"))
                    .append(", \"op\": \"").append(node.map(nd -> nd.op().type()).orElse(
                            graph.inputs().stream().anyMatch(in -> in.name().equals(value)) ? "input" : "target"))
                    .append("\", \"shape\": ").append(Arrays.toString(t.shape().dims()))
                    .append(", \"file\": \"").append(file).append("\", \"sum\": ").append(Arrays.toString(sums))
                    .append('}');
            index++;
        }
        json.append("\n]}\n");
        Path summary = dir.resolve("layers.json");
        writing(summary, () -> dev.glassbox.io.AtomicFiles.write(summary,
                json.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** H.png for item 0, H-<i>.png for the others. */
    static void writeHeatmaps(Path png, HostTensor attribution) {
        int n = attribution.shape().dim(0);
        String name = png.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : ".png";
        for (int i = 0; i < n; i++) {
            Path file = i == 0 ? png : png.resolveSibling(stem + "-" + i + ext);
            HostTensor item = attribution.item(i);
            writing(file, () -> Heatmaps.writePng(Heatmaps.render(item), file));
        }
    }
}

package dev.glassbox.launcher;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

@Command(name = "actmax", description = {
        "Activation maximization: the input that maximizes a class logit (--target), or a neuron or channel of a node.",
        "Starts from noise, from zeros, or from real examples (--start FILE): from a .npy of examples, each image starts"
                + " at the mean of the --prior-top examples that score highest on its objective, steps along their"
                + " covariance, and --data-weight pulls it back to that mean.",
        "Other options of the actmax method follow as --name value (see glassbox list): --step-size, --noise, --l2,"
                + " --tv, --jitter, --zoom, --views, --blur-every, --blur, --clip, --low, --high, --decorrelate,"
                + " --data-weight, --prior-top, --covariance, --objective."})
final class ActmaxCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "the model (.onnx)")
    Path model;

    @Option(names = "--target", paramLabel = "N", description = "class index, or a comma list: one image per class")
    String target;

    @Option(names = "--node", paramLabel = "NAME", description = "node (or value) whose --neuron or --channel is maximized")
    String node;

    @Option(names = "--neuron", paramLabel = "I", description = "neuron of --node (flat index within one item)")
    Integer neuron;

    @Option(names = "--channel", paramLabel = "C", description = "channel of --node (axis 1) whose mean is maximized")
    Integer channel;

    @Option(names = "--steps", paramLabel = "K", description = "gradient ascent steps (default: the method's, 256)")
    Integer steps;

    @Option(names = "--seed", paramLabel = "S", description = "random seed (default 0): the same seed gives the same image")
    Integer seed;

    @Option(names = "--start", paramLabel = "noise|zero|FILE", defaultValue = "noise",
            description = "start image: zeros plus the method's --noise (default), exact zeros, or real examples in FILE:"
                    + " a .npy batch (the data prior: each image starts at the mean of the examples that score highest"
                    + " on its objective) or an image (the start and the prior)")
    String start;

    @Option(names = "--out", required = true, paramLabel = "X.npy", description = "the images, float32 [N, ...input item]")
    Path out;

    @Option(names = "--png", paramLabel = "P.png", description = "picture of item 0; items i > 0 go to P-<i>.png")
    Path png;

    @Mixin
    Inputs.TimeoutOption timeout;

    @Mixin
    Inputs.ImageOptions image;

    @Unmatched
    List<String> methodWords = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Map<String, String> options = new LinkedHashMap<>(Inputs.methodOptions(methodWords));
        checkObjective();
        Duration deadline = timeout.duration();
        if (steps != null) {
            options.put("steps", Integer.toString(steps));
        }
        if (seed != null) {
            options.put("seed", Integer.toString(seed));
        }
        if (node != null) {
            options.put("node", node);
        }
        if (neuron != null) {
            options.put("neuron", Integer.toString(neuron));
        }
        if (channel != null) {
            options.put("channel", Integer.toString(channel));
        }
        String startKind = start.trim();
        if (startKind.equals("zero")) {
            options.putIfAbsent("noise", "0");
        } else if (!startKind.equals("noise")) {
            Path file = existing(Path.of(startKind));
            if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
                options.putIfAbsent("prior", file.toAbsolutePath().toString());
                options.putIfAbsent("init", "prior");
            }
        }
        existing(model);
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(model);
            Shape item = graph.input().itemShape();
            int[] targets = target == null ? new int[] {0} : targets(target);
            HostTensor first = startKind.equals("noise") || startKind.equals("zero") ? HostTensor.zeros(item)
                    : ActivationMaximization.mean(Inputs.read(Path.of(startKind), graph.input(), image));
            HostTensor x0 = ActivationMaximization.repeat(first, targets.length);
            if (png != null && !(item.rank() == 2 || (item.rank() == 3 && (item.dim(0) == 1 || item.dim(0) == 3)))) {
                throw new InvalidOptionException("a picture needs inputs shaped [1|3, H, W] or [H, W], the model's are "
                        + item, "--png");
            }
            int total = steps != null ? steps
                    : Integer.parseInt(ActivationMaximization.defaultOf(service, "steps"));
            boolean bar = terminal() && !common.quiet;
            // parts only to show the objective as it grows: the image is the same either way
            int parts = bar ? Math.min(16, Math.max(1, total / 8)) : 1;
            ActivationMaximization.Result r;
            ProgressBar[] current = {null};
            String[] shown = {null};
            try {
                r = ActivationMaximization.run(service, graph, x0, targets, options, common.backend,
                        deadline, parts,
                        (done, all, objective) -> {
                            if (!objective.equals(shown[0])) {
                                if (current[0] != null) {
                                    current[0].close();
                                }
                                shown[0] = objective;
                                current[0] = new ProgressBar(err(), objective.isEmpty() ? "actmax"
                                        : "actmax (" + objective + ")", bar);
                            }
                            current[0].progress(done, all);
                        });
            } finally {
                if (current[0] != null) {
                    current[0].close();
                }
            }
            writeNpy(out, r.images());
            if (png != null) {
                writePictures(png, r.images());
            }
            if (!common.quiet) {
                for (int i = 0; i < targets.length; i++) {
                    String what = target == null ? r.label() : "class " + r.targets()[i] + " logit";
                    out().printf(Locale.ROOT, "%d: %s %.4f%s%n", i, what, r.objective()[i],
                            r.probability() == null ? "" : String.format(Locale.ROOT, ", softmax p %.4f",
                                    r.probability()[i]));
                }
                out().printf("actmax on %s: %d steps, %d ms -> %s%n", r.backend(), total, r.elapsed().toMillis(), out);
            }
        }
        return Main.OK;
    }

    /** A class target, or a node with a neuron or a channel: exactly one kind of objective. */
    private void checkObjective() {
        if (neuron != null && channel != null) {
            throw new InvalidOptionException("give --neuron or --channel, not both", "--channel");
        }
        boolean unit = neuron != null || channel != null;
        if (target != null && unit) {
            throw new InvalidOptionException("--target names a class logit; a neuron or channel needs no target",
                    "--target");
        }
        if (node != null && !unit) {
            throw new InvalidOptionException("a node's objective needs --neuron I or --channel C", "--node");
        }
        if (target == null && !unit) {
            throw new InvalidOptionException("give --target N (a class), or --node NAME with --neuron I or --channel C",
                    "--target");
        }
    }

    /** One class index or a comma list, none negative. */
    static int[] targets(String text) {
        String[] parts = text.split(",", -1);
        if (!(Inputs.target(text, parts.length) instanceof dev.glassbox.api.explain.Target.Classes c)) {
            throw new InvalidOptionException("expected a class index or a comma list of them, got '" + text + "'",
                    "--target");
        }
        return c.indices();
    }

    /** P.png for item 0, P-<i>.png for the others. */
    static void writePictures(Path png, HostTensor images) {
        int n = images.shape().dim(0);
        String name = png.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String ext = dot > 0 ? name.substring(dot) : ".png";
        for (int i = 0; i < n; i++) {
            Path file = i == 0 ? png : png.resolveSibling(stem + "-" + i + ext);
            HostTensor item = images.item(i);
            writing(file, () -> dev.glassbox.io.Heatmaps.writePng(Pictures.render(item), file));
        }
    }
}

package dev.glassbox.launcher;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.AtomicFiles;
import dev.glassbox.io.Heatmaps;
import java.awt.Color;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

@Command(name = "evaluate", description = {
        "Evaluates an explanation method by pixel flipping: removes input features (sets them to a baseline) in order"
                + " of decreasing relevance, step by step, and records the target logit after each step; the same in"
                + " random orders. Prints one JSON line with the curves (mean target logit after each step, the"
                + " unperturbed input first) and their AOPC (area over the perturbation curve: higher is better);"
                + " writes it and a PNG plot to --out DIR.",
        "Method options follow as --name value, e.g. --composite epsilon-plus-flat for lrp."})
final class EvaluateCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "the model (.onnx)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X", description = ".npy (with or without batch axis) or PNG/JPEG")
    Path input;

    @Option(names = "--method", required = true, paramLabel = "ID", description = "explainer id (see glassbox list)")
    String method;

    @Option(names = "--target", paramLabel = "T", defaultValue = "predicted",
            description = "class index, comma list (one per item) or predicted (default)")
    String target;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "writes evaluate-<method>.json and evaluate-<method>.png there")
    Path outDir;

    @Option(names = "--flip-steps", paramLabel = "K", defaultValue = "20",
            description = "removal steps after the unperturbed input (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--fraction", paramLabel = "F", defaultValue = "1",
            description = "fraction of all features removed by the last step (default ${DEFAULT-VALUE})")
    double fraction;

    @Option(names = "--patch", paramLabel = "P", defaultValue = "1",
            description = "region flipping: remove P x P regions, ranked by their summed relevance (default ${DEFAULT-VALUE}: pixels)")
    int patch;

    @Option(names = "--flip-baseline", paramLabel = "zero|mean|V", defaultValue = "zero",
            description = "what removed features become: zero (default), each item's mean per channel, or a number")
    String baseline;

    @Option(names = "--random-orders", paramLabel = "R", defaultValue = "5",
            description = "random orders (seeds S, S+1, ...) averaged for the random baseline (default ${DEFAULT-VALUE})")
    int orders;

    @Option(names = "--random-seed", paramLabel = "S", defaultValue = "0",
            description = "first seed of the random orders (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    Inputs.TimeoutOption timeout;

    @Mixin
    Inputs.ImageOptions image;

    @Unmatched
    List<String> methodWords = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Map<String, String> options = Inputs.methodOptions(methodWords);
        PixelFlipping.Settings settings = new PixelFlipping.Settings(steps, patch, fraction, baseline, orders, seed);
        Duration deadline = timeout.duration();
        if (method.equals(ActivationMaximization.METHOD)) {
            throw new InvalidOptionException("actmax makes images, not relevance: it cannot be evaluated by pixel flipping",
                    "--method");
        }
        existing(model);
        existing(input);
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new dev.glassbox.api.InvalidInputException("not a directory", outDir.toString());
        }
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(model);
            HostTensor x = Inputs.read(input, graph.input(), image);
            Target t = Inputs.target(target, x.shape().dim(0));
            Explanation e;
            boolean bar = terminal() && !common.quiet;
            try (ProgressBar p = new ProgressBar(err(), method, bar)) {
                e = service.explain(graph, ExplanationQuery.of(method, x).withTarget(t).withOptions(options)
                        .withBackend(common.backend).withProgress(p)
                        .withTimeout(deadline));
            }
            Graph logits = graph.logits();
            PixelFlipping.Result r;
            try (ProgressBar p = new ProgressBar(err(), "pixel flipping", bar)) {
                r = PixelFlipping.run(b -> service.predict(logits, b, common.backend), x,
                        e.attribution().reshape(x.shape()), e.targets(), settings, p);
            }
            String json = PixelFlipping.json(model.toString(), e.method(), r, settings);
            String stem = "evaluate-" + e.method().replaceAll("[^A-Za-z0-9._-]", "_");
            writing(outDir, () -> Files.createDirectories(outDir));
            Path jsonFile = outDir.resolve(stem + ".json");
            Path pngFile = outDir.resolve(stem + ".png");
            writing(jsonFile, () -> AtomicFiles.write(jsonFile, (json + "\n").getBytes(StandardCharsets.UTF_8)));
            String modelName = model.getFileName() == null ? model.toString() : model.getFileName().toString();
            writing(pngFile, () -> Heatmaps.writePng(plot(e.method(), modelName, r, settings), pngFile));
            if (!common.quiet) {
                err().printf(Locale.ROOT, "evaluate: %s on %s, %d inputs: AOPC %.4f (random %.4f) -> %s%n", e.method(),
                        e.backend(), r.inputs(), r.aopc(), r.aopcRandom(), pngFile);
            }
            out().println(json);
        }
        return Main.OK;
    }

    /** The method's curve against the random orders' (each seed faint, their mean bold). */
    static java.awt.image.BufferedImage plot(String method, String model, PixelFlipping.Result r,
                                             PixelFlipping.Settings s) {
        double[] xs = new double[r.steps() + 1];
        for (int k = 0; k <= r.steps(); k++) {
            xs[k] = r.removed()[k] / (double) r.features();
        }
        List<CurvePlot.Series> series = new ArrayList<>();
        for (double[] c : r.curvesRandom()) {
            series.add(new CurvePlot.Series(null, c, new Color(0xC8C8C8), 1f));
        }
        series.add(new CurvePlot.Series(String.format(Locale.ROOT, "random order (%d seeds), AOPC %.3f", s.orders(),
                r.aopcRandom()), r.curveRandom(), new Color(0x707070), 2.5f));
        series.add(new CurvePlot.Series(String.format(Locale.ROOT, "%s, AOPC %.3f", method, r.aopc()), r.curve(),
                new Color(0xD62728), 2.5f));
        String unit = s.patch() == 1 ? "pixels" : s.patch() + "x" + s.patch() + " regions";
        return CurvePlot.render(String.format(Locale.ROOT, "Pixel flipping: %s on %s (%d inputs)", method, model,
                        r.inputs()),
                "fraction of " + unit + " removed (set to " + s.baseline() + ")", "mean target logit", xs, series);
    }
}

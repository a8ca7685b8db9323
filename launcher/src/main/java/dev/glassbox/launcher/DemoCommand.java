package dev.glassbox.launcher;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.AtomicFiles;
import dev.glassbox.io.Heatmaps;
import dev.glassbox.io.Images;
import dev.glassbox.io.Npy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Explains the shipped Fashion-MNIST samples with every installed method and writes an
 * {@code index.html} that shows input, prediction and heatmaps side by side.
 */
@Command(name = "demo", description = {"Explains the shipped Fashion-MNIST samples with every installed method.",
        "Writes input, heatmap and overlay PNGs and an index.html that shows them side by side."})
final class DemoCommand extends BaseCommand {

    private static final String MODEL = "fashion-mnist-cnn";
    private static final double OVERLAY_ALPHA = 0.8;
    /** Real training images, the data prior of the actmax gallery. */
    static final String PRIOR = "prior/fashion-mnist-train-2000.npy";

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "demo-out", description = "output directory (default ${DEFAULT-VALUE})")
    Path outDir;

    /** One sample: its file stem, true class and input item {@code [1, 28, 28]}. */
    private record Sample(String name, int label, HostTensor input) {
    }

    /** One method's result: an error message or the attribution of the batch. */
    private record Column(String id, String description, HostTensor attribution, String error, long millis) {
    }

    @Override
    public Integer call() throws Exception {
        Path models = Main.repo().resolve("models");
        Path modelFile = existing(models.resolve(MODEL + ".onnx"));
        Path meta = models.resolve(MODEL + ".json");
        List<String> classes = Files.isRegularFile(meta) ? classNames(Files.readString(meta)) : List.of();
        String accuracy = Files.isRegularFile(meta) ? number(Files.readString(meta), "test_accuracy") : null;
        Files.createDirectories(outDir);

        long t0 = System.nanoTime();
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(modelFile);
            List<Sample> samples = samples(models.resolve("samples"), graph.input().itemShape());
            HostTensor batch = HostTensor.stack(samples.stream().map(Sample::input).toList());
            HostTensor probs = softmax(service.predict(graph.logits(), batch, common.backend));
            int[] predicted = Inputs.argmax(probs);

            for (int i = 0; i < samples.size(); i++) {
                HostTensor x = samples.get(i).input();
                // alpha 0: the overlay is just the input, upscaled like the heatmaps
                png(Heatmaps.overlay(x, HostTensor.zeros(x.shape()), 0), "input-" + samples.get(i).name());
            }
            png(Heatmaps.colorbar(224, 12), "colorbar");

            // actmax makes images rather than heatmaps: it has its own gallery below
            List<ExplainerInfo> explainers = service.explainers().stream()
                    .filter(e -> !e.id().equals(ActivationMaximization.METHOD)).toList();
            List<Column> columns = new ArrayList<>();
            for (int m = 0; m < explainers.size(); m++) {
                ExplainerInfo info = explainers.get(m);
                columns.add(explain(service, graph, batch, info));
                Column c = columns.getLast();
                if (!common.quiet) {
                    err().printf("demo: [%d/%d] %-22s %s%n", m + 1, explainers.size(), info.id(),
                            c.error() == null ? c.millis() + " ms" : "failed: " + c.error());
                }
                if (c.attribution() != null) {
                    for (int i = 0; i < samples.size(); i++) {
                        HostTensor r = c.attribution().item(i);
                        String name = samples.get(i).name();
                        png(Heatmaps.render(r), c.id() + "-" + name);
                        png(Heatmaps.overlay(samples.get(i).input(), r, OVERLAY_ALPHA), c.id() + "-overlay-" + name);
                    }
                }
            }
            String gallery = "";
            if (service.explainers().stream().anyMatch(e -> e.id().equals(ActivationMaximization.METHOD))) {
                gallery = ActmaxGallery.html(ActmaxGallery.make(service, graph, existing(models.resolve(PRIOR)),
                        outDir, common.backend,
                        line -> {
                            if (!common.quiet) {
                                err().println("demo: " + line);
                            }
                        }), classes);
            }
            Path index = outDir.resolve("index.html");
            String html = html(MODEL, accuracy, classes, samples, probs, predicted, columns, gallery);
            AtomicFiles.write(index, html.getBytes(StandardCharsets.UTF_8));
            if (!common.quiet) {
                err().printf("demo: %d samples x %d methods in %d ms%n", samples.size(), columns.size(),
                        (System.nanoTime() - t0) / 1_000_000);
            }
            out().println(index.toAbsolutePath().normalize());
        }
        return Main.OK;
    }

    private Column explain(ExplanationService service, Graph graph, HostTensor batch, ExplainerInfo info) {
        try {
            ExplanationQuery q = ExplanationQuery.of(info.id(), batch).withBackend(common.backend);
            Explanation e = service.explain(graph, q);
            return new Column(info.id(), info.description(), e.attribution().reshape(batch.shape()), null,
                    e.elapsed().toMillis());
        } catch (RuntimeException ex) {
            // one failing method leaves its column empty; the demo still shows the others
            var g = Main.glassboxCause(ex);
            return new Column(info.id(), info.description(), null, g != null ? g.describe() : ex.toString(), 0);
        }
    }

    /** The sample PNGs in name order, with labels.npy (or the file name's number) as truth. */
    private static List<Sample> samples(Path dir, Shape item) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException("no samples directory", dir.toString());
        }
        List<Path> pngs;
        try (Stream<Path> files = Files.list(dir)) {
            pngs = files.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")).sorted().toList();
        }
        if (pngs.isEmpty()) {
            throw new InvalidInputException("no sample PNGs", dir.toString());
        }
        Path labelFile = dir.resolve("labels.npy");
        int[] labels = Files.isRegularFile(labelFile) ? Npy.readInts(labelFile) : new int[0];
        Images.Options opts = new Images.Options(item.dim(0), item.dim(1), item.dim(2), 1, new double[] {0},
                new double[] {1});
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < pngs.size(); i++) {
            String stem = pngs.get(i).getFileName().toString().replaceFirst("\\.[^.]+$", "");
            int label = labels.length == pngs.size() ? labels[i] : leadingNumber(stem);
            out.add(new Sample(stem, label, Images.read(pngs.get(i), opts)));
        }
        return out;
    }

    private void png(java.awt.image.BufferedImage image, String name) throws IOException {
        Heatmaps.writePng(image, outDir.resolve(name + ".png"));
    }

    /** Row-wise softmax of {@code [N, K]} logits, computed stably. */
    static HostTensor softmax(HostTensor logits) {
        int n = logits.shape().dim(0);
        int k = logits.shape().size() / n;
        float[] in = logits.data();
        float[] out = new float[in.length];
        for (int i = 0; i < n; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, in[i * k + j]);
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(in[i * k + j] - max);
            }
            for (int j = 0; j < k; j++) {
                out[i * k + j] = (float) (Math.exp(in[i * k + j] - max) / sum);
            }
        }
        return HostTensor.wrap(logits.shape(), out);
    }

    private static String html(String model, String accuracy, List<String> classes, List<Sample> samples,
                               HostTensor probs, int[] predicted, List<Column> columns, String gallery) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Glassbox demo: ")
                .append(esc(model)).append("</title>\n<style>\n")
                .append("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}")
                .append("th,td{border:1px solid #ddd;padding:4px;text-align:center;vertical-align:middle}")
                .append("img{width:112px;height:112px;image-rendering:pixelated;display:block;margin:2px auto}")
                .append(".bar{width:224px;height:12px}.ok{color:#070}.bad{color:#b00}.err{color:#b00;font-size:small}")
                .append("\n</style></head><body>\n");
        h.append("<h1>Glassbox: ").append(esc(model)).append("</h1>\n<p>");
        if (accuracy != null) {
            h.append("Test accuracy ").append(String.format(Locale.ROOT, "%.2f%%", Double.parseDouble(accuracy) * 100))
                    .append(". ");
        }
        h.append("Each method explains the predicted class; heatmap above, overlay on the input below. ")
                .append("Red: evidence for the class, blue: against.</p>\n")
                .append("<p><img class=\"bar\" src=\"colorbar.png\" alt=\"colormap\"> negative &larr; 0 &rarr; positive</p>\n");
        h.append("<table>\n<tr><th>input</th><th>true</th><th>predicted</th>");
        for (Column c : columns) {
            h.append("<th title=\"").append(esc(c.description())).append("\">").append(esc(c.id())).append("</th>");
        }
        h.append("</tr>\n");
        int k = probs.shape().dim(1);
        for (int i = 0; i < samples.size(); i++) {
            Sample s = samples.get(i);
            int p = predicted[i];
            h.append("<tr><td><img src=\"input-").append(esc(s.name())).append(".png\" alt=\"input\"></td>")
                    .append("<td>").append(esc(label(classes, s.label()))).append("</td>")
                    .append("<td class=\"").append(p == s.label() ? "ok" : "bad").append("\">")
                    .append(esc(label(classes, p)))
                    .append(String.format(Locale.ROOT, "<br>%.1f%%", probs.data()[i * k + p] * 100.0)).append("</td>");
            for (Column c : columns) {
                h.append("<td>");
                if (c.error() != null) {
                    h.append("<span class=\"err\">").append(esc(c.error())).append("</span>");
                } else {
                    String stem = esc(c.id()) + "-";
                    h.append("<img src=\"").append(stem).append(esc(s.name())).append(".png\" alt=\"heatmap\">")
                            .append("<img src=\"").append(stem).append("overlay-").append(esc(s.name()))
                            .append(".png\" alt=\"overlay\">");
                }
                h.append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n").append(gallery).append("<p>Made by <code>glassbox demo</code>.</p>\n</body></html>\n");
        return h.toString();
    }

    private static String label(List<String> classes, int c) {
        return c >= 0 && c < classes.size() ? classes.get(c) + " (" + c + ")" : "class " + c;
    }

    private static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** The strings of the {@code "classes"} array of the model's json (no JSON library needed for this). */
    static List<String> classNames(String json) {
        Matcher m = Pattern.compile("\"classes\"\\s*:\\s*\\[(.*?)]", Pattern.DOTALL).matcher(json);
        if (!m.find()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        Matcher s = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(m.group(1));
        while (s.find()) {
            out.add(s.group(1).replace("\\\"", "\"").replace("\\\\", "\\"));
        }
        return out;
    }

    static String number(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*([-+0-9.eE]+)").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    private static int leadingNumber(String stem) {
        Matcher m = Pattern.compile("^(\\d+)").matcher(stem);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }
}

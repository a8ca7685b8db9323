package dev.glassbox.launcher;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Heatmaps;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The demo's activation maximization gallery: for every class of the model, the image the
 * {@code actmax} explainer makes with its default settings, once from the mean of the demo's
 * real examples (which is then also the data prior) and once from noise.
 */
final class ActmaxGallery {

    /** One row of the gallery: how it started, and the images with the probability of their class. */
    record Row(String title, String file, HostTensor images, double[] probability, long millis) {
    }

    private ActmaxGallery() {
    }

    /**
     * Makes both rows and writes {@code <file>-<class>.png} into {@code dir}.
     *
     * @param examples the real examples {@code [N, ...item]} whose mean starts the first row
     */
    static List<Row> make(ExplanationService service, Graph graph, HostTensor examples, Path dir, String backend,
                          Consumer<String> log) throws IOException {
        int classes = service.predict(graph.logits(), examples, backend).shape().dim(1);
        int[] targets = new int[classes];
        for (int c = 0; c < classes; c++) {
            targets[c] = c;
        }
        HostTensor mean = ActivationMaximization.repeat(ActivationMaximization.mean(examples), classes);
        HostTensor zeros = HostTensor.zeros(mean.shape());
        Row prior = row(service, graph, "from the mean of the samples, which is also the data prior", "actmax",
                mean, targets, backend, dir);
        log.accept(String.format(Locale.ROOT, "actmax gallery from the samples' mean: %d classes in %d ms", classes,
                prior.millis()));
        Row noise = row(service, graph, "from noise", "actmax-noise", zeros, targets, backend, dir);
        log.accept(String.format(Locale.ROOT, "actmax gallery from noise: %d classes in %d ms", classes,
                noise.millis()));
        return List.of(prior, noise);
    }

    private static Row row(ExplanationService service, Graph graph, String title, String file, HostTensor start,
                           int[] targets, String backend, Path dir) throws IOException {
        ActivationMaximization.Result r = ActivationMaximization.run(service, graph, start, targets, Map.of(), backend,
                null, 1, (done, total, objective) -> { });
        for (int c = 0; c < targets.length; c++) {
            Heatmaps.writePng(Pictures.render(r.images().item(c)), dir.resolve(file + "-" + c + ".png"));
        }
        return new Row(title, file, r.images(), r.probability(), r.elapsed().toMillis());
    }

    /** The gallery as a section of the demo page. */
    static String html(List<Row> rows, List<String> classNames) {
        StringBuilder h = new StringBuilder("<h2>Activation maximization</h2>\n<p>")
                .append("For each class, the input that maximizes its logit, by gradient ascent with the default settings")
                .append(" of <code>glassbox actmax</code> (jitter, zoom, blur, a decorrelated Fourier parameterization,")
                .append(" clipping to [0, 1], and a pull back to the start image). Under each image: the probability")
                .append(" the model gives the class.</p>\n<table>\n<tr><th></th>");
        int classes = rows.get(0).probability().length;
        for (int c = 0; c < classes; c++) {
            h.append("<th>").append(esc(c < classNames.size() ? classNames.get(c) + " (" + c + ")" : "class " + c))
                    .append("</th>");
        }
        h.append("</tr>\n");
        for (Row r : rows) {
            h.append("<tr><th>").append(esc(r.title())).append("</th>");
            for (int c = 0; c < classes; c++) {
                h.append("<td><img src=\"").append(esc(r.file())).append('-').append(c).append(".png\" alt=\"class ")
                        .append(c).append("\">")
                        .append(String.format(Locale.ROOT, "p %.3f", r.probability()[c])).append("</td>");
            }
            h.append("</tr>\n");
        }
        return h.append("</table>\n").toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

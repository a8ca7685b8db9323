package dev.glassbox.launcher;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.io.Heatmaps;
import dev.glassbox.io.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The demo's activation maximization gallery: for every class of the model, the image the
 * {@code actmax} explainer makes with its default settings, once with real training examples as
 * the data prior (as {@code glassbox actmax --start FILE.npy} does) and once from noise without one.
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
     * @param examples a .npy of real examples {@code [N, ...item]}: the first row's data prior
     */
    static List<Row> make(ExplanationService service, Graph graph, Path examples, Path dir, String backend,
                          Consumer<String> log) throws IOException {
        HostTensor data = Npy.read(examples);
        HostTensor dataMean = ActivationMaximization.mean(data);
        int classes = service.predict(graph.logits(), ActivationMaximization.repeat(dataMean, 1), backend).shape().dim(1);
        int[] targets = new int[classes];
        for (int c = 0; c < classes; c++) {
            targets[c] = c;
        }
        HostTensor mean = ActivationMaximization.repeat(dataMean, classes);
        Row prior = row(service, graph, "with " + data.shape().dim(0) + " training images as the data prior",
                "actmax", mean, Map.of("prior", examples.toAbsolutePath().toString(), "init", "prior"), targets,
                backend, dir);
        log.accept(String.format(Locale.ROOT, "actmax gallery with the data prior: %d classes in %d ms", classes,
                prior.millis()));
        Row noise = row(service, graph, "from noise, without a data prior", "actmax-noise",
                HostTensor.zeros(mean.shape()), Map.of(), targets, backend, dir);
        log.accept(String.format(Locale.ROOT, "actmax gallery from noise: %d classes in %d ms", classes,
                noise.millis()));
        return List.of(prior, noise);
    }

    private static Row row(ExplanationService service, Graph graph, String title, String file, HostTensor start,
                           Map<String, String> options, int[] targets, String backend, Path dir) throws IOException {
        ActivationMaximization.Result r = ActivationMaximization.run(service, graph, start, targets, options, backend,
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
                .append(" of <code>glassbox actmax</code>: jitter, zoom, blur and clipping to [0, 1]. In the first row")
                .append(" each image starts at the mean of the training images the model scores highest for the class,")
                .append(" steps along their covariance and is pulled back to that mean (<code>--start FILE.npy</code>);")
                .append(" the second starts from noise and steps in a decorrelated Fourier parameterization, with")
                .append(" nothing that knows what real images look like. Under each image: the probability the model")
                .append(" gives the class.</p>\n<table>\n<tr><th></th>");
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

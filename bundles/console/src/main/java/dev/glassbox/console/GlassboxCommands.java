package dev.glassbox.console;

import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Gogo commands for admins: {@code glassbox:explainers}, {@code glassbox:backends},
 * {@code glassbox:formats}, {@code glassbox:explain MODEL INPUT.npy METHOD} and {@code exit}. Bundle life
 * cycle ({@code lb}, {@code install}, {@code uninstall}, ...) comes from gogo.command.
 */
@Component(service = Object.class, property = {
        "osgi.command.scope=glassbox",
        "osgi.command.function=explainers",
        "osgi.command.function=backends",
        "osgi.command.function=formats",
        "osgi.command.function=explain",
        "osgi.command.function=exit"})
public final class GlassboxCommands {

    private static final int TOP = 5;

    private final ExplanationService service;
    private final BundleContext context;

    @Activate
    public GlassboxCommands(BundleContext context, @Reference ExplanationService service) {
        this.context = context;
        this.service = service;
    }

    /** {@code exit} with no status (gosh's own {@code exit} needs one): stops the runtime. */
    public void exit() throws BundleException {
        context.getBundle(Constants.SYSTEM_BUNDLE_ID).stop();
    }

    /** The installed explainers with their options. */
    public String explainers() {
        StringBuilder b = new StringBuilder();
        for (ExplainerInfo e : service.explainers()) {
            b.append(String.format("%-22s %s [%s]%n", e.id(), e.description(), e.bundle()));
            for (Option<?> o : e.options()) {
                b.append(String.format("    --%-12s %-10s %s%n", o.name(),
                        o.defaultValue() == null ? "" : o.defaultValue(), o.description()));
            }
        }
        return b.length() == 0 ? "no explainers installed" : b.toString().stripTrailing();
    }

    /** The installed backends, availability and ranking. */
    public String backends() {
        StringBuilder b = new StringBuilder();
        for (BackendInfo i : service.backends()) {
            b.append(String.format("%-10s ranking %-4d %s%n", i.id(), i.ranking(), i.availability()));
        }
        return b.length() == 0 ? "no backends installed" : b.toString().stripTrailing();
    }

    /** The model formats the installed loaders read. */
    public String formats() {
        return String.join(", ", service.modelFormats());
    }

    /** Explains the predicted class of a .npy input; prints the attribution sum and the top elements. */
    public String explain(String model, String input, String method) {
        try {
            Graph graph = service.loadModel(Path.of(model));
            HostTensor x = Npy.read(Path.of(input));
            Shape item = graph.input().itemShape();
            if (x.shape().equals(item)) {
                x = x.reshape(item.withBatch(1));
            }
            Explanation e = service.explain(graph, ExplanationQuery.of(method, x));
            return summary(e, x.shape());
        } catch (GlassboxException g) {
            // Gogo prints exceptions with a stack trace; the one line says it all.
            return "error: " + g.describe();
        }
    }

    static String summary(Explanation e, Shape batch) {
        float[] r = e.attribution().data();
        double sum = 0;
        for (float v : r) {
            sum += v;
        }
        int[] top = IntStream.range(0, r.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -Math.abs(r[i]))).limit(TOP)
                .mapToInt(Integer::intValue).toArray();
        StringBuilder b = new StringBuilder(String.format("%s on %s: targets %s, %d ms, attribution sum %.6g%n",
                e.method(), e.backend(), Arrays.toString(e.targets()), e.elapsed().toMillis(), sum));
        b.append("top |attribution|:");
        for (int i : top) {
            b.append(String.format("%n  %s %.6g", Arrays.toString(index(i, batch)), r[i]));
        }
        return b.toString();
    }

    /** The multi-index of flat index {@code flat} in {@code shape}. */
    static int[] index(int flat, Shape shape) {
        int[] idx = new int[shape.rank()];
        for (int a = shape.rank() - 1; a >= 0; a--) {
            idx[a] = flat % shape.dim(a);
            flat /= shape.dim(a);
        }
        return idx;
    }
}

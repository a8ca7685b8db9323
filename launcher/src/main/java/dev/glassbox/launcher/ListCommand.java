package dev.glassbox.launcher;

import dev.glassbox.api.explain.Option.DoubleOption;
import dev.glassbox.api.explain.Option.IntOption;
import dev.glassbox.api.lrp.Canonizer;
import dev.glassbox.api.lrp.Composite;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationService;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", description = "Lists backends (with availability), explainers and their options, LRP rules, composites and"
        + " canonizers, model formats and bundles;"
        + " with --ops, the operators each model format supports.")
final class ListCommand extends BaseCommand {

    @Option(names = "--ops", description = "list only the operators each model format supports, one per line")
    boolean ops;

    /** Name and description pairs, sorted by name, one per line. */
    private static void listNamed(PrintWriter out, String title, List<String[]> named) {
        out.println(title);
        named.stream().sorted(java.util.Comparator.comparing((String[] n) -> n[0]))
                .forEach(n -> out.printf("  %-26s %s%n", n[0], n[1]));
    }

    @Override
    public Integer call() throws Exception {
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            PrintWriter out = out();
            if (ops) {
                for (String format : service.modelFormats()) {
                    List<String> supported = service.operators(format);
                    out.printf("Operators (%s, %d):%n", format, supported.size());
                    supported.forEach(op -> out.println("  " + op));
                }
                return Main.OK;
            }
            List<BackendInfo> backends = service.backends();
            String best = service.defaultBackend().orElse(null);
            out.println("Backends:");
            for (BackendInfo b : backends) {
                out.printf("  %-10s %-9s ranking %-4d %s%s%n", b.id(), b.id().equals(best) ? "(default)" : "",
                        b.ranking(), b.availability(), b.description() == null ? "" : " - " + b.description());
            }
            out.println("Explainers:");
            for (ExplainerInfo e : service.explainers()) {
                out.printf("  %-22s %s [%s]%n", e.id(), e.description(), e.bundle());
                for (dev.glassbox.api.explain.Option<?> o : e.options()) {
                    out.printf("      --%-12s %-10s %s%s%n", o.name(), o.defaultValue() == null ? "" : o.defaultValue(),
                            o.description(), range(o));
                }
            }
            listNamed(out, "LRP rules (--rule):", rt.readServices(Rule.class, r -> new String[] {r.name(), r.description()}));
            listNamed(out, "LRP composites (--composite):",
                    rt.readServices(Composite.class, c -> new String[] {c.name(), c.description()}));
            listNamed(out, "LRP canonizers (--canonizers):",
                    rt.readServices(Canonizer.class, c -> new String[] {c.name(), c.description()}));
            out.println("Model formats: " + String.join(", ", service.modelFormats()));
            out.println("Bundles:");
            for (GlassboxRuntime.BundleInfo b : rt.bundles()) {
                out.printf("  %3d %-36s %-20s %s%n", b.id(), b.symbolicName(), b.version(), b.state());
            }
        }
        return Main.OK;
    }

    private static String range(dev.glassbox.api.explain.Option<?> o) {
        return switch (o) {
            case IntOption i -> " (" + i.min() + ".." + i.max() + ")";
            case DoubleOption d -> " (" + d.min() + ".." + d.max() + ")";
            default -> "";
        };
    }
}

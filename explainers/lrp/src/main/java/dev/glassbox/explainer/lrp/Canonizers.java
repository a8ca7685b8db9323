package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.lrp.Canonizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The canonizer services of every bundle (BatchNorm folding is this bundle's own), and the
 * graphs they produced: the same model with the same canonizers gives the same {@link Graph}
 * instance, so the runtime prepares it on a backend once. A component of this bundle that
 * its explainers share.
 */
@Component(service = Canonizers.class)
public final class Canonizers {

    static final Option.TextOption OPTION = new Option.TextOption("canonizers",
            "graph rewrites before explaining: 'all' installed ones (in order of name), 'none', or a comma list"
                    + " of names such as batchnorm-fold", "all");

    private final Map<String, Canonizer> bound = new ConcurrentHashMap<>();
    private final Map<Graph, Map<List<Canonizer>, Graph>> rewritten = new WeakHashMap<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bind(Canonizer canonizer) {
        bound.put(canonizer.name(), canonizer);
    }

    void unbind(Canonizer canonizer) {
        bound.remove(canonizer.name(), canonizer);
        synchronized (rewritten) {
            rewritten.clear(); // holds the departing service in its keys
        }
    }

    /** {@code graph} after the canonizers {@code selection} names, in that order. */
    Graph apply(Graph graph, String selection) {
        List<Canonizer> chosen = choose(selection.trim());
        if (chosen.isEmpty()) {
            return graph;
        }
        synchronized (rewritten) {
            Graph done = rewritten.getOrDefault(graph, Map.of()).get(chosen);
            if (done != null) {
                return done;
            }
        }
        Graph result = graph;
        for (Canonizer c : chosen) {
            result = c.apply(result);
        }
        synchronized (rewritten) {
            return rewritten.computeIfAbsent(graph, g -> new HashMap<>()).merge(chosen, result, (earlier, mine) -> earlier);
        }
    }

    private List<Canonizer> choose(String selection) {
        if (selection.equals("none")) {
            return List.of();
        }
        if (selection.equals("all")) {
            List<Canonizer> all = new ArrayList<>(bound.values());
            all.sort(Comparator.comparing(Canonizer::name));
            return List.copyOf(all);
        }
        List<Canonizer> chosen = new ArrayList<>();
        for (String name : selection.split(",")) {
            Canonizer c = bound.get(name.trim());
            if (c == null) {
                throw new InvalidOptionException("unknown canonizer '" + name.trim() + "' (installed: "
                        + String.join(", ", bound.keySet().stream().sorted().toList()) + "; or all, none)",
                        "--" + OPTION.name());
            }
            chosen.add(c);
        }
        return List.copyOf(chosen);
    }
}

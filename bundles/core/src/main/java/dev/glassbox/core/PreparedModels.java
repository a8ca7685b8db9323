package dev.glassbox.core;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.Graph;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Prepared models by graph (weakly held: a host that drops a graph drops its preparations)
 * and backend, so weights are uploaded once per model and backend. Also the graphs derived
 * from each model (its logits, its features explained), so their preparations are reused too.
 */
final class PreparedModels {
    private final Map<Graph, Map<Backend, PreparedModel>> byGraph = new WeakHashMap<>();
    private final Map<Graph, Graph> logits = new WeakHashMap<>();

    private final Map<Graph, Map<Target, Graph>> features = new WeakHashMap<>();

    synchronized Graph logits(Graph model) {
        return logits.computeIfAbsent(model, Graph::logits);
    }

    /** The graph that explains {@code target}: the logits, or the model up to a feature. */
    synchronized Graph explained(Graph model, Target target) {
        if (!FeatureTargets.isFeature(target)) {
            return logits(model);
        }
        return features.computeIfAbsent(model, m -> new java.util.HashMap<>())
                .computeIfAbsent(target, t -> FeatureTargets.graph(model, t));
    }

    PreparedModel get(Graph graph, Backend backend) {
        synchronized (this) {
            PreparedModel pm = byGraph.getOrDefault(graph, Map.of()).get(backend);
            if (pm != null) {
                return pm;
            }
        }
        // Preparing can take a while (uploads): do it outside the lock.
        PreparedModel fresh;
        try {
            fresh = backend.prepare(graph);
        } catch (IllegalArgumentException e) {
            throw new UnsupportedFeatureException(e.getMessage(), "backend " + backend.id(), e);
        }
        synchronized (this) {
            PreparedModel raced = byGraph.computeIfAbsent(graph, g -> new IdentityHashMap<>()).putIfAbsent(backend, fresh);
            if (raced != null) {
                fresh.close();
                return raced;
            }
            return fresh;
        }
    }

    /** Drops (and closes) everything prepared on a backend that is going away. */
    synchronized void forget(Backend backend) {
        for (Map<Backend, PreparedModel> m : byGraph.values()) {
            PreparedModel pm = m.remove(backend);
            if (pm != null) {
                pm.close();
            }
        }
    }

    synchronized void closeAll() {
        byGraph.values().forEach(m -> m.values().forEach(PreparedModel::close));
        byGraph.clear();
    }
}

package dev.glassbox.api.backend;

import dev.glassbox.api.graph.Graph;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A compute backend, registered as a service with an {@code id} property equal to
 * {@link #id()}. When a request names no backend the runtime takes the configured default
 * (ConfigAdmin PID {@code dev.glassbox.runtime}, property {@code backend}), else the available
 * one with the highest {@code service.ranking} (cudnn 20, djl 10, java 0).
 */
@ProviderType
public interface Backend {

    /** Short id used by {@code --backend}: {@code java}, {@code djl}, {@code cudnn}. */
    String id();

    String description();

    Availability availability();

    /**
     * Readies a graph for execution (weights uploaded, plans made).
     *
     * @throws dev.glassbox.api.UnsupportedFeatureException if the graph uses an op this
     *         backend does not implement, naming the node
     */
    PreparedModel prepare(Graph graph);
}

package dev.glassbox.api.explain;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An explanation method, registered as a service. The runtime resolves targets, runs the
 * forward pass, parses options against {@link #options()}, enforces the deadline and times
 * the call; the explainer computes the attribution.
 *
 * <p>See the occlusion explainer in the Glassbox sources for a complete bundle.
 */
@ConsumerType
public interface Explainer {

    /** The method id used by {@code --method}, e.g. {@code integrated-gradients}. */
    String id();

    /** One sentence for listings. */
    String description();

    /** The options this method accepts; others are rejected before {@link #explain} runs. */
    List<Option<?>> options();

    /**
     * The graph this method explains: {@code logits} itself (the default), or a rewrite of it
     * that computes the same outputs, such as LRP's canonizers make. Called before the forward
     * pass; return the same instance for the same graph and options, so the runtime prepares
     * it on a backend only once.
     */
    default Graph rewrite(Graph logits, Options options) {
        return logits;
    }

    /**
     * @return the attribution, shaped exactly like {@code request.input()}
     */
    HostTensor explain(ExplainContext context, ExplainRequest request);
}

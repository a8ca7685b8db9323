package dev.glassbox.api.explain;

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
     * @return the attribution, shaped exactly like {@code request.input()}
     */
    HostTensor explain(ExplainContext context, ExplainRequest request);
}

package dev.glassbox.api.explain;

import dev.glassbox.api.tensor.Tensor;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Sees what the backward walk delivers at each value: once per value, with everything that
 * arrived there from above (all consumers summed), from the seeded value down to the graph
 * input. This is how per-layer relevance is recorded.
 */
@ConsumerType
@FunctionalInterface
public interface BackwardObserver {

    BackwardObserver NONE = (value, total) -> { };

    /** {@code total} lives in the walk's scope: copy it ({@code toHost}) to keep it. */
    void arrived(String value, Tensor total);
}

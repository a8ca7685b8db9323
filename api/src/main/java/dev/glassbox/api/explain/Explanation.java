package dev.glassbox.api.explain;

import dev.glassbox.api.tensor.HostTensor;
import java.time.Duration;
import java.util.Map;

/**
 * The result of one explanation request.
 *
 * @param method      the explainer id
 * @param backend     the backend id it ran on
 * @param attribution one value per input element, shaped like the batched input
 * @param targets     the class explained for each item
 * @param logits      the model's logits for the batch, {@code [N, classes]}
 * @param elapsed     wall time of the request, forward pass included
 * @param perLayer    when asked for: what arrived at each value of the graph (node outputs and
 *                    the input), in the order the backward walk reached them; else empty
 */
public record Explanation(String method, String backend, HostTensor attribution, int[] targets, HostTensor logits,
                          Duration elapsed, Map<String, HostTensor> perLayer) {
    public Explanation {
        targets = targets.clone();
        perLayer = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(perLayer));
    }

    /** Without per-layer results. */
    public Explanation(String method, String backend, HostTensor attribution, int[] targets, HostTensor logits,
                       Duration elapsed) {
        this(method, backend, attribution, targets, logits, elapsed, Map.of());
    }

    @Override
    public int[] targets() {
        return targets.clone();
    }
}

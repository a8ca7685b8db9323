package dev.glassbox.api.explain;

import dev.glassbox.api.tensor.HostTensor;

/**
 * What to explain.
 *
 * @param input   the batched input, {@code [N, ...item shape]}
 * @param targets the class explained for each of the {@code N} items (already resolved)
 * @param options the explainer's options, parsed
 */
public record ExplainRequest(HostTensor input, int[] targets, Options options) {
    public ExplainRequest {
        if (targets.length != input.shape().dim(0)) {
            throw new IllegalArgumentException(targets.length + " targets for a batch of " + input.shape().dim(0));
        }
        targets = targets.clone();
    }

    @Override
    public int[] targets() {
        return targets.clone();
    }
}

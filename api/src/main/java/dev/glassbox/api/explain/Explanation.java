package dev.glassbox.api.explain;

import dev.glassbox.api.tensor.HostTensor;
import java.time.Duration;

/**
 * The result of one explanation request.
 *
 * @param method      the explainer id
 * @param backend     the backend id it ran on
 * @param attribution one value per input element, shaped like the batched input
 * @param targets     the class explained for each item
 * @param logits      the model's logits for the batch, {@code [N, classes]}
 * @param elapsed     wall time of the request, forward pass included
 */
public record Explanation(String method, String backend, HostTensor attribution, int[] targets, HostTensor logits,
                          Duration elapsed) {
    public Explanation {
        targets = targets.clone();
    }

    @Override
    public int[] targets() {
        return targets.clone();
    }
}

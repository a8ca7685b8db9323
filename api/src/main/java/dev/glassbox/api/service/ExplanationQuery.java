package dev.glassbox.api.service;

import dev.glassbox.api.explain.Target;
import dev.glassbox.api.tensor.HostTensor;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One explanation request to the {@link ExplanationService}.
 *
 * @param method   explainer id, e.g. {@code gradient}
 * @param input    batched {@code [N, ...]} or a single item without the batch axis
 * @param target   which class to explain
 * @param options  method options by name (without dashes) as text, checked by the runtime
 * @param backend  backend id, or {@code null} for the best available
 * @param timeout  deadline for the whole request
 * @param progress receives progress of long methods
 * @param perLayer whether to return what arrived at each layer ({@link
 *                 dev.glassbox.api.explain.Explanation#perLayer()})
 */
public record ExplanationQuery(String method, HostTensor input, Target target, Map<String, String> options,
                               String backend, Duration timeout, ProgressListener progress, boolean perLayer) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public ExplanationQuery {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        options = Map.copyOf(options);
        timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
        progress = progress == null ? ProgressListener.NONE : progress;
    }

    /** Without per-layer results. */
    public ExplanationQuery(String method, HostTensor input, Target target, Map<String, String> options,
                            String backend, Duration timeout, ProgressListener progress) {
        this(method, input, target, options, backend, timeout, progress, false);
    }

    /** The predicted class, default options, best backend, default timeout. */
    public static ExplanationQuery of(String method, HostTensor input) {
        return new ExplanationQuery(method, input, Target.predicted(), Map.of(), null, null, null);
    }

    public ExplanationQuery withTarget(Target newTarget) {
        return new ExplanationQuery(method, input, newTarget, options, backend, timeout, progress, perLayer);
    }

    public ExplanationQuery withOptions(Map<String, String> newOptions) {
        return new ExplanationQuery(method, input, target, newOptions, backend, timeout, progress, perLayer);
    }

    public ExplanationQuery withBackend(String newBackend) {
        return new ExplanationQuery(method, input, target, options, newBackend, timeout, progress, perLayer);
    }

    public ExplanationQuery withTimeout(Duration newTimeout) {
        return new ExplanationQuery(method, input, target, options, backend, newTimeout, progress, perLayer);
    }

    public ExplanationQuery withProgress(ProgressListener listener) {
        return new ExplanationQuery(method, input, target, options, backend, timeout, listener, perLayer);
    }

    /** Asks for (or not) what arrived at each layer, e.g. LRP's per-layer relevance. */
    public ExplanationQuery withPerLayer(boolean wanted) {
        return new ExplanationQuery(method, input, target, options, backend, timeout, progress, wanted);
    }
}

package dev.glassbox.api.explain;

import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.tensor.TensorScope;
import org.osgi.annotation.versioning.ProviderType;

/** What the runtime gives an explainer for one request. */
@ProviderType
public interface ExplainContext {

    /** The model to explain (its graph ends at the logits), prepared on the chosen backend. */
    PreparedModel model();

    Propagator propagator();

    /** The forward pass of the request's input, already run: reuse it rather than run another. */
    Trace trace();

    /** The request's scope: closed by the runtime when the request ends. */
    TensorScope scope();

    /**
     * Throws {@link dev.glassbox.api.DeadlineExceededException} if the request's deadline has
     * passed or it was cancelled. Long explainers call it between steps.
     */
    void checkDeadline();

    /**
     * Records per-layer results when the request asked for them ({@code --per-layer}), else
     * ignores them. Explainers whose backward walk is the explanation (gradient, LRP) pass it
     * to {@link Propagator#backward(Trace, String, dev.glassbox.api.tensor.Tensor,
     * java.util.function.Function, BackwardObserver, TensorScope)}.
     */
    BackwardObserver perLayer();

    /** Reports progress of long work ({@code done} of {@code total} steps) for progress bars. */
    void progress(long done, long total);
}

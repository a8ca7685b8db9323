package dev.glassbox.api.explain;

import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.tensor.Tensor;
import org.osgi.annotation.versioning.ProviderType;

/** The activations of one forward pass, kept for the backward walk. */
@ProviderType
public interface Trace {

    PreparedModel model();

    /** The activation named {@code value} (a graph input or a node output). */
    Tensor value(String value);

    /** The graph's (single) input. */
    Tensor input();

    /** The graph's (single) output: the logits for an explanation graph. */
    Tensor output();
}

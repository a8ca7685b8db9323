package dev.glassbox.api.explain;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;

/**
 * What a {@link NodeRule} sees at one node of the backward walk.
 *
 * @param node     the node
 * @param inputs   its input activations from the forward pass
 * @param output   its output activation from the forward pass
 * @param upstream what arrived at its output from above (a gradient or a relevance)
 * @param kernels  the backend's kernels
 * @param scope    where to create results and temporaries: the step's own, closed once its
 *                 results have been taken over, so nothing made here outlives the step
 */
public record NodeStep(Node node, List<Tensor> inputs, Tensor output, Tensor upstream, Kernels kernels,
                       TensorScope scope) {
}

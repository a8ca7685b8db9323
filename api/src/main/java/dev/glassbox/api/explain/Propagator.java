package dev.glassbox.api.explain;

import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.function.Function;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The engine every propagation-based explainer shares: one forward pass that keeps all
 * activations, then a backward walk in reverse topological order that applies one
 * {@link NodeRule} per node.
 */
@ProviderType
public interface Propagator {

    /** Runs the model's graph on {@code input}, keeping every activation in {@code scope}. */
    Trace forward(PreparedModel model, Tensor input, TensorScope scope);

    /**
     * Seeds value {@code from} with {@code seed} and walks back to the graph input, applying
     * {@code rules.apply(node)} at each node that lies between them, and telling
     * {@code observer} what arrived at each value on the way.
     *
     * @return what arrives at the graph input, shaped like it
     */
    Tensor backward(Trace trace, String from, Tensor seed, Function<Node, NodeRule> rules, BackwardObserver observer,
                    TensorScope scope);

    /** {@link #backward(Trace, String, Tensor, Function, BackwardObserver, TensorScope)} unobserved. */
    default Tensor backward(Trace trace, String from, Tensor seed, Function<Node, NodeRule> rules, TensorScope scope) {
        return backward(trace, from, seed, rules, BackwardObserver.NONE, scope);
    }
}

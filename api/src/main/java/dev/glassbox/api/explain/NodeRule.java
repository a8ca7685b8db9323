package dev.glassbox.api.explain;

import dev.glassbox.api.tensor.Tensor;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * How one node passes what arrives at its output (a gradient, a relevance) on to its inputs.
 * The {@link Propagator} sums contributions where a value feeds several nodes.
 */
@ConsumerType
@FunctionalInterface
public interface NodeRule {

    /** One tensor per node input, shaped like that input. */
    List<Tensor> propagate(NodeStep step);

    /** The chain rule: the op's vector-Jacobian product. */
    static NodeRule gradient() {
        return step -> step.kernels().inputGradients(
                step.node().op(), step.inputs(), step.output(), step.upstream(), step.scope());
    }
}

package dev.glassbox.api.lrp;

import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.graph.Node;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * An LRP rule contributed by a bundle, registered as a service. The {@code lrp} explainer
 * finds it by {@link #name()} when a {@code --rule} override names it.
 *
 * <p>A rule redistributes what arrived at a node's output onto its inputs; most are "modified
 * forward, divide by the stabilized result, vector-Jacobian product, multiply" (see
 * {@code lrp-rules.md}). The returned {@link NodeRule} receives the node's activations, the
 * upstream relevance and the kernels in its {@link dev.glassbox.api.explain.NodeStep}.
 */
@ConsumerType
public interface Rule {

    /** Lower-case name used in {@code --rule}, e.g. {@code my-rule}; built-in names are taken. */
    String name();

    /** One sentence for listings. */
    String description();

    /**
     * Binds this rule to {@code node} with the numbers written after its name
     * ({@code my-rule(0.5, 2)}; empty when none).
     *
     * @throws dev.glassbox.api.InvalidOptionException if the parameters or the node's op do
     *         not fit; the runtime reports it against {@code --rule}
     */
    NodeRule bind(Node node, double[] parameters, RuleDefaults defaults);
}

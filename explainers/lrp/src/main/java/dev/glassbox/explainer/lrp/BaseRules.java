package dev.glassbox.explainer.lrp;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import java.util.List;

/**
 * The rules every composite shares (lrp-rules.md), by the op's {@link Op.Role role}:
 * activations {@code pass}, sums and average pools {@code norm}, ops that move values the
 * gradient, a BatchNorm the canonizer could not fold {@code epsilon(1e-6)}.
 */
final class BaseRules {
    private static final RuleSpec BATCH_NORM = RuleSpec.of("epsilon", 1e-6);
    private static final RuleSpec PASS = RuleSpec.of("pass");
    private static final RuleSpec NORM = RuleSpec.of("norm");
    private static final RuleSpec GRADIENT = RuleSpec.of("gradient");
    /** What a linear layer gets from a composite that does not name it. */
    private static final RuleSpec LINEAR = RuleSpec.of("epsilon");

    private BaseRules() {
    }

    /**
     * @throws UnsupportedFeatureException for a product of two or more activations, which no
     *         rule of lrp-rules.md covers (the user can map one with {@code --rule})
     */
    static RuleSpec of(Node node, Graph graph) {
        Op op = node.op();
        return switch (op.role()) {
            case LINEAR -> op instanceof Op.BatchNorm ? BATCH_NORM : LINEAR;
            case ACTIVATION -> PASS;
            case SUMMING -> NORM;
            case PRODUCT -> {
                long variable = variableInputs(node, graph).size();
                if (variable > 1) {
                    throw new UnsupportedFeatureException("no LRP rule covers a " + op.type() + " of " + variable
                            + " activations (node " + node.name() + "); map one with --rule", "node " + node.name());
                }
                yield NORM; // scaling by a constant: all relevance stays with the one activation
            }
            case ROUTING, OUTPUT, CONSTANT -> GRADIENT;
        };
    }

    /** The inputs of {@code node} that are activations: not made by a Constant. */
    static List<String> variableInputs(Node node, Graph graph) {
        return node.inputs().stream()
                .filter(v -> graph.producer(v).map(p -> !(p.op() instanceof Op.Constant)).orElse(true))
                .toList();
    }

    static boolean isConvolution(Op op) {
        return op instanceof Op.Convolution;
    }

    /** lrp-rules.md's "first layer": the first Dense or convolution in topological order, or null. */
    static Node firstLayer(List<Node> nodes) {
        return nodes.stream().filter(n -> n.op() instanceof Op.Dense || isConvolution(n.op())).findFirst().orElse(null);
    }
}

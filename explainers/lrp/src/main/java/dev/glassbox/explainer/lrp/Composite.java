package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import java.util.List;
import java.util.Map;

/**
 * Which rule each node gets (lrp-rules.md, "Composites"): a rule for the first layer, for
 * convolutions and for dense layers; every composite shares the base of activations
 * {@code pass}, sums and average pools {@code norm}, everything that only moves values
 * {@code gradient}.
 *
 * @param first      rule for the first linear layer, or null for none
 * @param firstConvOnly whether {@code first} applies only when that layer is a Conv2d
 * @param conv       rule for Conv2d
 * @param dense      rule for Dense
 */
record Composite(String name, String description, RuleSpec first, boolean firstConvOnly, RuleSpec conv,
                 RuleSpec dense) {

    private static final RuleSpec EPSILON = RuleSpec.of("epsilon");
    private static final RuleSpec ZPLUS = RuleSpec.of("zplus");
    private static final RuleSpec FLAT = RuleSpec.of("flat");
    /** Takes {@code --alpha/--beta}, which default to 2 and 1. */
    private static final RuleSpec ALPHA2_BETA1 = RuleSpec.of("alpha-beta");

    /** The composites of lrp-rules.md by name. */
    static final Map<String, Composite> BUILT_IN = Map.of(
            "epsilon", new Composite("epsilon", "epsilon everywhere", null, false, EPSILON, EPSILON),
            "zplus", new Composite("zplus", "z+ everywhere", null, false, ZPLUS, ZPLUS),
            "epsilon-plus", new Composite("epsilon-plus", "z+ on conv, epsilon on dense", null, false, ZPLUS, EPSILON),
            "epsilon-plus-flat", new Composite("epsilon-plus-flat", "flat first layer, z+ on conv, epsilon on dense",
                    FLAT, false, ZPLUS, EPSILON),
            "epsilon-gamma-box", new Composite("epsilon-gamma-box",
                    "zbox on the first conv, gamma on conv, epsilon on dense", RuleSpec.of("zbox"), true,
                    RuleSpec.of("gamma"), EPSILON),
            "epsilon-alpha2-beta1", new Composite("epsilon-alpha2-beta1", "alpha2-beta1 on conv, epsilon on dense",
                    null, false, ALPHA2_BETA1, EPSILON),
            "epsilon-alpha2-beta1-flat", new Composite("epsilon-alpha2-beta1-flat",
                    "flat first layer, alpha2-beta1 on conv, epsilon on dense", FLAT, false, ALPHA2_BETA1, EPSILON));

    /** The rule this composite gives {@code node}; {@code first} is the graph's first linear node. */
    RuleSpec ruleFor(Node node, Node firstLayer) {
        return switch (node.op()) {
            case Op.Linear layer -> {
                boolean isFirst = node == firstLayer && first != null && (!firstConvOnly || layer instanceof Op.Conv2d);
                yield isFirst ? first : layer instanceof Op.Conv2d ? conv : dense;
            }
            case Op.Relu r -> RuleSpec.of("pass");
            case Op.Add a -> RuleSpec.of("norm");
            case Op.AvgPool2d p -> RuleSpec.of("norm");
            case Op.GlobalAvgPool p -> RuleSpec.of("norm");
            case Op.MaxPool2d p -> RuleSpec.of("gradient");
            case Op.Flatten f -> RuleSpec.of("gradient");
            case Op.Reshape r -> RuleSpec.of("gradient");
            case Op.Softmax s -> RuleSpec.of("gradient");
            case Op.LogSoftmax s -> RuleSpec.of("gradient");
        };
    }

    /** The first Dense or Conv2d in topological order, or null. */
    static Node firstLayer(List<Node> nodes) {
        return nodes.stream().filter(n -> n.op() instanceof Op.Linear).findFirst().orElse(null);
    }

}

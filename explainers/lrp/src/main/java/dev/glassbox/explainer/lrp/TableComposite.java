package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.lrp.Composite;
import java.util.Map;
import java.util.Optional;

/**
 * A composite of the table in lrp-rules.md ("Composites"): one rule for the first layer, one
 * for convolutions, one for dense layers; every other node gets its {@link BaseRules base rule}.
 *
 * @param first         rule for the first linear layer, or null for none
 * @param firstConvOnly whether {@code first} applies only when that layer is a convolution
 * @param conv          rule for Conv2d and ConvTranspose2d
 * @param dense         rule for Dense
 */
record TableComposite(String name, String description, RuleSpec first, boolean firstConvOnly, RuleSpec conv,
                      RuleSpec dense) implements Composite {

    private static final RuleSpec EPSILON = RuleSpec.of("epsilon");
    private static final RuleSpec ZPLUS = RuleSpec.of("zplus");
    private static final RuleSpec FLAT = RuleSpec.of("flat");
    /** Takes {@code --alpha/--beta}, which default to 2 and 1. */
    private static final RuleSpec ALPHA2_BETA1 = RuleSpec.of("alpha-beta");

    /** The composites of lrp-rules.md by name; these names keep their meaning whatever else is installed. */
    static final Map<String, TableComposite> BUILT_IN = Map.of(
            "epsilon", new TableComposite("epsilon", "epsilon everywhere", null, false, EPSILON, EPSILON),
            "zplus", new TableComposite("zplus", "z+ everywhere", null, false, ZPLUS, ZPLUS),
            "epsilon-plus", new TableComposite("epsilon-plus", "z+ on conv, epsilon on dense", null, false, ZPLUS, EPSILON),
            "epsilon-plus-flat", new TableComposite("epsilon-plus-flat", "flat first layer, z+ on conv, epsilon on dense",
                    FLAT, false, ZPLUS, EPSILON),
            "epsilon-gamma-box", new TableComposite("epsilon-gamma-box",
                    "zbox on the first conv, gamma on conv, epsilon on dense", RuleSpec.of("zbox"), true,
                    RuleSpec.of("gamma"), EPSILON),
            "epsilon-alpha2-beta1", new TableComposite("epsilon-alpha2-beta1", "alpha2-beta1 on conv, epsilon on dense",
                    null, false, ALPHA2_BETA1, EPSILON),
            "epsilon-alpha2-beta1-flat", new TableComposite("epsilon-alpha2-beta1-flat",
                    "flat first layer, alpha2-beta1 on conv, epsilon on dense", FLAT, false, ALPHA2_BETA1, EPSILON));

    @Override
    public Optional<String> ruleFor(Node node, Graph graph, Node firstLayer) {
        Op op = node.op();
        boolean conv = BaseRules.isConvolution(op);
        if (!conv && !(op instanceof Op.Dense)) {
            return Optional.empty();
        }
        boolean isFirst = node == firstLayer && first != null && (!firstConvOnly || conv);
        return Optional.of((isFirst ? first : conv ? this.conv : dense).toString());
    }
}

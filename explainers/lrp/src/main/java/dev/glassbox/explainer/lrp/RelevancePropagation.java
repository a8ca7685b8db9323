package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.lrp.Composite;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What LRP and deep Taylor share: bind a rule to every node, seed the target, walk back. */
final class RelevancePropagation {

    static final Option.TextOption OUTPUT_RELEVANCE = new Option.TextOption("output-relevance",
            "relevance put on the target: 'logit' (its value, so the input relevance sums to about f_c(x)) "
                    + "or 'one-hot' (1, the convention of Zennit)", "logit");

    private RelevancePropagation() {
    }

    /** The rule {@code node} gets: the first matching override, else the composite's rule, else its base rule. */
    static RuleSpec assign(Node node, Graph graph, Node first, RuleOverrides overrides, Composite composite,
                           String source) {
        return overrides.match(node.name()).orElseGet(() -> composite.ruleFor(node, graph, first)
                .map(text -> RuleSpec.parse(text, source))
                .orElseGet(() -> BaseRules.of(node, graph)));
    }

    /**
     * The values an Add or Sub combines with another activation (a residual branch and its
     * shortcut): relevance reaches their negative entries too, where the sum is positive.
     */
    static Set<String> summedWithActivations(Graph graph) {
        Set<String> summed = new HashSet<>();
        for (Node node : graph.nodes()) {
            if (node.op() instanceof Op.Add || node.op() instanceof Op.Sub) {
                List<String> variable = BaseRules.variableInputs(node, graph);
                if (variable.size() > 1) {
                    summed.addAll(variable);
                }
            }
        }
        return summed;
    }

    /**
     * Binds a rule at every node (so a bad rule fails before any work): the first matching
     * {@code --rule} override, else the composite's rule, else the node's base rule. Then
     * propagates the target's relevance to the input.
     *
     * @param source the option the composite came from, for errors
     */
    static HostTensor explain(ExplainContext ctx, ExplainRequest request, Rules rules, RuleOverrides overrides,
                              Composite composite, String source) {
        Graph graph = ctx.model().graph();
        Node first = BaseRules.firstLayer(graph.nodes());
        Map<Node, NodeRule> bound = new IdentityHashMap<>();
        Set<String> nonNegative = NonNegativeValues.of(graph);
        Set<String> summed = summedWithActivations(graph);
        for (Node node : graph.nodes()) {
            String where = overrides.match(node.name()).isPresent() ? "--rule" : source;
            boolean nonNegativeInput = !node.inputs().isEmpty() && nonNegative.contains(node.inputs().get(0));
            bound.put(node, rules.create(assign(node, graph, first, overrides, composite, source), node, where,
                    nonNegativeInput, summed.contains(node.output())));
        }
        var kernels = ctx.model().kernels();
        HostTensor logits = ctx.trace().output().toHost();
        Shape out = logits.shape();
        int[] targets = request.targets();
        int classes = out.size() / out.dim(0);
        float[] values = new float[targets.length];
        String mode = request.options().get(OUTPUT_RELEVANCE);
        for (int i = 0; i < targets.length; i++) {
            values[i] = switch (mode) {
                case "logit" -> logits.data()[i * classes + targets[i]];
                case "one-hot" -> 1f;
                default -> throw new InvalidOptionException("expected 'logit' or 'one-hot', got '" + mode + "'",
                        "--output-relevance");
            };
        }
        HostTensor seed = HostTensor.oneHot(classes, targets, values).reshape(out);
        return ctx.propagator().backward(ctx.trace(), graph.output(), kernels.upload(seed, ctx.scope()),
                bound::get, ctx.perLayer(), ctx.scope()).toHost();
    }
}

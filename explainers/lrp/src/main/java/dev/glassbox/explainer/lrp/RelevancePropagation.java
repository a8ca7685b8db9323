package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.IdentityHashMap;
import java.util.Map;

/** What LRP and deep Taylor share: bind a rule to every node, seed the target, walk back. */
final class RelevancePropagation {

    static final Option.TextOption OUTPUT_RELEVANCE = new Option.TextOption("output-relevance",
            "relevance put on the target: 'logit' (its value, so the input relevance sums to about f_c(x)) "
                    + "or 'one-hot' (1, the convention of Zennit)", "logit");

    /** A rule for a node and the option it came from, for error messages. */
    record Assigned(RuleSpec rule, String source) {
    }

    private RelevancePropagation() {
    }

    /**
     * Binds {@code assign(node)} at every node (so a bad rule fails before any work), then
     * propagates the target's relevance to the input.
     */
    static HostTensor explain(ExplainContext ctx, ExplainRequest request, Rules rules,
                              java.util.function.Function<Node, Assigned> assign) {
        Graph graph = ctx.model().graph();
        Map<Node, NodeRule> bound = new IdentityHashMap<>();
        for (Node node : graph.nodes()) {
            Assigned a = assign.apply(node);
            bound.put(node, rules.create(a.rule(), node, a.source()));
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

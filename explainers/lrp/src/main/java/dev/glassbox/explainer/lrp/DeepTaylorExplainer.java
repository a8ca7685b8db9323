package dev.glassbox.explainer.lrp;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * Deep Taylor decomposition (Montavon et al. 2017) as a composition of LRP rules: z+ in the
 * hidden layers, and at the first layer zB for inputs bounded by {@code --low/--high} or
 * w^2 for unbounded inputs.
 */
@Component(service = Explainer.class)
public final class DeepTaylorExplainer implements Explainer {

    static final Option.DoubleOption LOW = new Option.DoubleOption("low",
            "lowest input value; with --low or --high the first layer uses zB, else w^2", 0.0, -1e30, 1e30);
    static final Option.DoubleOption HIGH = new Option.DoubleOption("high",
            "highest input value; with --low or --high the first layer uses zB, else w^2", 1.0, -1e30, 1e30);

    private final ModifiedParameters modified = new ModifiedParameters();

    @Override
    public String id() {
        return "deep-taylor";
    }

    @Override
    public String description() {
        return "deep Taylor decomposition: z+ in hidden layers, zB or w^2 at the input (Montavon et al. 2017)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of(LOW, HIGH, RelevancePropagation.OUTPUT_RELEVANCE);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        Options o = request.options();
        boolean bounded = o.isSet(LOW) || o.isSet(HIGH);
        RuleSpec firstRule = bounded ? RuleSpec.of("zbox", o.get(LOW), o.get(HIGH)) : RuleSpec.of("wsquare");
        Composite deepTaylor = new Composite("deep-taylor", description(), firstRule, false, RuleSpec.of("zplus"),
                RuleSpec.of("zplus"));
        Rules rules = new Rules(modified, new RuleDefaults(0, 0, o.get(LOW), o.get(HIGH), 1, 0), name -> null);
        Node first = Composite.firstLayer(ctx.model().graph().nodes());
        String source = bounded ? "--low/--high" : "deep-taylor";
        return RelevancePropagation.explain(ctx, request, rules,
                node -> new RelevancePropagation.Assigned(deepTaylor.ruleFor(node, first), source));
    }
}

package dev.glassbox.explainer.lrp;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

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
    /** Shared with the other explainer of this bundle, and so is its cache of rewritten graphs. */
    @Reference
    private Canonizers canonizers;

    @Override
    public Graph rewrite(Graph logits, Options options) {
        return canonizers.apply(logits, options.get(Canonizers.OPTION));
    }

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
        return List.of(LOW, HIGH, Canonizers.OPTION, RelevancePropagation.OUTPUT_RELEVANCE);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        Options o = request.options();
        boolean bounded = o.isSet(LOW) || o.isSet(HIGH);
        RuleSpec firstRule = bounded ? RuleSpec.of("zbox", o.get(LOW), o.get(HIGH)) : RuleSpec.of("wsquare");
        TableComposite deepTaylor = new TableComposite("deep-taylor", description(), firstRule, false,
                RuleSpec.of("zplus"), RuleSpec.of("zplus"));
        Rules rules = new Rules(modified, new RuleDefaults(0, 0, o.get(LOW), o.get(HIGH), 1, 0), name -> null);
        return RelevancePropagation.explain(ctx, request, rules, RuleOverrides.NONE, deepTaylor,
                bounded ? "--low/--high" : "deep-taylor");
    }
}

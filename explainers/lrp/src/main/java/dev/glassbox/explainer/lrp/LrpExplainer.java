package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.TreeSet;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) with the rules
 * and composites of Zennit, exactly as {@code lrp-rules.md} defines them.
 */
@Component(service = Explainer.class)
public final class LrpExplainer implements Explainer {

    static final Option.TextOption COMPOSITE = new Option.TextOption("composite",
            "which rule where: " + String.join(", ", new TreeSet<>(Composite.BUILT_IN.keySet())), "epsilon-plus-flat");
    static final Option.DoubleOption EPSILON = new Option.DoubleOption("epsilon",
            "stabilizer e of the epsilon rule", 1e-6, 0.0, 1e9);
    static final Option.DoubleOption GAMMA = new Option.DoubleOption("gamma",
            "weight g of the positive parts in the gamma rule", 0.25, 0.0, 1e9);
    static final Option.DoubleOption LOW = new Option.DoubleOption("low",
            "lowest input value, for zbox", 0.0, -1e30, 1e30);
    static final Option.DoubleOption HIGH = new Option.DoubleOption("high",
            "highest input value, for zbox", 1.0, -1e30, 1e30);
    static final Option.DoubleOption ALPHA = new Option.DoubleOption("alpha",
            "alpha of alpha-beta rules written without parameters", 2.0, 0.0, 1e9);
    static final Option.DoubleOption BETA = new Option.DoubleOption("beta",
            "beta of alpha-beta rules written without parameters", 1.0, 0.0, 1e9);
    static final Option.TextOption RULE = new Option.TextOption("rule",
            "overrides NODE_PATTERN=RULE, comma-separated, e.g. 'conv1*=epsilon(0.25)'; glob * and ?; RULE is"
                    + " built in or a Rule service of another bundle", "");

    private final ModifiedParameters modified = new ModifiedParameters();
    private final Map<String, Rule> contributed = new ConcurrentHashMap<>();

    /** Rules other bundles contribute; they come and go while the runtime runs. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindRule(Rule rule) {
        if (Rules.NAMES.contains(rule.name())) {
            return; // built-in names keep their lrp-rules.md meaning
        }
        contributed.put(rule.name(), rule);
    }

    void unbindRule(Rule rule) {
        contributed.remove(rule.name(), rule);
    }

    @Override
    public String id() {
        return "lrp";
    }

    @Override
    public String description() {
        return "layer-wise relevance propagation with Zennit's rules and composites";
    }

    @Override
    public List<Option<?>> options() {
        return List.of(COMPOSITE, EPSILON, GAMMA, LOW, HIGH, ALPHA, BETA, RULE, RelevancePropagation.OUTPUT_RELEVANCE);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        Options o = request.options();
        String name = o.get(COMPOSITE);
        Composite composite = Composite.BUILT_IN.get(name);
        if (composite == null) {
            throw new InvalidOptionException("unknown composite '" + name + "' (known: "
                    + String.join(", ", new TreeSet<>(Composite.BUILT_IN.keySet())) + ")", "--composite");
        }
        RuleOverrides overrides = o.get(RULE).isBlank() ? RuleOverrides.NONE : RuleOverrides.parse(o.get(RULE));
        Rules rules = new Rules(modified, new RuleDefaults(o.get(EPSILON), o.get(GAMMA), o.get(LOW), o.get(HIGH),
                o.get(ALPHA), o.get(BETA)), contributed::get);
        List<Node> nodes = ctx.model().graph().nodes();
        Node first = Composite.firstLayer(nodes);
        String source = "--composite " + name;
        return RelevancePropagation.explain(ctx, request, rules, node -> overrides.match(node.name())
                .map(r -> new RelevancePropagation.Assigned(r, "--rule"))
                .orElseGet(() -> new RelevancePropagation.Assigned(composite.ruleFor(node, first), source)));
    }
}

package dev.glassbox.explainer.lrp;

import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.Composite;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.lrp.RuleDefaults;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Registers the rules and composites of lrp-rules.md as {@link Rule} and {@link Composite}
 * services, so that other bundles and the admin tools see and use them like contributed
 * ones. (The explainers of this bundle use them directly: their names keep their meaning
 * whatever else is installed.)
 */
@Component(immediate = true, service = {})
public final class BuiltIns {

    static final Map<String, String> RULE_DESCRIPTIONS = Map.of(
            "epsilon", "epsilon(e): R_in = x * layer^T(R / stab(z, e)); e = 0 is LRP-0",
            "zplus", "z+: positive contributions only",
            "alpha-beta", "alpha-beta(a, b): positive contributions weighted a, negative b (a - b = 1)",
            "gamma", "gamma(g): generalized gamma rule, favouring positive contributions",
            "zbox", "zbox(l, h): for inputs bounded by l and h",
            "wsquare", "w^2: input-independent, by squared weights",
            "flat", "flat: input-independent, uniform over the receptive field",
            "pass", "relevance passes unchanged (activations)",
            "norm", "relevance in proportion to each input's share of the sum (pools, residual sums)",
            "gradient", "relevance follows the gradient (ops that move values)");

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext context) {
        ModifiedParameters modified = new ModifiedParameters();
        for (String name : Rules.NAMES) {
            registrations.add(context.registerService(Rule.class, new BuiltInRule(name, modified), properties(name)));
        }
        TableComposite.BUILT_IN.values().forEach(c ->
                registrations.add(context.registerService(Composite.class, c, properties(c.name()))));
    }

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    private static Dictionary<String, Object> properties(String name) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("name", name);
        return p;
    }

    /** A built-in rule as a service: binds through the same {@link Rules} the explainers use. */
    private record BuiltInRule(String name, ModifiedParameters modified) implements Rule {
        @Override
        public String description() {
            return RULE_DESCRIPTIONS.get(name);
        }

        @Override
        public NodeRule bind(Node node, double[] parameters, RuleDefaults defaults) {
            return new Rules(modified, defaults, other -> null).create(RuleSpec.of(name, parameters), node, "rule " + name);
        }
    }
}

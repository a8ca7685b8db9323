package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.lrp.Composite;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
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
            "which rule where: " + String.join(", ", new TreeSet<>(TableComposite.BUILT_IN.keySet()))
                    + ", or a Composite service of another bundle or of ConfigAdmin", "epsilon-plus-flat");
    static final Option.TextOption COMPOSITE_FILE = new Option.TextOption("composite-file",
            "a text file mapping nodes to rules (lines 'node GLOB = RULE', 'first = RULE', 'op TYPE = RULE');"
                    + " replaces --composite", "");
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
    /** Shared with the other explainer of this bundle, and so is its cache of rewritten graphs. */
    @Reference
    private Canonizers canonizers;

    @Override
    public Graph rewrite(Graph logits, Options options) {
        return canonizers.apply(logits, options.get(Canonizers.OPTION));
    }
    private final Map<String, Rule> contributed = new ConcurrentHashMap<>();
    private final Map<String, Composite> composites = new ConcurrentHashMap<>();

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

    /** Composites of other bundles and of ConfigAdmin (this bundle registers the built-in ones too). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindComposite(Composite composite) {
        composites.put(composite.name(), composite);
    }

    void unbindComposite(Composite composite) {
        composites.remove(composite.name(), composite);
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
        return List.of(COMPOSITE, COMPOSITE_FILE, EPSILON, GAMMA, LOW, HIGH, ALPHA, BETA, RULE, Canonizers.OPTION,
                RelevancePropagation.OUTPUT_RELEVANCE);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        Options o = request.options();
        Composite composite;
        String source;
        if (!o.get(COMPOSITE_FILE).isBlank()) {
            composite = readComposite(Path.of(o.get(COMPOSITE_FILE)));
            source = "--composite-file " + o.get(COMPOSITE_FILE);
        } else {
            composite = composite(o.get(COMPOSITE));
            source = "--composite " + composite.name();
        }
        RuleOverrides overrides = o.get(RULE).isBlank() ? RuleOverrides.NONE : RuleOverrides.parse(o.get(RULE));
        Rules rules = new Rules(modified, new RuleDefaults(o.get(EPSILON), o.get(GAMMA), o.get(LOW), o.get(HIGH),
                o.get(ALPHA), o.get(BETA)), contributed::get);
        return RelevancePropagation.explain(ctx, request, rules, overrides, composite, source);
    }

    /** A built-in composite by name, else an installed one. */
    private Composite composite(String name) {
        Composite c = TableComposite.BUILT_IN.get(name);
        if (c == null) {
            c = composites.get(name);
        }
        if (c == null) {
            TreeSet<String> known = new TreeSet<>(TableComposite.BUILT_IN.keySet());
            known.addAll(composites.keySet());
            throw new InvalidOptionException("unknown composite '" + name + "' (installed: " + String.join(", ", known)
                    + "; or --composite-file FILE)", "--composite");
        }
        return c;
    }

    private static Composite readComposite(Path file) {
        String stem = file.getFileName().toString().replaceFirst("\\.[^.]*$", "").toLowerCase(Locale.ROOT);
        try {
            return MappedComposite.parse(Files.readString(file), stem, file.toString());
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("composite file not found", file.toString(), e);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read composite file: " + e.getMessage(), file.toString(), e);
        }
    }
}

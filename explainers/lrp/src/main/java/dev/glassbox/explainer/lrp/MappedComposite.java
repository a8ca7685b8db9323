package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.Composite;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A user-defined composite from a small text mapping, one {@code KEY = RULE} per line
 * ({@code #} starts a comment; {@code ;} also separates entries, for one-line configurations):
 *
 * <pre>
 * name = my-composite
 * description = gamma on conv, a wider epsilon on dense
 * node features.0* = zbox(-1, 1)
 * first = flat
 * op Conv2d = gamma(0.5)
 * op Dense = epsilon(0.25)
 * </pre>
 *
 * A node gets the rule of the first {@code node GLOB} entry matching its name, else the
 * {@code first} rule if it is the first layer, else the rule of its op type ({@code Dense},
 * {@code Conv2d}, {@code ConvTranspose2d}, {@code BatchNorm}, {@code AvgPool2d}, ... as
 * {@code glassbox} names ops), else the base rule of its role.
 */
record MappedComposite(String name, String description, List<Entry> nodes, RuleSpec first, List<Entry> ops)
        implements Composite {

    /** A node-name glob or op type and its rule. */
    record Entry(Pattern pattern, RuleSpec rule) {
    }

    MappedComposite {
        nodes = List.copyOf(nodes);
        ops = List.copyOf(ops);
    }

    /**
     * @param defaultName the name when the text has no {@code name} line (e.g. the file name)
     * @param source      where the text came from, for errors (a file, a configuration)
     */
    static MappedComposite parse(String text, String defaultName, String source) {
        String name = defaultName;
        String description = "user-defined composite from " + source;
        List<Entry> nodes = new ArrayList<>();
        List<Entry> ops = new ArrayList<>();
        RuleSpec first = null;
        String[] lines = text.split("\r?\n|;");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].replaceFirst("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            String at = source + ", entry " + (i + 1);
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new InvalidOptionException("expected KEY = RULE, got '" + line + "'", at);
            }
            String key = line.substring(0, eq).trim();
            String value = line.substring(eq + 1).trim();
            String[] words = key.split("\\s+", 2);
            switch (words[0]) {
                case "name" -> name = value;
                case "description" -> description = value;
                case "first" -> first = RuleSpec.parse(value, at);
                case "node" -> nodes.add(new Entry(RuleOverrides.glob(argument(words, at)), RuleSpec.parse(value, at)));
                case "op" -> ops.add(new Entry(Pattern.compile(Pattern.quote(argument(words, at))), RuleSpec.parse(value, at)));
                default -> throw new InvalidOptionException("unknown key '" + words[0]
                        + "' (expected name, description, first, node GLOB, op TYPE)", at);
            }
        }
        if (name == null || !name.matches("[a-z0-9][a-z0-9.-]*")) {
            throw new InvalidOptionException("composite name '" + name + "' must be lower-case letters, digits, '.' and '-'",
                    source);
        }
        return new MappedComposite(name, description, nodes, first, ops);
    }

    private static String argument(String[] words, String at) {
        if (words.length < 2 || words[1].isBlank()) {
            throw new InvalidOptionException("'" + words[0] + "' needs a name or pattern before '='", at);
        }
        return words[1].trim();
    }

    @Override
    public Optional<String> ruleFor(Node node, Graph graph, Node firstLayer) {
        Optional<RuleSpec> rule = match(nodes, node.name());
        if (rule.isEmpty() && first != null && node == firstLayer) {
            rule = Optional.of(first);
        }
        if (rule.isEmpty()) {
            rule = match(ops, node.op().type());
        }
        return rule.map(RuleSpec::toString);
    }

    private static Optional<RuleSpec> match(List<Entry> entries, String text) {
        return entries.stream().filter(e -> e.pattern().matcher(text).matches()).map(Entry::rule).findFirst();
    }
}

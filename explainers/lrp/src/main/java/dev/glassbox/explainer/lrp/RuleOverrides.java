package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code --rule PATTERN=RULE} overrides: node-name globs ({@code *}, {@code ?}) mapped to
 * rules, first match wins. Entries are separated by commas outside parentheses.
 */
final class RuleOverrides {
    private record Entry(Pattern pattern, RuleSpec rule) {
    }

    private final List<Entry> entries;

    private RuleOverrides(List<Entry> entries) {
        this.entries = entries;
    }

    static final RuleOverrides NONE = new RuleOverrides(List.of());

    static RuleOverrides parse(String text) {
        List<Entry> entries = new ArrayList<>();
        for (String item : RuleSpec.splitList(text)) {
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new InvalidOptionException("expected NODE_PATTERN=RULE, got '" + item + "'", "--rule");
            }
            entries.add(new Entry(glob(item.substring(0, eq).trim()), RuleSpec.parse(item.substring(eq + 1), "--rule")));
        }
        return new RuleOverrides(List.copyOf(entries));
    }

    Optional<RuleSpec> match(String nodeName) {
        return entries.stream().filter(e -> e.pattern().matcher(nodeName).matches()).map(Entry::rule).findFirst();
    }

    static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }
}

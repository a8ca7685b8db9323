package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rule named with optional numeric parameters, as written in composites and {@code --rule}:
 * {@code zplus}, {@code epsilon(0.25)}, {@code alpha-beta(2,1)}.
 */
record RuleSpec(String name, double[] params) {

    private static final Pattern SYNTAX = Pattern.compile("\\s*([a-z][a-z0-9-]*)\\s*(?:\\(([^()]*)\\))?\\s*");

    static RuleSpec of(String name, double... params) {
        return new RuleSpec(name, params.clone());
    }

    static RuleSpec parse(String text, String where) {
        Matcher m = SYNTAX.matcher(text);
        if (!m.matches()) {
            throw new InvalidOptionException("malformed rule '" + text + "' (expected NAME or NAME(p1,p2,...))", where);
        }
        String args = m.group(2);
        if (args == null || args.isBlank()) {
            return new RuleSpec(m.group(1), new double[0]);
        }
        String[] parts = args.split(",");
        double[] params = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                params[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new InvalidOptionException("rule '" + text + "': '" + parts[i].trim() + "' is not a number", where);
            }
            if (!Double.isFinite(params[i])) {
                throw new InvalidOptionException("rule '" + text + "': parameters must be finite", where);
            }
        }
        return new RuleSpec(m.group(1), params);
    }

    /** Splits {@code a=b(1,2),c=d} at the commas outside parentheses. */
    static List<String> splitList(String text) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(text.substring(start, i));
                start = i + 1;
            }
        }
        out.add(text.substring(start));
        return out.stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    @Override
    public String toString() {
        if (params.length == 0) {
            return name;
        }
        StringBuilder b = new StringBuilder(name).append('(');
        for (int i = 0; i < params.length; i++) {
            b.append(i == 0 ? "" : ",").append(params[i]);
        }
        return b.append(')').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RuleSpec r && r.name.equals(name) && Arrays.equals(r.params, params);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(params);
    }
}

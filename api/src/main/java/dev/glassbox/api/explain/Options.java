package dev.glassbox.api.explain;

import dev.glassbox.api.InvalidOptionException;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;

/** Option values of one request, parsed and checked against the explainer's declarations. */
public final class Options {
    private final Map<String, Object> values;

    private Options(Map<String, Object> values) {
        this.values = Map.copyOf(values);
    }

    /** No values: every option takes its default. */
    public static Options defaults() {
        return new Options(Map.of());
    }

    /**
     * Parses {@code raw} (option name without dashes to text) against {@code declared}.
     *
     * @throws InvalidOptionException for a name not declared or a value that does not parse
     */
    public static Options parse(Collection<? extends Option<?>> declared, Map<String, String> raw, String method) {
        Map<String, Option<?>> byName = new HashMap<>();
        for (Option<?> o : declared) {
            byName.put(o.name(), o);
        }
        Map<String, Object> values = new HashMap<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            Option<?> option = byName.get(e.getKey());
            if (option == null) {
                String known = declared.isEmpty() ? "none"
                        : declared.stream().map(o -> "--" + o.name()).sorted().collect(Collectors.joining(", "));
                throw new InvalidOptionException("unknown option for method " + method + " (accepted: " + known + ")",
                        "--" + e.getKey());
            }
            values.put(option.name(), option.parse(e.getValue()));
        }
        return new Options(values);
    }

    /** The value given for {@code option}, or its default. */
    public <T> T get(Option<T> option) {
        Object v = values.get(option.name());
        if (v == null) {
            return option.defaultValue();
        }
        @SuppressWarnings("unchecked")
        T typed = (T) v;
        return typed;
    }

    /** Whether the user gave {@code option} explicitly. */
    public boolean isSet(Option<?> option) {
        return values.containsKey(option.name());
    }
}

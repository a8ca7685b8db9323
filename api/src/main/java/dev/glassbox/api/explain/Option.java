package dev.glassbox.api.explain;

import dev.glassbox.api.InvalidOptionException;

/**
 * A typed option an explainer accepts, with its default and a description a console or web
 * page can show. {@link #parse} checks the text a user gave.
 *
 * @param <T> the value type
 */
public sealed interface Option<T> {

    /** The name without dashes: {@code steps} is given as {@code --steps 64}. */
    String name();

    String description();

    T defaultValue();

    /** The value for {@code text}, or an {@link InvalidOptionException} naming this option. */
    T parse(String text);

    /** An integer in {@code [min, max]}. */
    record IntOption(String name, String description, Integer defaultValue, int min, int max)
            implements Option<Integer> {
        @Override
        public Integer parse(String text) {
            int v;
            try {
                v = Integer.parseInt(text.trim());
            } catch (NumberFormatException e) {
                throw new InvalidOptionException("expected an integer, got '" + text + "'", "--" + name);
            }
            if (v < min || v > max) {
                throw new InvalidOptionException("must be in [" + min + ", " + max + "], got " + v, "--" + name);
            }
            return v;
        }
    }

    /** A finite number in {@code [min, max]}. */
    record DoubleOption(String name, String description, Double defaultValue, double min, double max)
            implements Option<Double> {
        @Override
        public Double parse(String text) {
            double v;
            try {
                v = Double.parseDouble(text.trim());
            } catch (NumberFormatException e) {
                throw new InvalidOptionException("expected a number, got '" + text + "'", "--" + name);
            }
            if (!Double.isFinite(v) || v < min || v > max) {
                throw new InvalidOptionException("must be in [" + min + ", " + max + "], got " + text, "--" + name);
            }
            return v;
        }
    }

    /** Free text, e.g. a keyword or a file name; the explainer interprets it. */
    record TextOption(String name, String description, String defaultValue) implements Option<String> {
        @Override
        public String parse(String text) {
            if (text.isBlank()) {
                throw new InvalidOptionException("must not be empty", "--" + name);
            }
            return text;
        }
    }
}

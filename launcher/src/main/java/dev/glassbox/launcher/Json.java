package dev.glassbox.launcher;

import java.util.Map;

/** The little JSON the commands write: strings, numbers and flat objects. */
final class Json {
    private Json() {
    }

    /** {@code s} as a JSON string literal, quotes included. */
    static String string(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** A finite number, or {@code null} for NaN and infinities. */
    static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    static String numbers(double[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(number(v[i]));
        }
        return b.append(']').toString();
    }

    /** An object of string values, in the map's order. */
    static String object(Map<String, String> values) {
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<String, String> e : values.entrySet()) {
            b.append(b.length() == 1 ? "" : ",").append(string(e.getKey())).append(':').append(string(e.getValue()));
        }
        return b.append('}').toString();
    }
}

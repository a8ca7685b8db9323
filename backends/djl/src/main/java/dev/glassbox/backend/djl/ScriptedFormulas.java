package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.djl.pytorch.ScriptedFunction;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link dev.glassbox.api.backend.Kernels#evaluate}'s formulas as TorchScript functions, one per
 * list of expressions, compiled on first use and kept with the prepared model: one call per
 * formula instead of one per node, which PyTorch's fuser can make one kernel on CUDA. Each node
 * is written as operators that compute exactly what the Java backend's primitive does (NaN,
 * infinities and the sign rules included), in float32.
 */
final class ScriptedFormulas implements AutoCloseable {
    private final NDManager manager;
    private final Map<List<Elementwise>, ScriptedFunction> compiled = new HashMap<>();
    private boolean closed;

    ScriptedFormulas(NDManager manager) {
        this.manager = manager;
    }

    /** The function computing {@code expressions} over {@code inputs} tensors (not to be closed by the caller). */
    synchronized ScriptedFunction function(List<Elementwise> expressions, int inputs) {
        if (closed) {
            throw new IllegalStateException("the prepared model is closed");
        }
        return compiled.computeIfAbsent(List.copyOf(expressions),
                e -> ScriptedFunction.compile(manager, parameters(inputs), e.size(), body(e, inputs)));
    }

    private static List<String> parameters(int inputs) {
        List<String> names = new ArrayList<>(inputs);
        for (int i = 0; i < inputs; i++) {
            names.add("x" + i);
        }
        return names;
    }

    /** One statement per distinct node, then the tuple of results (each a tensor of its own). */
    static String body(List<Elementwise> expressions, int inputs) {
        Writer w = new Writer(inputs);
        List<String> results = new ArrayList<>(expressions.size());
        Set<String> returned = new HashSet<>();
        for (Elementwise e : expressions) {
            String v = w.name(e);
            // an input, or a result already returned, is copied: no result aliases another tensor
            results.add(v.startsWith("x") || !returned.add(v) ? "torch.clone(" + v + ")" : v);
        }
        return w.code + "return (" + String.join(", ", results) + (results.size() == 1 ? ",)" : ")");
    }

    private static final class Writer {
        private final int inputs;
        private final Map<Elementwise, String> names = new HashMap<>();
        private final StringBuilder code = new StringBuilder();

        Writer(int inputs) {
            this.inputs = inputs;
        }

        String name(Elementwise e) {
            String name = names.get(e);
            if (name == null) {
                name = switch (e) {
                    case Elementwise.Input in -> {
                        if (in.index() >= inputs) {
                            throw new IllegalArgumentException("evaluate: input " + in.index() + " of " + inputs);
                        }
                        yield "x" + in.index();
                    }
                    case Elementwise.Clamp c when c.min() == Float.NEGATIVE_INFINITY && c.max() == Float.POSITIVE_INFINITY ->
                            name(c.a()); // max(x, -inf) and min(x, inf) are x, NaN included
                    default -> define(statement(e));
                };
                names.put(e, name);
            }
            return name;
        }

        private String define(String expression) {
            String name = "v" + names.size();
            code.append(name).append(" = ").append(expression).append('\n');
            return name;
        }

        private String statement(Elementwise e) {
            return switch (e) {
                case Elementwise.Add n -> call("add", name(n.a()), name(n.b()));
                case Elementwise.Subtract n -> call("sub", name(n.a()), name(n.b()));
                case Elementwise.Multiply n -> call("mul", name(n.a()), name(n.b()));
                case Elementwise.Divide n -> call("div", name(n.a()), name(n.b()));
                case Elementwise.Scale n -> call("mul", name(n.a()), literal(n.factor()));
                case Elementwise.Abs n -> call("abs", name(n.a()));
                case Elementwise.Clamp n -> {
                    // Java's min(max(x, lo), hi): hi where lo > hi, NaN stays NaN
                    String x = name(n.a());
                    if (n.min() != Float.NEGATIVE_INFINITY) {
                        x = call("clamp_min", x, literal(n.min()));
                    }
                    yield n.max() == Float.POSITIVE_INFINITY ? x : call("clamp_max", x, literal(n.max()));
                }
                // 1 where x > 0, else 0 (NaN and -0 included)
                case Elementwise.PositiveMask n -> call("gt", name(n.a()), "0.0") + ".float()";
                case Elementwise.Stabilize n -> {
                    // z - eps where z < 0, else z + eps (0, -0 and NaN: z + eps)
                    String z = name(n.z());
                    String eps = literal(n.eps());
                    yield "torch.where(" + call("lt", z, "0.0") + ", " + call("sub", z, eps) + ", "
                            + call("add", z, eps) + ")";
                }
                case Elementwise.Input in -> throw new IllegalStateException("input " + in.index() + " is no statement");
            };
        }

        private static String call(String op, String... args) {
            return "torch." + op + "(" + String.join(", ", args) + ")";
        }
    }

    /**
     * {@code f} as a TorchScript float literal: its exact decimal value, which parses back to the
     * same double, hence to {@code f} when the engine rounds the scalar to float32.
     */
    static String literal(float f) {
        if (Float.isNaN(f)) {
            return "float(\"nan\")";
        }
        if (Float.isInfinite(f)) {
            return f > 0 ? "float(\"inf\")" : "-float(\"inf\")";
        }
        String plain = new BigDecimal(f).toPlainString();
        return (Float.floatToRawIntBits(f) == Float.floatToRawIntBits(-0f) ? "-" : "")
                + (plain.contains(".") ? plain : plain + ".0");
    }

    /** Number of formulas compiled (for tests). */
    synchronized int size() {
        return compiled.size();
    }

    @Override
    public synchronized void close() {
        closed = true;
        compiled.values().forEach(ScriptedFunction::close);
        compiled.clear();
        manager.close();
    }
}

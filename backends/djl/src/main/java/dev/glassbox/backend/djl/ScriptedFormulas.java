package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.djl.pytorch.ScriptedFunction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@link dev.glassbox.api.backend.Kernels#evaluate}'s formulas as TorchScript functions: one call
 * per formula instead of one per node, which PyTorch's fuser can make one kernel on CUDA. Each
 * node is written as operators that compute what the Java backend's primitive does (NaN and
 * infinities included; a clamp at a zero bound may give the other zero). A formula's constants
 * (scale factors, clamp bounds, stabilizers: values of request options such as {@code --epsilon})
 * are arguments, 0-dimensional arrays, so one compiled function serves every value, and the
 * functions kept with the prepared model are as many as the rules' distinct shapes of formula.
 */
final class ScriptedFormulas implements AutoCloseable {
    /** Translations kept (Java objects only: one evicted is written again). */
    private static final int TRANSLATIONS = 1024;

    private final NDManager manager;
    private final Map<Translation, Script> scripts = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Translation, Script> eldest) {
            return size() > TRANSLATIONS;
        }
    };
    private final Map<Script.Shape, ScriptedFunction> compiled = new HashMap<>();
    private boolean closed;

    ScriptedFormulas(NDManager manager) {
        this.manager = manager;
    }

    private record Translation(List<Elementwise> expressions, int inputs) {
    }

    /** A formula as TorchScript: its shape, and the values of its constants {@code c0, c1, ...}. */
    record Script(Shape shape, float[] constants) {
        /**
         * What the compiled function depends on: {@code body} over tensors {@code x0..} and
         * 0-dimensional constants {@code c0..}, returning a tuple of {@code results} tensors.
         */
        record Shape(String body, int inputs, int constants, int results) {
        }
    }

    /** {@code expressions} over {@code inputs} tensors as a script. */
    Script script(List<Elementwise> expressions, int inputs) {
        Translation key = new Translation(List.copyOf(expressions), inputs);
        synchronized (this) {
            Script s = scripts.get(key);
            if (s != null) {
                return s;
            }
        }
        Script s = translate(key.expressions(), inputs);
        synchronized (this) {
            scripts.put(key, s);
        }
        return s;
    }

    /** The compiled function of {@code shape}, compiled on first use (not to be closed by the caller). */
    ScriptedFunction function(Script.Shape shape) {
        synchronized (this) {
            requireOpen();
            ScriptedFunction f = compiled.get(shape);
            if (f != null) {
                return f;
            }
        }
        // compiled outside the lock: other formulas run meanwhile
        List<String> parameters = new ArrayList<>();
        for (int i = 0; i < shape.inputs(); i++) {
            parameters.add("x" + i);
        }
        for (int i = 0; i < shape.constants(); i++) {
            parameters.add("c" + i);
        }
        ScriptedFunction made = ScriptedFunction.compile(manager, parameters, shape.results(), shape.body());
        synchronized (this) {
            if (closed) {
                made.close();
                requireOpen();
            }
            ScriptedFunction first = compiled.putIfAbsent(shape, made);
            if (first == null) {
                return made;
            }
            made.close(); // another thread compiled it meanwhile
            return first;
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the prepared model is closed");
        }
    }

    /** One statement per distinct node, then the tuple of results (each a tensor of its own). */
    static Script translate(List<Elementwise> expressions, int inputs) {
        Writer w = new Writer(inputs);
        List<String> results = new ArrayList<>(expressions.size());
        Set<String> returned = new HashSet<>();
        for (Elementwise e : expressions) {
            String v = w.name(e);
            // an input, or a result already returned, is copied: no result aliases another tensor
            results.add(v.startsWith("x") || !returned.add(v) ? "torch.clone(" + v + ")" : v);
        }
        String body = w.code + "return (" + String.join(", ", results) + (results.size() == 1 ? ",)" : ")");
        float[] constants = new float[w.constants.size()];
        for (int i = 0; i < constants.length; i++) {
            constants[i] = Float.intBitsToFloat(w.constants.get(i));
        }
        return new Script(new Script.Shape(body, inputs, constants.length, expressions.size()), constants);
    }

    private static final class Writer {
        private final int inputs;
        private final Map<Elementwise, String> names = new HashMap<>();
        private final StringBuilder code = new StringBuilder();
        /** The constants' bits, each once (-0 and 0 apart), in the order of their names c0, c1, ... */
        private final List<Integer> constants = new ArrayList<>();

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

        private String constant(float value) {
            int bits = Float.floatToRawIntBits(value);
            int index = constants.indexOf(bits);
            if (index < 0) {
                index = constants.size();
                constants.add(bits);
            }
            return "c" + index;
        }

        private String statement(Elementwise e) {
            return switch (e) {
                case Elementwise.Add n -> call("add", name(n.a()), name(n.b()));
                case Elementwise.Subtract n -> call("sub", name(n.a()), name(n.b()));
                case Elementwise.Multiply n -> call("mul", name(n.a()), name(n.b()));
                case Elementwise.Divide n -> call("div", name(n.a()), name(n.b()));
                case Elementwise.Scale n -> call("mul", name(n.a()), constant(n.factor()));
                case Elementwise.Abs n -> call("abs", name(n.a()));
                case Elementwise.Clamp n -> {
                    // Java's min(max(x, lo), hi): hi where lo > hi, NaN stays NaN; an infinite side is no op
                    String x = name(n.a());
                    if (n.min() != Float.NEGATIVE_INFINITY) {
                        x = call("clamp_min", x, constant(n.min()));
                    }
                    yield n.max() == Float.POSITIVE_INFINITY ? x : call("clamp_max", x, constant(n.max()));
                }
                // 1 where x > 0, else 0 (NaN and -0 included)
                case Elementwise.PositiveMask n -> call("gt", name(n.a()), "0.0") + ".float()";
                case Elementwise.Stabilize n -> {
                    // z - eps where z < 0, else z + eps (0, -0 and NaN: z + eps)
                    String z = name(n.z());
                    String eps = constant(n.eps());
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

package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.backend.support.ElementwiseProgram;
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

    /**
     * One statement per distinct node, in {@link ElementwiseProgram}'s evaluation order, then the
     * tuple of results (each a tensor of its own).
     *
     * @throws IllegalArgumentException if an expression names an input beyond {@code inputs}
     */
    static Script translate(List<Elementwise> expressions, int inputs) {
        ElementwiseProgram program = ElementwiseProgram.compile(expressions, inputs);
        String[] names = new String[program.nodeCount()];
        StringBuilder code = new StringBuilder();
        Constants constants = new Constants();
        for (int i = 0; i < names.length; i++) {
            int[] operands = program.operands(i);
            String a = operands.length > 0 ? names[operands[0]] : null;
            String b = operands.length > 1 ? names[operands[1]] : null;
            names[i] = switch (program.node(i)) {
                case Elementwise.Input in -> "x" + in.index();
                case Elementwise.Clamp c when c.min() == Float.NEGATIVE_INFINITY && c.max() == Float.POSITIVE_INFINITY ->
                        a; // max(x, -inf) and min(x, inf) are x, NaN included
                case Elementwise e -> {
                    code.append('v').append(i).append(" = ").append(statement(e, a, b, constants)).append('\n');
                    yield "v" + i;
                }
            };
        }
        List<String> results = new ArrayList<>(expressions.size());
        Set<String> returned = new HashSet<>();
        for (int o = 0; o < program.outputCount(); o++) {
            String v = names[program.output(o)];
            // an input, or a result already returned, is copied: no result aliases another tensor
            results.add(v.startsWith("x") || !returned.add(v) ? "torch.clone(" + v + ")" : v);
        }
        String body = code + "return (" + String.join(", ", results) + (results.size() == 1 ? ",)" : ")");
        float[] values = constants.values();
        return new Script(new Script.Shape(body, inputs, values.length, expressions.size()), values);
    }

    /** The constants of a formula, each once (-0 and 0 apart), in the order of their names c0, c1, ... */
    private static final class Constants {
        private final List<Integer> bits = new ArrayList<>();

        String name(float value) {
            int b = Float.floatToRawIntBits(value);
            int index = bits.indexOf(b);
            if (index < 0) {
                index = bits.size();
                bits.add(b);
            }
            return "c" + index;
        }

        float[] values() {
            float[] out = new float[bits.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = Float.intBitsToFloat(bits.get(i));
            }
            return out;
        }
    }

    /** Node {@code e} over its operands' names {@code a} and {@code b} (null where it has fewer). */
    private static String statement(Elementwise e, String a, String b, Constants constants) {
        return switch (e) {
            case Elementwise.Add _ -> call("add", a, b);
            case Elementwise.Subtract _ -> call("sub", a, b);
            case Elementwise.Multiply _ -> call("mul", a, b);
            case Elementwise.Divide _ -> call("div", a, b);
            case Elementwise.Scale n -> call("mul", a, constants.name(n.factor()));
            case Elementwise.Abs _ -> call("abs", a);
            case Elementwise.Clamp n -> {
                // Java's min(max(x, lo), hi): hi where lo > hi, NaN stays NaN; an infinite side is no op
                String x = a;
                if (n.min() != Float.NEGATIVE_INFINITY) {
                    x = call("clamp_min", x, constants.name(n.min()));
                }
                yield n.max() == Float.POSITIVE_INFINITY ? x : call("clamp_max", x, constants.name(n.max()));
            }
            // 1 where x > 0, else 0 (NaN and -0 included)
            case Elementwise.PositiveMask _ -> call("gt", a, "0.0") + ".float()";
            case Elementwise.Stabilize n -> {
                // z - eps where z < 0, else z + eps (0, -0 and NaN: z + eps)
                String eps = constants.name(n.eps());
                yield "torch.where(" + call("lt", a, "0.0") + ", " + call("sub", a, eps) + ", " + call("add", a, eps) + ")";
            }
            case Elementwise.Input in -> throw new IllegalStateException("input " + in.index() + " is no statement");
        };
    }

    private static String call(String op, String... args) {
        return "torch." + op + "(" + String.join(", ", args) + ")";
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

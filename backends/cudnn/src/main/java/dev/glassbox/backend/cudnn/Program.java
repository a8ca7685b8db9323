package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.backend.support.ElementwiseProgram;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code Program} struct of {@code kernels.cu}'s {@code evaluate} kernel: the distinct
 * nodes of some elementwise expressions in evaluation order, each as the op code of the
 * primitive it means (the one the primitive itself launches, so a fused result is the
 * primitives' to the last bit) and its operand nodes, and which nodes are the results; and
 * which of the caller's inputs go to the kernel's input slots (those the expressions read).
 *
 * @param struct the struct, {@link #INTS} ints
 * @param inputs for each input slot in order, the index of the caller's input it reads
 */
record Program(int[] struct, int[] inputs) {
    static final int MAX_NODES = 32;
    static final int MAX_INPUTS = 4;
    static final int MAX_RESULTS = 4;
    /** nodes, results, code[32], a[32], b[32], p[32], q[32] (float bits), result[4]. */
    static final int INTS = 2 + 5 * MAX_NODES + MAX_RESULTS;

    /**
     * The program for {@code expressions} over {@code inputs} inputs, or null where they have
     * more nodes, read more inputs or have more results than the kernel takes (the caller then
     * runs the primitives).
     *
     * @throws IllegalArgumentException if an expression names an input beyond {@code inputs}
     */
    static Program of(List<Elementwise> expressions, int inputs) {
        ElementwiseProgram program = ElementwiseProgram.compile(expressions, inputs);
        int nodes = program.nodeCount();
        int results = program.outputCount();
        int[] slots = new int[inputs]; // slot + 1 of each input read, 0 for unread
        List<Integer> read = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            if (program.node(i) instanceof Elementwise.Input in && slots[in.index()] == 0) {
                read.add(in.index());
                slots[in.index()] = read.size();
            }
        }
        if (nodes > MAX_NODES || read.size() > MAX_INPUTS || results > MAX_RESULTS) {
            return null;
        }
        int[] struct = new int[INTS];
        struct[0] = nodes;
        struct[1] = results;
        for (int i = 0; i < nodes; i++) {
            int[] operands = program.operands(i);
            float p = 0f;
            float q = 0f;
            int code = switch (program.node(i)) {
                case Elementwise.Input in -> {
                    operands = new int[] {slots[in.index()] - 1};
                    yield Kernel.INPUT;
                }
                case Elementwise.Add _ -> Kernel.ADD;
                case Elementwise.Subtract _ -> Kernel.SUB;
                case Elementwise.Multiply _ -> Kernel.MUL;
                case Elementwise.Divide _ -> Kernel.DIV;
                case Elementwise.Scale s -> {
                    p = s.factor();
                    yield Kernel.SCALE;
                }
                case Elementwise.Abs _ -> Kernel.ABS;
                case Elementwise.Clamp c -> {
                    p = c.min();
                    q = c.max();
                    yield Kernel.CLAMP;
                }
                case Elementwise.PositiveMask _ -> Kernel.POSITIVE_MASK;
                case Elementwise.Stabilize s -> {
                    p = s.eps();
                    yield Kernel.STABILIZE;
                }
            };
            struct[2 + i] = code;
            struct[2 + MAX_NODES + i] = operands[0];
            struct[2 + 2 * MAX_NODES + i] = operands[operands.length - 1]; // a again for a unary op
            struct[2 + 3 * MAX_NODES + i] = Float.floatToRawIntBits(p);
            struct[2 + 4 * MAX_NODES + i] = Float.floatToRawIntBits(q);
        }
        for (int o = 0; o < results; o++) {
            struct[2 + 5 * MAX_NODES + o] = program.output(o);
        }
        return new Program(struct, read.stream().mapToInt(Integer::intValue).toArray());
    }
}

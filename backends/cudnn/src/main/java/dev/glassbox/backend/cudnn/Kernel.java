package dev.glassbox.backend.cudnn;

import java.util.List;

/**
 * The kernels of {@code kernels.cu} and their parameters after the leading element count, as
 * the launchers marshal them: {@link Integer} as {@code int}, {@link Float} as {@code float},
 * {@link Long} as a 64-bit value or address, {@code int[]} as a struct of that many ints
 * passed by value. The op codes are the {@code enum}s of kernels.cu (a test checks both
 * against the source and the PTX).
 */
enum Kernel {
    /** {@code (int op, float p, float q, Layout, a, b, c, y)}. */
    STRIDED("strided", Param.INT, Param.FLOAT, Param.FLOAT, Param.layout(Layout.INTS), Param.ADDRESS, Param.ADDRESS,
            Param.ADDRESS, Param.ADDRESS),
    /** {@code (int op, float p, float q, float scale, Layout outer, Layout inner, a, b, c, y)}. */
    REDUCE("reduce", Param.INT, Param.FLOAT, Param.FLOAT, Param.FLOAT, Param.layout(Layout.INTS),
            Param.layout(Layout.INTS), Param.ADDRESS, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int parts, int chunk, int op, float p, float q, Layout outer, Layout inner, a, b, c, double *partial)}. */
    REDUCE_PARTS("reduce_parts", Param.INT, Param.INT, Param.INT, Param.FLOAT, Param.FLOAT, Param.layout(Layout.INTS),
            Param.layout(Layout.INTS), Param.ADDRESS, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int parts, float scale, Layout outer, const double *partial, float *y)}. */
    REDUCE_JOIN("reduce_join", Param.INT, Param.FLOAT, Param.layout(Layout.INTS), Param.ADDRESS, Param.ADDRESS),
    /** {@code (Program, x0, x1, x2, x3, y0, y1, y2, y3)}: inputs and results beyond the program's are 0. */
    EVALUATE("evaluate", Param.layout(Program.INTS), Param.ADDRESS, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS,
            Param.ADDRESS, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int adjoint, const int *index, const int *starts, float *x, float *y)}. */
    GATHER("gather", Param.INT, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int kind, Pool, x, dy, out)}; Pool is 15 ints: h, w, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, include_pad. */
    POOL2D("pool2d", Param.INT, Param.layout(15), Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int kind, int area, x, dy, out)}. */
    GLOBAL_POOL("global_pool", Param.INT, Param.INT, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS),
    /** {@code (int kind, int len, int inner, x, dy, out)}. */
    SOFTMAX("softmax", Param.INT, Param.INT, Param.INT, Param.ADDRESS, Param.ADDRESS, Param.ADDRESS);

    // strided(), reduce() and evaluate() op codes
    static final int COPY = 0;
    static final int FILL = 1;
    static final int ADD = 2;
    static final int SUB = 3;
    static final int MUL = 4;
    static final int DIV = 5;
    static final int SCALE = 6;
    static final int ABS = 7;
    static final int CLAMP = 8;
    static final int POSITIVE_MASK = 9;
    static final int STABILIZE = 10;
    static final int NEG = 11;
    static final int AFFINE = 12;
    static final int RELU = 13;
    static final int RELU_GRAD = 14;
    static final int LEAKY_RELU = 15;
    static final int LEAKY_RELU_GRAD = 16;
    static final int PRELU = 17;
    static final int PRELU_GRAD = 18;
    static final int ELU = 19;
    static final int ELU_GRAD = 20;
    static final int SIGMOID = 21;
    static final int SIGMOID_GRAD = 22;
    static final int TANH = 23;
    static final int TANH_GRAD = 24;
    static final int HARD_SIGMOID = 25;
    static final int HARD_SIGMOID_GRAD = 26;
    static final int HARD_SWISH = 27;
    static final int HARD_SWISH_GRAD = 28;
    static final int CLIP_GRAD = 29;
    static final int DIV_GRAD_A = 30;
    static final int DIV_GRAD_B = 31;
    /** evaluate() only: the node reads input {@code a}. */
    static final int INPUT = 32;
    // pool2d kinds
    static final int MAX_FORWARD = 0;
    static final int MAX_BACKWARD = 1;
    static final int AVG_FORWARD = 2;
    static final int AVG_BACKWARD = 3;
    // global_pool kinds
    static final int GLOBAL_MAX_FORWARD = 0;
    static final int GLOBAL_MAX_BACKWARD = 1;
    static final int GLOBAL_AVG_FORWARD = 2;
    static final int GLOBAL_AVG_BACKWARD = 3;
    // softmax kinds
    static final int SOFTMAX_FORWARD = 0;
    static final int LOG_SOFTMAX_FORWARD = 1;
    static final int SOFTMAX_GRAD = 2;
    static final int LOG_SOFTMAX_GRAD = 3;

    /** How a parameter is passed: a value of a Java type, or a struct of {@code ints} ints by value. */
    enum Type { INT, FLOAT, ADDRESS, STRUCT }

    /** A parameter; {@code ints} is the struct's size for {@link Type#STRUCT}, else 0. */
    record Param(Type type, int ints) {
        static final Param INT = new Param(Type.INT, 0);
        static final Param FLOAT = new Param(Type.FLOAT, 0);
        static final Param ADDRESS = new Param(Type.ADDRESS, 0);

        static Param layout(int ints) {
            return new Param(Type.STRUCT, ints);
        }
    }

    private final String symbol;
    private final List<Param> params;

    Kernel(String symbol, Param... params) {
        this.symbol = symbol;
        this.params = List.of(params);
    }

    /** The function's name in the PTX module and the twin library. */
    String symbol() {
        return symbol;
    }

    /** The parameters after the element count. */
    List<Param> params() {
        return params;
    }

    /** Checks that {@code args} fit {@link #params()}; the launchers rely on it. */
    void check(Object[] args) {
        if (args.length != params.size()) {
            throw new IllegalArgumentException(symbol + " takes " + params.size() + " arguments, got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Param p = params.get(i);
            Object a = args[i];
            boolean ok = switch (p.type()) {
                case INT -> a instanceof Integer;
                case FLOAT -> a instanceof Float;
                case ADDRESS -> a instanceof Long;
                case STRUCT -> a instanceof int[] s && s.length == p.ints();
            };
            if (!ok) {
                throw new IllegalArgumentException(symbol + " argument " + i + " must be " + p + ", got " + a);
            }
        }
    }
}

package dev.glassbox.onnx;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * A tensor known while loading: an initializer, a {@code Constant}, or the result of folding
 * shape arithmetic. Floating-point types are held as float32 ({@code float16}, {@code bfloat16}
 * and {@code double} converted), integer and boolean types as longs.
 *
 * <p>An integer element may be <em>the batch size</em> ({@link #batch}): a value that came from
 * the batch axis of an activation through {@code Shape} and was only moved around since, so
 * that a {@code Reshape} or {@code Expand} target can keep the batch axis symbolic. Arithmetic
 * that mixes it with other values is the caller's concern (see {@link #arith}).
 *
 * <p>Every constructor of a derived tensor checks its element count against {@link #MAX_FOLDED}
 * before allocating, so folding cannot be used to allocate unbounded memory.
 */
final class Const {
    /** The most elements a folded tensor (not an initializer, whose data is in the file) may have. */
    static final int MAX_FOLDED = 1 << 22;

    final int[] dims;
    /** ONNX element type ({@link Tensors#FLOAT}, {@link Tensors#INT64}, ...). */
    final int type;
    /** Values of floating-point tensors, else null. */
    final float[] f;
    /** Values of integer and boolean tensors, else null. */
    final long[] l;
    /** Which elements are the batch size; null when none is. */
    final boolean[] batch;

    private Const(int[] dims, int type, float[] f, long[] l, boolean[] batch) {
        this.dims = dims;
        this.type = type;
        this.f = f;
        this.l = l;
        this.batch = batch == null || !anyTrue(batch) ? null : batch;
    }

    static Const floats(int[] dims, float[] values) {
        return new Const(dims.clone(), Tensors.FLOAT, values, null, null);
    }

    static Const floats(int[] dims, int type, float[] values) {
        return new Const(dims.clone(), type, values, null, null);
    }

    static Const longs(int[] dims, int type, long[] values, boolean[] batch) {
        return new Const(dims.clone(), type, null, values, batch);
    }

    static Const longs(long... values) {
        return new Const(new int[] {values.length}, Tensors.INT64, null, values, null);
    }

    static Const vector(long[] values, boolean[] batch) {
        return new Const(new int[] {values.length}, Tensors.INT64, null, values, batch);
    }

    static Const scalarLong(long v, boolean isBatch) {
        return new Const(new int[0], Tensors.INT64, null, new long[] {v}, isBatch ? new boolean[] {true} : null);
    }

    boolean isFloat() {
        return f != null;
    }

    int size() {
        return f != null ? f.length : l.length;
    }

    int rank() {
        return dims.length;
    }

    double get(int i) {
        return f != null ? f[i] : l[i];
    }

    long getLong(int i) {
        return f != null ? (long) f[i] : l[i];
    }

    boolean isBatch(int i) {
        return batch != null && batch[i];
    }

    boolean hasBatch() {
        return batch != null;
    }

    /** The values as float32 (integers converted). */
    float[] toFloats() {
        if (f != null) {
            return f;
        }
        float[] out = new float[l.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = l[i];
        }
        return out;
    }

    /** The values as longs (floats truncated toward zero, as a C cast). */
    long[] toLongs() {
        if (l != null) {
            return l;
        }
        long[] out = new long[f.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) f[i];
        }
        return out;
    }

    HostTensor toHost() {
        return HostTensor.wrap(Shape.of(dims), toFloats());
    }

    Shape shape() {
        return Shape.of(dims);
    }

    @Override
    public String toString() {
        return "Const" + Arrays.toString(dims) + (size() <= 8 ? (f != null ? Arrays.toString(f) : Arrays.toString(l)) : "");
    }

    // ---------------------------------------------------------------- element counts and indexing

    /** The element count of {@code dims}, or -1 when it exceeds {@code limit}. */
    static long count(int[] dims) {
        long n = 1;
        for (int d : dims) {
            n *= d;
            if (n > Integer.MAX_VALUE) {
                return Long.MAX_VALUE;
            }
        }
        return n;
    }

    /** An {@link IllegalStateException} (turned into a clear error by the caller) when too large. */
    static int checkedCount(int[] dims) {
        long n = count(dims);
        if (n > MAX_FOLDED) {
            throw new FoldTooLarge(dims);
        }
        return (int) n;
    }

    static final class FoldTooLarge extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FoldTooLarge(int[] dims) {
            super("folding would create a constant of shape " + Arrays.toString(dims) + ", more than "
                    + MAX_FOLDED + " elements");
        }
    }

    static int[] strides(int[] dims) {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= dims[d];
        }
        return s;
    }

    /** Functional interface: the source flat index of an output multi-index. */
    interface IndexMap {
        int source(int[] outIndex);
    }

    /** A new tensor of shape {@code outDims} whose element at each index is this one's at {@code map}. */
    Const gather(int[] outDims, IndexMap map) {
        int n = checkedCount(outDims);
        float[] nf = f != null ? new float[n] : null;
        long[] nl = l != null ? new long[n] : null;
        boolean[] nb = batch != null ? new boolean[n] : null;
        int[] idx = new int[outDims.length];
        for (int o = 0; o < n; o++) {
            int s = map.source(idx);
            if (nf != null) {
                nf[o] = f[s];
            } else {
                nl[o] = l[s];
            }
            if (nb != null) {
                nb[o] = batch[s];
            }
            for (int d = outDims.length - 1; d >= 0; d--) {
                if (++idx[d] < outDims[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return new Const(outDims.clone(), type, nf, nl, nb);
    }

    // ---------------------------------------------------------------- folding ops

    Const reshape(int[] newDims) {
        if (count(newDims) != size()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(dims) + " to " + Arrays.toString(newDims));
        }
        return new Const(newDims.clone(), type, f, l, batch);
    }

    Const transpose(int[] perm) {
        int[] out = new int[perm.length];
        int[] st = strides(dims);
        int[] ps = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            out[i] = dims[perm[i]];
            ps[i] = st[perm[i]];
        }
        return gather(out, idx -> {
            int s = 0;
            for (int i = 0; i < idx.length; i++) {
                s += idx[i] * ps[i];
            }
            return s;
        });
    }

    /** Per axis {@code {first, step, count}} as {@code Op.Slice.ranges} computes them. */
    Const slice(int[][] ranges) {
        int[] out = new int[dims.length];
        for (int d = 0; d < dims.length; d++) {
            out[d] = ranges[d][2];
        }
        int[] st = strides(dims);
        return gather(out, idx -> {
            int s = 0;
            for (int d = 0; d < idx.length; d++) {
                s += (ranges[d][0] + idx[d] * ranges[d][1]) * st[d];
            }
            return s;
        });
    }

    /** Broadcasts to {@code target} (which must be the broadcast of this shape and target). */
    Const broadcastTo(int[] target) {
        int[] st = strides(dims);
        int offset = target.length - dims.length;
        return gather(target, idx -> {
            int s = 0;
            for (int d = 0; d < dims.length; d++) {
                s += (dims[d] == 1 ? 0 : idx[d + offset]) * st[d];
            }
            return s;
        });
    }

    /** ONNX Gather along {@code axis} with (already normalised, in-range) {@code indices}. */
    Const gatherAxis(int axis, int[] indices, int[] indexDims) {
        int[] out = new int[dims.length - 1 + indexDims.length];
        System.arraycopy(dims, 0, out, 0, axis);
        System.arraycopy(indexDims, 0, out, axis, indexDims.length);
        System.arraycopy(dims, axis + 1, out, axis + indexDims.length, dims.length - axis - 1);
        int[] st = strides(dims);
        int[] ist = strides(indexDims);
        int k = indexDims.length;
        return gather(out, idx -> {
            int s = 0;
            for (int d = 0; d < axis; d++) {
                s += idx[d] * st[d];
            }
            int flat = 0;
            for (int j = 0; j < k; j++) {
                flat += idx[axis + j] * ist[j];
            }
            s += indices[flat] * st[axis];
            for (int d = axis + 1; d < dims.length; d++) {
                s += idx[d - 1 + k] * st[d];
            }
            return s;
        });
    }

    static Const concat(List<Const> parts, int axis) {
        Const first = parts.get(0);
        int[] out = first.dims.clone();
        long total = 0;
        boolean floats = false;
        boolean anyBatch = false;
        for (Const c : parts) {
            if (c.rank() != first.rank()) {
                throw new IllegalArgumentException("Concat of ranks " + first.rank() + " and " + c.rank());
            }
            for (int d = 0; d < out.length; d++) {
                if (d != axis && c.dims[d] != first.dims[d]) {
                    throw new IllegalArgumentException("Concat of shapes " + Arrays.toString(first.dims) + " and "
                            + Arrays.toString(c.dims) + " on axis " + axis);
                }
            }
            total += c.dims[axis];
            floats |= c.isFloat();
            anyBatch |= c.batch != null;
        }
        out[axis] = Math.toIntExact(total);
        int n = checkedCount(out);
        float[] nf = floats ? new float[n] : null;
        long[] nl = floats ? null : new long[n];
        boolean[] nb = anyBatch ? new boolean[n] : null;
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= out[d];
        }
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (Const c : parts) {
                int chunk = c.dims[axis];
                for (int d = axis + 1; d < out.length; d++) {
                    chunk *= out[d];
                }
                for (int i = 0; i < chunk; i++) {
                    int s = o * chunk + i;
                    if (nf != null) {
                        nf[pos] = (float) c.get(s);
                    } else {
                        nl[pos] = c.l[s];
                    }
                    if (nb != null) {
                        nb[pos] = c.isBatch(s);
                    }
                    pos++;
                }
            }
        }
        int type = floats ? Tensors.FLOAT : first.type;
        return new Const(out, type, nf, nl, nb);
    }

    /** ONNX Cast of a constant to {@code to} (C-style conversions, as ONNX Runtime does). */
    Const cast(int to) {
        if (Tensors.isFloating(to)) {
            float[] out = f != null ? f : toFloats();
            if (to == Tensors.FLOAT16 || to == Tensors.BFLOAT16) {
                out = out.clone();
                for (int i = 0; i < out.length; i++) {
                    out[i] = to == Tensors.FLOAT16 ? Float.float16ToFloat(Float.floatToFloat16(out[i]))
                            : Tensors.roundToBfloat16(out[i]);
                }
            }
            return new Const(dims, to, out, null, batch);
        }
        long[] out = new long[size()];
        for (int i = 0; i < out.length; i++) {
            if (to == Tensors.BOOL) {
                out[i] = get(i) != 0 ? 1 : 0;
            } else if (f != null) {
                float v = f[i];
                out[i] = Float.isNaN(v) ? 0 : Tensors.wrap((long) v, to);
            } else {
                out[i] = Tensors.wrap(l[i], to);
            }
        }
        return new Const(dims, to, null, out, batch);
    }

    /** The binary arithmetic ops that fold. */
    enum Arith { ADD, SUB, MUL, DIV }

    /** What {@link #arith} does with an element that is the batch size. */
    interface BatchMix {
        /** Called when an element that is the batch size meets a value that changes it. */
        void mixed(String what);
    }

    /**
     * {@code a op b} with numpy broadcasting: in float32 if either is floating, else in int64
     * (division truncating toward zero, as ONNX Runtime). The batch size survives {@code + 0},
     * {@code - 0}, {@code * 1} and {@code / 1}; any other arithmetic on it calls {@code mix}.
     */
    static Const arith(Arith op, Const a, Const b, BatchMix mix) {
        int[] out = broadcastDims(a.dims, b.dims);
        Const ba = Arrays.equals(a.dims, out) ? a : a.broadcastTo(out);
        Const bb = Arrays.equals(b.dims, out) ? b : b.broadcastTo(out);
        int n = ba.size();
        boolean floats = a.isFloat() || b.isFloat();
        boolean[] nb = null;
        if (ba.batch != null || bb.batch != null) {
            nb = new boolean[n];
            for (int i = 0; i < n; i++) {
                boolean x = ba.isBatch(i);
                boolean y = bb.isBatch(i);
                if (!x && !y) {
                    continue;
                }
                double yv = bb.get(i);
                double xv = ba.get(i);
                boolean keeps = switch (op) {
                    case ADD -> (x && !y && yv == 0) || (y && !x && xv == 0);
                    case SUB -> x && !y && yv == 0;
                    case MUL -> (x && !y && yv == 1) || (y && !x && xv == 1);
                    case DIV -> x && !y && yv == 1;
                };
                if (!keeps) {
                    mix.mixed(op.name().charAt(0) + op.name().substring(1).toLowerCase(java.util.Locale.ROOT));
                }
                nb[i] = keeps;
            }
        }
        if (floats) {
            float[] r = new float[n];
            for (int i = 0; i < n; i++) {
                float x = (float) ba.get(i);
                float y = (float) bb.get(i);
                r[i] = switch (op) {
                    case ADD -> x + y;
                    case SUB -> x - y;
                    case MUL -> x * y;
                    case DIV -> x / y;
                };
            }
            return new Const(out, a.isFloat() ? a.type : b.type, r, null, nb);
        }
        long[] r = new long[n];
        for (int i = 0; i < n; i++) {
            long x = ba.l[i];
            long y = bb.l[i];
            r[i] = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> {
                    if (y == 0) {
                        throw new IllegalArgumentException("integer division by zero");
                    }
                    yield x / y;
                }
            };
        }
        return new Const(out, a.type, null, r, nb);
    }

    /**
     * ONNX {@code Equal} of two constants (numpy broadcasting), as a bool tensor. The batch size
     * equals no value below 1; comparing it with any other value calls {@code mix}.
     */
    static Const equal(Const a, Const b, BatchMix mix) {
        int[] out = broadcastDims(a.dims, b.dims);
        Const ba = Arrays.equals(a.dims, out) ? a : a.broadcastTo(out);
        Const bb = Arrays.equals(b.dims, out) ? b : b.broadcastTo(out);
        long[] r = new long[ba.size()];
        for (int i = 0; i < r.length; i++) {
            boolean x = ba.isBatch(i);
            boolean y = bb.isBatch(i);
            if (x != y && (x ? bb.get(i) : ba.get(i)) >= 1) {
                mix.mixed("Equal");
            }
            r[i] = x != y ? 0 : ba.get(i) == bb.get(i) ? 1 : 0;
        }
        return new Const(out, Tensors.BOOL, null, r, null);
    }

    /** ONNX {@code Where} of constants (numpy broadcasting of all three). */
    static Const where(Const cond, Const x, Const y) {
        int[] out = broadcastDims(broadcastDims(cond.dims, x.dims), y.dims);
        Const bc = cond.broadcastTo(out);
        Const bx = x.broadcastTo(out);
        Const by = y.broadcastTo(out);
        int n = bc.size();
        boolean floats = x.isFloat() || y.isFloat();
        float[] nf = floats ? new float[n] : null;
        long[] nl = floats ? null : new long[n];
        boolean[] nb = x.batch != null || y.batch != null ? new boolean[n] : null;
        for (int i = 0; i < n; i++) {
            Const pick = bc.get(i) != 0 ? bx : by;
            if (floats) {
                nf[i] = (float) pick.get(i);
            } else {
                nl[i] = pick.l[i];
            }
            if (nb != null) {
                nb[i] = pick.isBatch(i);
            }
        }
        return new Const(out, floats ? (x.isFloat() ? x.type : y.type) : x.type, nf, nl, nb);
    }

    /** Numpy broadcasting of two shapes; an {@link IllegalArgumentException} when they do not broadcast. */
    static int[] broadcastDims(int[] a, int[] b) {
        return Shape.broadcast(Shape.of(a), Shape.of(b)).dims();
    }

    /** A tensor of shape {@code dims} filled with element 0 of {@code value}. */
    static Const filled(int[] dims, Const value) {
        int n = checkedCount(dims);
        if (value.isFloat()) {
            float[] out = new float[n];
            Arrays.fill(out, value.f[0]);
            return new Const(dims.clone(), value.type, out, null, null);
        }
        long[] out = new long[n];
        Arrays.fill(out, value.l[0]);
        return new Const(dims.clone(), value.type, null, out, null);
    }

    private static boolean anyTrue(boolean[] b) {
        for (boolean x : b) {
            if (x) {
                return true;
            }
        }
        return false;
    }
}

package dev.glassbox.backend.java;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Checks arguments and dispatches each op to its kernel. Parameters are read straight from
 * the op's {@link HostTensor}s: on the heap there is nothing to upload or cache, so a rule
 * that swaps weights per call costs nothing extra.
 */
final class JavaKernels implements Kernels {
    private final Parallel par;

    JavaKernels(Parallel par) {
        this.par = par;
    }

    /**
     * Whether this backend implements {@code op}: always, for the ops this bundle was compiled
     * against. The switch has no default, so a new op in the API fails compilation here, and an
     * op added to the API after this bundle was built throws {@link MatchException}.
     */
    static boolean implemented(Op op) {
        return switch (op) {
            case Op.Dense _, Op.Conv2d _, Op.Relu _, Op.MaxPool2d _, Op.AvgPool2d _, Op.GlobalAvgPool _,
                 Op.Add _, Op.Flatten _, Op.Reshape _, Op.Softmax _, Op.LogSoftmax _ -> true;
        };
    }

    /**
     * The output shape of {@code op} for inputs of the given shapes, or an
     * {@link IllegalArgumentException} naming the op and the shapes.
     */
    static Shape outputShape(Op op, List<Shape> in) {
        if (in.size() != op.arity()) {
            throw new IllegalArgumentException(op.type() + ": takes " + op.arity() + " inputs, got " + in.size());
        }
        Shape x = in.get(0);
        return switch (op) {
            case Op.Dense d -> DenseKernel.outputShape(d, x);
            case Op.Conv2d c -> ConvKernel.outputShape(c, x);
            case Op.Relu _ -> x;
            case Op.MaxPool2d m -> PoolKernels.maxOutputShape(m, x);
            case Op.AvgPool2d a -> PoolKernels.avgOutputShape(a, x);
            case Op.GlobalAvgPool _ -> PoolKernels.globalOutputShape(x);
            case Op.Add _ -> {
                if (!x.equals(in.get(1))) {
                    throw new IllegalArgumentException("Add: shapes " + x + " and " + in.get(1) + " differ");
                }
                yield x;
            }
            case Op.Flatten f -> flattenShape(f, x);
            case Op.Reshape r -> r.outputShape(x);
            case Op.Softmax sm -> softmaxShape("Softmax", sm.axis(), x);
            case Op.LogSoftmax sm -> softmaxShape("LogSoftmax", sm.axis(), x);
        };
    }

    private static Shape flattenShape(Op.Flatten f, Shape x) {
        int axis = f.axis() < 0 ? f.axis() + x.rank() : f.axis();
        if (axis < 0 || axis > x.rank()) {
            throw new IllegalArgumentException("Flatten: axis " + f.axis() + " out of range for input " + x);
        }
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= x.dim(d);
        }
        return Shape.of(outer, outer == 0 ? 0 : x.size() / outer);
    }

    private static Shape softmaxShape(String name, int axis, Shape x) {
        SoftmaxKernel.axis(name, axis, x);
        return x;
    }

    @Override
    public Tensor upload(HostTensor host, TensorScope scope) {
        return scope(scope).adopt(host.shape(), host.data().clone(), "upload");
    }

    @Override
    public Tensor forward(Op op, List<Tensor> inputs, TensorScope scope) {
        JavaScope s = scope(scope);
        List<JavaTensor> in = tensors(op, inputs);
        Shape outShape = outputShape(op, shapes(in));
        JavaTensor x = in.get(0);
        Shape xs = x.shape();
        float[] xd = x.data();
        float[] y = switch (op) {
            case Op.Dense d -> DenseKernel.forward(d, xs, xd, par);
            case Op.Conv2d c -> ConvKernel.forward(c, xs, xd, par);
            case Op.Relu _ -> relu(xd);
            case Op.MaxPool2d m -> PoolKernels.maxForward(m, xs, xd, par);
            case Op.AvgPool2d a -> PoolKernels.avgForward(a, xs, xd, par);
            case Op.GlobalAvgPool _ -> PoolKernels.globalForward(xs, xd);
            case Op.Add _ -> sum(xd, in.get(1).data());
            // Reshapes share the array: tensors are never written after creation.
            case Op.Flatten _ -> xd;
            case Op.Reshape _ -> xd;
            case Op.Softmax sm -> SoftmaxKernel.forward(xs, SoftmaxKernel.axis("Softmax", sm.axis(), xs), xd, false);
            case Op.LogSoftmax sm -> SoftmaxKernel.forward(xs, SoftmaxKernel.axis("LogSoftmax", sm.axis(), xs), xd, true);
        };
        return s.adopt(outShape, y, op.type() + " output");
    }

    /** {@code output} is not needed: every kernel recomputes what it uses (argmax, softmax) from the inputs. */
    @Override
    public List<Tensor> inputGradients(Op op, List<Tensor> inputs, Tensor output, Tensor outputGradient,
                                       TensorScope scope) {
        JavaScope s = scope(scope);
        List<JavaTensor> in = tensors(op, inputs);
        Shape outShape = outputShape(op, shapes(in));
        JavaTensor g = tensor(op, outputGradient);
        if (!g.shape().equals(outShape)) {
            throw new IllegalArgumentException(op.type() + ": output gradient " + g.shape() + " does not match output "
                    + outShape + " for input " + in.get(0).shape());
        }
        JavaTensor x = in.get(0);
        Shape xs = x.shape();
        float[] dy = g.data();
        String label = op.type() + " input gradient";
        if (op instanceof Op.Add) {
            // Both inputs receive dy unchanged; sharing the array is safe (see JavaTensor).
            return List.of(s.adopt(xs, dy, label), s.adopt(xs, dy, label));
        }
        float[] dx = switch (op) {
            case Op.Dense d -> DenseKernel.inputGradient(d, xs, dy, par);
            case Op.Conv2d c -> ConvKernel.inputGradient(c, xs, dy, par);
            case Op.Relu _ -> reluGradient(x.data(), dy);
            case Op.MaxPool2d m -> PoolKernels.maxInputGradient(m, xs, x.data(), dy, par);
            case Op.AvgPool2d a -> PoolKernels.avgInputGradient(a, xs, dy, par);
            case Op.GlobalAvgPool _ -> PoolKernels.globalInputGradient(xs, dy);
            case Op.Add _ -> throw new AssertionError("handled above");
            case Op.Flatten _ -> dy;
            case Op.Reshape _ -> dy;
            case Op.Softmax sm -> SoftmaxKernel.inputGradient(xs, SoftmaxKernel.axis("Softmax", sm.axis(), xs), x.data(), dy, false);
            case Op.LogSoftmax sm -> SoftmaxKernel.inputGradient(xs, SoftmaxKernel.axis("LogSoftmax", sm.axis(), xs), x.data(), dy, true);
        };
        return List.of(s.adopt(xs, dx, label));
    }

    // Each elementwise kernel spells out its own loop: one shared loop taking a lambda would make
    // a megamorphic call per element, which the JIT cannot inline.
    @Override
    public Tensor add(Tensor a, Tensor b, TensorScope scope) {
        JavaScope s = scope(scope);
        JavaTensor x = tensor("add", a);
        JavaTensor y = sameShape("add", x, tensor("add", b));
        return s.adopt(x.shape(), sum(x.data(), y.data()), "add result");
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b, TensorScope scope) {
        JavaScope s = scope(scope);
        JavaTensor x = tensor("multiply", a);
        JavaTensor y = sameShape("multiply", x, tensor("multiply", b));
        float[] xd = x.data();
        float[] yd = y.data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = xd[i] * yd[i];
        }
        return s.adopt(x.shape(), out, "multiply result");
    }

    @Override
    public Tensor scale(Tensor a, float factor, TensorScope scope) {
        JavaScope s = scope(scope);
        float[] xd = tensor("scale", a).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = factor * xd[i];
        }
        return s.adopt(a.shape(), out, "scale result");
    }

    @Override
    public Tensor abs(Tensor a, TensorScope scope) {
        JavaScope s = scope(scope);
        float[] xd = tensor("abs", a).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.abs(xd[i]);
        }
        return s.adopt(a.shape(), out, "abs result");
    }

    @Override
    public Tensor subtract(Tensor a, Tensor b, TensorScope scope) {
        JavaScope s = scope(scope);
        JavaTensor x = tensor("subtract", a);
        float[] xd = x.data();
        float[] yd = sameShape("subtract", x, tensor("subtract", b)).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = xd[i] - yd[i];
        }
        return s.adopt(x.shape(), out, "subtract result");
    }

    @Override
    public Tensor divide(Tensor a, Tensor b, TensorScope scope) {
        JavaScope s = scope(scope);
        JavaTensor x = tensor("divide", a);
        float[] xd = x.data();
        float[] yd = sameShape("divide", x, tensor("divide", b)).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = xd[i] / yd[i];
        }
        return s.adopt(x.shape(), out, "divide result");
    }

    @Override
    public Tensor clamp(Tensor a, float min, float max, TensorScope scope) {
        JavaScope s = scope(scope);
        float[] xd = tensor("clamp", a).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.min(Math.max(xd[i], min), max);
        }
        return s.adopt(a.shape(), out, "clamp result");
    }

    @Override
    public Tensor positiveMask(Tensor a, TensorScope scope) {
        JavaScope s = scope(scope);
        float[] xd = tensor("positiveMask", a).data();
        float[] out = new float[xd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = xd[i] > 0f ? 1f : 0f;
        }
        return s.adopt(a.shape(), out, "positiveMask result");
    }

    @Override
    public Tensor stabilize(Tensor z, float eps, TensorScope scope) {
        JavaScope s = scope(scope);
        float[] zd = tensor("stabilize", z).data();
        float[] out = new float[zd.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = zd[i] + (zd[i] < 0f ? -eps : eps);
        }
        return s.adopt(z.shape(), out, "stabilize result");
    }

    private static float[] relu(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = Math.max(x[i], 0f);
        }
        return y;
    }

    /** The subgradient at 0 is 0, as in PyTorch. */
    private static float[] reluGradient(float[] x, float[] dy) {
        float[] dx = new float[x.length];
        for (int i = 0; i < dx.length; i++) {
            dx[i] = x[i] > 0f ? dy[i] : 0f;
        }
        return dx;
    }

    private static float[] sum(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    private static JavaScope scope(TensorScope scope) {
        if (scope instanceof JavaScope s) {
            return s;
        }
        throw new IllegalArgumentException("scope " + scope + " does not belong to the java backend");
    }

    private static List<JavaTensor> tensors(Op op, List<Tensor> inputs) {
        Objects.requireNonNull(inputs, "inputs");
        List<JavaTensor> out = new ArrayList<>(inputs.size());
        for (Tensor t : inputs) {
            out.add(tensor(op, t));
        }
        return out;
    }

    private static JavaTensor tensor(Op op, Tensor t) {
        return tensor(op.type(), t);
    }

    private static JavaTensor tensor(String what, Tensor t) {
        if (t instanceof JavaTensor j) {
            return j;
        }
        throw new IllegalArgumentException(what + ": tensor " + t + " (" + (t == null ? "null" : t.getClass().getName())
                + ") does not belong to the java backend");
    }

    private static JavaTensor sameShape(String what, JavaTensor a, JavaTensor b) {
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(what + ": shapes " + a.shape() + " and " + b.shape() + " differ");
        }
        return b;
    }

    private static List<Shape> shapes(List<JavaTensor> in) {
        List<Shape> out = new ArrayList<>(in.size());
        for (JavaTensor t : in) {
            out.add(t.shape());
        }
        return out;
    }
}

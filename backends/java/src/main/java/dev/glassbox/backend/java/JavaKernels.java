package dev.glassbox.backend.java;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.support.Arguments;
import dev.glassbox.backend.support.ElementwiseProgram;
import dev.glassbox.backend.support.Indexing;
import java.util.ArrayList;
import java.util.List;

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

    @Override
    public Tensor upload(HostTensor host, TensorScope scope) {
        return scope(scope).adopt(host.shape(), host.data().clone(), "upload");
    }

    /**
     * Shapes are checked by {@link Op#outputShape}, the one definition loaders, backends and
     * explainers share. Results that only reinterpret their input (Flatten, Reshape, a Constant)
     * share its array: tensors are never written after creation.
     */
    @Override
    public Tensor forward(Op op, List<Tensor> inputs, TensorScope scope) {
        JavaScope s = scope(scope);
        List<JavaTensor> in = tensors(op, inputs);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        Shape xs = shapes.isEmpty() ? null : shapes.get(0);
        float[] x = in.isEmpty() ? null : in.get(0).data();
        float[] y = switch (op) {
            case Op.Constant c -> c.value().data();
            case Op.Dense d -> DenseKernel.forward(d, xs, x, par);
            case Op.Conv2d c -> ConvKernel.forward(c, xs, x, par);
            case Op.ConvTranspose2d c -> ConvKernel.forward(c, xs, x, par);
            case Op.BatchNorm b -> ActivationKernels.batchNorm(b, xs, x);
            case Op.Activation a -> ActivationKernels.forward(a, xs, x);
            case Op.MaxPool2d m -> PoolKernels.maxForward(m, xs, x, par);
            case Op.AvgPool2d a -> PoolKernels.avgForward(a, xs, x, par);
            case Op.GlobalAvgPool _ -> PoolKernels.globalAvgForward(xs, x, par);
            case Op.GlobalMaxPool _ -> PoolKernels.globalMaxForward(xs, x, par);
            case Op.Binary b -> BinaryKernels.forward(b, xs, x, shapes.get(1), in.get(1).data(), out);
            case Op.MatMul _ -> MatMulKernel.forward(xs, x, shapes.get(1), in.get(1).data(), par);
            case Op.ReduceSum r -> RoutingKernels.reduce(xs, x, r.axes(), false);
            case Op.ReduceMean r -> RoutingKernels.reduce(xs, x, r.axes(), true);
            case Op.Flatten _, Op.Reshape _ -> x;
            case Op.Transpose t -> RoutingKernels.transpose(t, xs, x, out);
            case Op.Concat c -> RoutingKernels.concat(c, shapes, data(in), out);
            case Op.Slice sl -> RoutingKernels.slice(sl, xs, x, out);
            case Op.Pad p -> RoutingKernels.pad(p, xs, x, out);
            case Op.Expand _ -> Strided.expand(x, xs, out);
            case Op.ResizeNearest r -> RoutingKernels.resize(r, xs, x, out);
            case Op.Softmax sm -> SoftmaxKernel.forward(Indexing.softmaxView(xs, sm.axis(), sm.overTrailingAxes()), x, false);
            case Op.LogSoftmax sm -> SoftmaxKernel.forward(Indexing.softmaxView(xs, sm.axis(), sm.overTrailingAxes()), x, true);
        };
        return s.adopt(out, y, op.type() + " output");
    }

    /**
     * {@code output} is not needed: every kernel recomputes what it uses (argmax, softmax) from
     * the inputs. Gradients that equal the output gradient (Add, the reshapes, Expand to its own
     * shape) share its array. A Constant has no input and so no gradient; a constant operand of a
     * binary op gets one like any other, which the caller ignores.
     */
    @Override
    public List<Tensor> inputGradients(Op op, List<Tensor> inputs, Tensor output, Tensor outputGradient,
                                       TensorScope scope) {
        JavaScope s = scope(scope);
        List<JavaTensor> in = tensors(op, inputs);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        JavaTensor g = tensor(op, outputGradient);
        Arguments.requireOutputGradient(op, g.shape(), out, shapes);
        Shape xs = shapes.isEmpty() ? null : shapes.get(0);
        float[] x = in.isEmpty() ? null : in.get(0).data();
        float[] dy = g.data();
        float[][] dx = switch (op) {
            case Op.Constant _ -> new float[0][];
            case Op.Dense d -> one(DenseKernel.inputGradient(d, xs, dy, par));
            case Op.Conv2d c -> one(ConvKernel.inputGradient(c, xs, dy, par));
            case Op.ConvTranspose2d c -> one(ConvKernel.inputGradient(c, xs, dy, par));
            case Op.BatchNorm b -> one(ActivationKernels.batchNormGradient(b, xs, dy));
            case Op.Activation a -> one(ActivationKernels.inputGradient(a, xs, x, dy));
            case Op.MaxPool2d m -> one(PoolKernels.maxInputGradient(m, xs, x, dy, par));
            case Op.AvgPool2d a -> one(PoolKernels.avgInputGradient(a, xs, dy, par));
            case Op.GlobalAvgPool _ -> one(PoolKernels.globalAvgInputGradient(xs, dy));
            case Op.GlobalMaxPool _ -> one(PoolKernels.globalMaxInputGradient(xs, x, dy, par));
            case Op.Binary b -> BinaryKernels.gradients(b, xs, x, shapes.get(1), in.get(1).data(), out, dy);
            case Op.MatMul _ -> MatMulKernel.gradients(xs, x, shapes.get(1), in.get(1).data(), dy, par);
            case Op.ReduceSum r -> one(RoutingKernels.reduceGradient(xs, dy, r.axes(), false));
            case Op.ReduceMean r -> one(RoutingKernels.reduceGradient(xs, dy, r.axes(), true));
            case Op.Flatten _, Op.Reshape _ -> one(dy);
            case Op.Transpose t -> one(RoutingKernels.transposeGradient(t, xs, out, dy));
            case Op.Concat c -> RoutingKernels.concatGradients(c, shapes, out, dy);
            case Op.Slice sl -> one(RoutingKernels.sliceGradient(sl, xs, out, dy));
            case Op.Pad p -> one(RoutingKernels.padGradient(p, xs, out, dy));
            case Op.Expand _ -> one(Strided.reduceTo(dy, out, xs));
            case Op.ResizeNearest r -> one(RoutingKernels.resizeGradient(r, xs, out, dy));
            case Op.Softmax sm -> one(SoftmaxKernel.inputGradient(
                    Indexing.softmaxView(xs, sm.axis(), sm.overTrailingAxes()), x, dy, false));
            case Op.LogSoftmax sm -> one(SoftmaxKernel.inputGradient(
                    Indexing.softmaxView(xs, sm.axis(), sm.overTrailingAxes()), x, dy, true));
        };
        String label = op.type() + " input gradient";
        List<Tensor> result = new ArrayList<>(dx.length);
        for (int i = 0; i < dx.length; i++) {
            result.add(s.adopt(shapes.get(i), dx[i], label));
        }
        return List.copyOf(result);
    }

    private static float[][] one(float[] dx) {
        return new float[][] {dx};
    }

    // The elementwise primitives are one-node programs: one definition of their arithmetic,
    // which Kernels#evaluate runs fused on every backend that fuses.
    private static final Elementwise X = Elementwise.input(0);
    private static final Elementwise Y = Elementwise.input(1);

    @Override
    public Tensor add(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("add", X.plus(Y), scope, a, b);
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("multiply", X.times(Y), scope, a, b);
    }

    @Override
    public Tensor scale(Tensor a, float factor, TensorScope scope) {
        return elementwise("scale", X.scaled(factor), scope, a);
    }

    @Override
    public Tensor abs(Tensor a, TensorScope scope) {
        return elementwise("abs", X.abs(), scope, a);
    }

    @Override
    public Tensor subtract(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("subtract", X.minus(Y), scope, a, b);
    }

    @Override
    public Tensor divide(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("divide", X.dividedBy(Y), scope, a, b);
    }

    @Override
    public Tensor clamp(Tensor a, float min, float max, TensorScope scope) {
        return elementwise("clamp", X.clamped(min, max), scope, a);
    }

    @Override
    public Tensor positiveMask(Tensor a, TensorScope scope) {
        return elementwise("positiveMask", X.positiveMask(), scope, a);
    }

    @Override
    public Tensor stabilize(Tensor z, float eps, TensorScope scope) {
        return elementwise("stabilize", X.stabilized(eps), scope, z);
    }

    @Override
    public List<Tensor> evaluate(List<Elementwise> expressions, List<Tensor> inputs, TensorScope scope) {
        return evaluate("evaluate", expressions, scope, inputs);
    }

    private Tensor elementwise(String what, Elementwise e, TensorScope scope, Tensor... inputs) {
        return evaluate(what, List.of(e), scope, List.of(inputs)).get(0);
    }

    @Override
    public double sum(Elementwise expression, List<Tensor> inputs, TensorScope scope) {
        scope(scope);
        List<JavaTensor> in = sameShapes("sum", inputs);
        ElementwiseProgram program = ElementwiseProgram.compile(List.of(expression), in.size());
        return program.sum(in.get(0).shape().size(), memory(in, null));
    }

    private List<Tensor> evaluate(String what, List<Elementwise> expressions, TensorScope scope,
                                  List<Tensor> inputs) {
        JavaScope s = scope(scope);
        if (expressions.isEmpty()) {
            return List.of();
        }
        List<JavaTensor> in = sameShapes(what, inputs);
        ElementwiseProgram program = ElementwiseProgram.compile(expressions, in.size());
        Shape shape = in.get(0).shape(); // an expression reads an input, so a program has one
        float[][] out = new float[expressions.size()][shape.size()];
        program.run(shape.size(), memory(in, out));
        List<Tensor> result = new ArrayList<>(out.length);
        for (float[] o : out) {
            result.add(s.adopt(shape, o, what + " result"));
        }
        return List.copyOf(result);
    }

    private static List<JavaTensor> sameShapes(String what, List<Tensor> inputs) {
        return Arguments.sameShapeTensors(what, inputs, JavaTensor.class, JavaBackend.ID);
    }

    /** A program's memory over the inputs' arrays, writing into {@code out} (null: a sum writes nothing). */
    private static ElementwiseProgram.Memory memory(List<JavaTensor> in, float[][] out) {
        return new ElementwiseProgram.Memory() {
            @Override
            public void read(int input, long from, float[] into, int count) {
                System.arraycopy(in.get(input).data(), (int) from, into, 0, count);
            }

            @Override
            public void write(int output, long from, float[] values, int count) {
                System.arraycopy(values, 0, out[output], (int) from, count);
            }
        };
    }

    private static JavaScope scope(TensorScope scope) {
        return Arguments.scope(scope, JavaScope.class, JavaBackend.ID);
    }

    private static List<JavaTensor> tensors(Op op, List<Tensor> inputs) {
        return Arguments.tensors(op.type(), inputs, JavaTensor.class, JavaBackend.ID);
    }

    private static JavaTensor tensor(Op op, Tensor t) {
        return tensor(op.type(), t);
    }

    private static JavaTensor tensor(String what, Tensor t) {
        return Arguments.tensor(what, t, JavaTensor.class, JavaBackend.ID);
    }

    private static List<float[]> data(List<JavaTensor> in) {
        List<float[]> out = new ArrayList<>(in.size());
        for (JavaTensor t : in) {
            out.add(t.data());
        }
        return out;
    }
}

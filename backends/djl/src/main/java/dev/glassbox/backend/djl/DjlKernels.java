package dev.glassbox.backend.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.GradientCollector;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.support.Arguments;
import dev.glassbox.backend.support.ElementwiseProgram;
import dev.glassbox.djl.pytorch.Autograd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Every op on NDArrays. Each call computes in a temporary sub-manager of the result's scope
 * (inputs and parameters enter it as views), moves the result into the scope and closes the
 * rest, so nothing a kernel makes on the way outlives the call. Vector-Jacobian products are
 * explicit where the formula is short (activations, BatchNorm, ConvTranspose2d) and DJL's
 * autograd elsewhere. The hot ones (strided convolutions, max pooling) record their forward
 * pass when the autograd lock is free, so their VJP is one backward call instead of a forward
 * and a backward. DJL's PyTorch {@link GradientCollector} is one per JVM (a static flag), so
 * autograd runs under one lock.
 *
 * <p>Engine gaps worked around: no transposed convolution (its forward is the autograd VJP of
 * a convolution, its VJP a convolution); pooling takes symmetric padding only, no dilation and
 * PyTorch's own ceil rule, so inputs are padded explicitly to exactly the windows the op
 * defines (and average pooling divides window sums of the input by window sums of a mask of
 * the cells that count).
 */
final class DjlKernels implements Kernels {
    private static final ReentrantLock AUTOGRAD = new ReentrantLock();

    private final Engine engine;
    private final WeightCache weights;
    /** Null: formulas run as one Java pass on the CPU, one engine call per node elsewhere. */
    private final ScriptedFormulas formulas;

    /** @param formulas where {@link #evaluate} runs each formula as one TorchScript function, or null */
    DjlKernels(Engine engine, WeightCache weights, ScriptedFormulas formulas) {
        this.engine = engine;
        this.weights = weights;
        this.formulas = formulas;
    }

    /** Makes the kernels of one prepared model (its own weight cache, and compiled formulas or null). */
    interface Factory {
        DjlKernels kernels(WeightCache weights, ScriptedFormulas formulas);
    }

    // ================================================================ Kernels

    @Override
    public Tensor upload(HostTensor host, TensorScope scope) {
        DjlScope s = scope(scope);
        // DJL copies a heap array into a direct buffer of its own; a clone first was a third copy
        NDArray a = s.manager().create(host.data(), djl(host.shape()));
        return s.adopt(host.shape(), a, "upload");
    }

    @Override
    public Tensor forward(Op op, List<Tensor> inputs, TensorScope scope) {
        DjlScope s = scope(scope);
        List<DjlTensor> in = tensors(op, inputs);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        try (NDManager tmp = s.manager().newSubManager()) {
            // never waits: while another thread runs autograd, the VJP will recompute instead
            if (recordable(op) && AUTOGRAD.tryLock()) {
                try {
                    return recorded(op, in.get(0), shapes, out, s, tmp);
                } finally {
                    AUTOGRAD.unlock();
                }
            }
            NDArray y = forward(op, views(in, tmp), shapes, out, tmp);
            return s.adopt(out, y, op.type() + " output");
        }
    }

    /**
     * {@code op}'s output computed under autograd from a detached alias of {@code input} (no
     * copy), for the ops whose VJP is otherwise autograd's: recomputing the forward pass there
     * cost as much as the backward pass (resnet18's strided convolutions: 2.1x to 4.1x their
     * forward time, against 1.1x to 2.2x from the recording).
     */
    private Tensor recorded(Op op, DjlTensor input, List<Shape> shapes, Shape out, DjlScope s, NDManager tmp) {
        NDArray leaf = input.array().stopGradient();
        leaf.attach(tmp);
        NDArray graphOutput;
        try (GradientCollector _ = engine.newGradientCollector()) {
            leaf.setRequiresGradient(true);
            graphOutput = forward(op, List.of(leaf), shapes, out, tmp); // the leaf itself: no view to back through
        }
        NDArray y = graphOutput.stopGradient();
        y.attach(tmp);
        DjlTensor result = s.adopt(out, y, op.type() + " output");
        s.hold(leaf, op.type() + " recorded input");
        s.hold(graphOutput, op.type() + " recorded output");
        result.record(new DjlTensor.Recording(op, input, leaf, graphOutput));
        return result;
    }

    /**
     * The hot ops whose VJP is autograd's (see inputGradients), and max pooling: PyTorch's own
     * backward from the recorded indices beats the explicit tiling VJP too (demo model, batch
     * 16: gradient 2.3x the forward pass instead of 3.6x).
     */
    private static boolean recordable(Op op) {
        return switch (op) {
            case Op.Conv2d c -> !phaseDecomposable(c.geometry(), c.weight()) && !stackedPhases(c);
            case Op.MaxPool2d _ -> true;
            default -> false;
        };
    }

    /**
     * The VJP of a recorded output: one backward call through the graph its forward pass left,
     * seeded with {@code dy} (no gradient mode needed: it records nothing).
     */
    private NDArray replay(DjlTensor.Recording r, NDArray dy, NDManager tmp) {
        AUTOGRAD.lock();
        try {
            Autograd.backward(r.graphOutput(), dy);
            NDArray grad = r.leaf().getGradient();
            grad.attach(tmp);
            return grad;
        } finally {
            AUTOGRAD.unlock();
            // the graph is of no further use; the gradient, a tensor of its own (not a copy), outlives the leaf
            r.graphOutput().close();
            r.leaf().close();
        }
    }

    @Override
    public List<Tensor> inputGradients(Op op, List<Tensor> inputs, Tensor output, Tensor outputGradient,
                                       TensorScope scope) {
        DjlScope s = scope(scope);
        List<DjlTensor> in = tensors(op, inputs);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        DjlTensor g = tensor(op.type(), outputGradient);
        Arguments.requireOutputGradient(op, g.shape(), out, shapes);
        if (op instanceof Op.Constant) {
            return List.of();
        }
        DjlTensor.Recording recording = output instanceof DjlTensor o && in.size() == 1
                ? o.takeRecording(op, in.get(0)) : null;
        try (NDManager tmp = s.manager().newSubManager()) {
            List<NDArray> x = recording != null ? List.of() : views(in, tmp); // a replay needs no inputs
            NDArray dy = view(g.array(), tmp);
            List<NDArray> dx = recording != null ? List.of(replay(recording, dy, tmp)) : switch (op) {
                case Op.Activation a -> List.of(activationGradient(a, x.get(0), dy, tmp));
                case Op.BatchNorm b -> List.of(dy.mul(channelwise(param(b.scale(), tmp), shapes.get(0).rank())));
                case Op.ConvTranspose2d c -> List.of(convTransposeGradient(c, shapes.get(0), dy, tmp));
                case Op.Conv2d c when phaseDecomposable(c.geometry(), c.weight()) -> {
                    Geometry2d geo = c.geometry();
                    Shape xs = shapes.get(0);
                    yield List.of(transposedConv(c.weight(), c.groups(), geo, dy, geo.padTop(), geo.padLeft(),
                            xs.dim(2), xs.dim(3)));
                }
                case Op.Conv2d c when stackedPhases(c) -> List.of(stackedPhaseTransposedConv(c, dy, shapes.get(0)));
                case Op.Dense d -> List.of(dy.matMul(param(d.weight(), tmp)));
                case Op.Add _ when shapes.get(0).equals(shapes.get(1)) -> List.of(dy, view(dy, tmp));
                case Op.Sub _ when shapes.get(0).equals(shapes.get(1)) -> List.of(dy, dy.neg());
                case Op.Mul _ when shapes.get(0).equals(shapes.get(1)) -> List.of(dy.mul(x.get(1)), dy.mul(x.get(0)));
                case Op.GlobalAvgPool _ -> {
                    Shape xs = shapes.get(0);
                    float area = (float) (xs.size() / ((long) xs.dim(0) * xs.dim(1)));
                    yield List.of(dy.broadcast(djl(xs)).div(constant(area)));
                }
                case Op.MaxPool2d m when tiles(m, shapes.get(0), out) ->
                        List.of(tiledMaxPoolGradient(m, x.get(0), dy, shapes.get(0), out));
                case Op.Flatten _, Op.Reshape _ -> List.of(dy.reshape(djl(shapes.get(0))));
                default -> autograd(x, dy, leaves -> forward(op, leaves, shapes, out, tmp), tmp);
            };
            List<Tensor> result = new ArrayList<>(dx.size());
            for (int i = 0; i < dx.size(); i++) {
                result.add(s.adopt(shapes.get(i), dx.get(i), op.type() + " input gradient"));
            }
            return List.copyOf(result);
        }
    }

    @Override
    public Tensor add(Tensor a, Tensor b, TensorScope scope) {
        return binary("add", a, b, scope, NDArray::add);
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b, TensorScope scope) {
        return binary("multiply", a, b, scope, NDArray::mul);
    }

    @Override
    public Tensor subtract(Tensor a, Tensor b, TensorScope scope) {
        return binary("subtract", a, b, scope, NDArray::sub);
    }

    @Override
    public Tensor divide(Tensor a, Tensor b, TensorScope scope) {
        return binary("divide", a, b, scope, NDArray::div);
    }

    @Override
    public Tensor scale(Tensor a, float factor, TensorScope scope) {
        return unary("scale", a, scope, x -> x.mul(constant(factor)));
    }

    @Override
    public Tensor abs(Tensor a, TensorScope scope) {
        return unary("abs", a, scope, NDArray::abs);
    }

    @Override
    public Tensor clamp(Tensor a, float min, float max, TensorScope scope) {
        // an open side is no pass at all (max(x, -inf) and min(x, inf) are x, NaN included)
        return unary("clamp", a, scope, x -> min == Float.NEGATIVE_INFINITY ? x.minimum(constant(max))
                : max == Float.POSITIVE_INFINITY ? x.maximum(constant(min))
                : x.maximum(constant(min)).minimum(constant(max)));
    }

    @Override
    public Tensor positiveMask(Tensor a, TensorScope scope) {
        // float arithmetic, not a comparison: the engine's boolean tensors cost 4x to 10x an add here
        return unary("positiveMask", a, scope, x -> x.maximum(constant(0f)).signi());
    }

    /**
     * {@code z + (z < 0 ? -eps : eps)}, as the Java backend, bit for bit (NaN stays NaN):
     * {@code min(sign(z), 0) * 2 eps + eps} is exactly {@code -eps} or {@code eps}. Float
     * arithmetic rather than {@code where} over a comparison, which cost 4x as much.
     */
    @Override
    public Tensor stabilize(Tensor z, float eps, TensorScope scope) {
        // in place on the temporary: two arrays made instead of five (IEEE addition commutes)
        return unary("stabilize", z, scope,
                x -> x.sign().minimum(constant(0f)).muli(constant(2 * eps)).addi(constant(eps)).addi(x));
    }

    /**
     * One pass over memory ({@link ElementwiseProgram}) on the arrays' own storage, instead of
     * an engine call and an intermediate array per node (on CPU; elsewhere the default). With
     * {@code elementwise} {@code script}: one call of a TorchScript function, on any device.
     */
    @Override
    public List<Tensor> evaluate(List<Elementwise> expressions, List<Tensor> inputs, TensorScope scope) {
        DjlScope s = scope(scope);
        if (expressions.isEmpty()) {
            return List.of();
        }
        List<DjlTensor> in = sameShapes("evaluate", inputs);
        if (formulas != null) {
            return scripted(expressions, in, s);
        }
        if (!onCpu(in)) {
            return Kernels.super.evaluate(expressions, inputs, scope);
        }
        ElementwiseProgram program = ElementwiseProgram.compile(expressions, in.size());
        Shape shape = in.get(0).shape();
        try (NDManager tmp = s.manager().newSubManager()) {
            NDArray[] results = new NDArray[program.outputCount()];
            MemorySegment[] dst = new MemorySegment[results.length];
            for (int o = 0; o < results.length; o++) {
                results[o] = tmp.create(djl(shape), DataType.FLOAT32);
                dst[o] = MemorySegment.ofBuffer(results[o].toByteBuffer(true));
            }
            program.run(shape.size(), memory(in, dst, tmp));
            List<Tensor> out = new ArrayList<>(results.length);
            for (NDArray r : results) {
                out.add(s.adopt(shape, r, "evaluate result"));
            }
            return List.copyOf(out);
        }
    }

    /** As {@link #evaluate}, summing during the pass: no array written, no engine reduction, one read. */
    @Override
    public double sum(Elementwise expression, List<Tensor> inputs, TensorScope scope) {
        DjlScope s = scope(scope);
        List<DjlTensor> in = sameShapes("sum", inputs);
        if (formulas != null || !onCpu(in)) {
            return Kernels.super.sum(expression, inputs, scope);
        }
        ElementwiseProgram program = ElementwiseProgram.compile(List.of(expression), in.size());
        try (NDManager tmp = s.manager().newSubManager()) {
            return program.sum(in.get(0).shape().size(), memory(in, null, tmp));
        }
    }

    /**
     * {@code expressions} as one call of their compiled function, the constants passed as the
     * cached 0-dimensional arrays. The results, made in the first input's manager, move straight
     * into the scope: no views, as the call makes nothing else on the Java side.
     */
    private List<Tensor> scripted(List<Elementwise> expressions, List<DjlTensor> in, DjlScope s) {
        ScriptedFormulas.Script script = formulas.script(expressions, in.size());
        NDList arguments = new NDList(in.size() + script.constants().length);
        for (DjlTensor t : in) {
            arguments.add(t.array());
        }
        for (float c : script.constants()) {
            arguments.add(constant(c));
        }
        NDList results = formulas.function(script.shape()).call(arguments);
        Shape shape = in.get(0).shape();
        List<Tensor> out = new ArrayList<>(results.size());
        for (NDArray r : results) {
            out.add(s.adopt(shape, r, "evaluate result"));
        }
        return List.copyOf(out);
    }

    private static List<DjlTensor> sameShapes(String what, List<Tensor> inputs) {
        return Arguments.sameShapeTensors(what, inputs, DjlTensor.class, DjlBackend.ID);
    }

    private static boolean onCpu(List<DjlTensor> in) {
        return Device.cpu().equals(in.get(0).array().getDevice());
    }

    /**
     * A program's memory over the inputs' storage, writing into {@code dst} (null: a sum writes
     * nothing); a non-contiguous input is read from a contiguous copy that {@code tmp} frees.
     */
    private static ElementwiseProgram.Memory memory(List<DjlTensor> in, MemorySegment[] dst, NDManager tmp) {
        MemorySegment[] src = new MemorySegment[in.size()];
        for (int i = 0; i < src.length; i++) {
            src[i] = MemorySegment.ofBuffer(view(in.get(i).array(), tmp).toByteBuffer(true));
        }
        return new ElementwiseProgram.Memory() {
            @Override
            public void read(int input, long from, float[] into, int count) {
                MemorySegment.copy(src[input], ValueLayout.JAVA_FLOAT, from * Float.BYTES, into, 0, count);
            }

            @Override
            public void write(int output, long from, float[] values, int count) {
                MemorySegment.copy(values, 0, dst[output], ValueLayout.JAVA_FLOAT, from * Float.BYTES, count);
            }
        };
    }

    private Tensor unary(String what, Tensor a, TensorScope scope, Function<NDArray, NDArray> f) {
        DjlScope s = scope(scope);
        DjlTensor x = tensor(what, a);
        try (NDManager tmp = s.manager().newSubManager()) {
            return s.adopt(x.shape(), f.apply(view(x.array(), tmp)), what + " result");
        }
    }

    private Tensor binary(String what, Tensor a, Tensor b, TensorScope scope,
                          java.util.function.BinaryOperator<NDArray> f) {
        DjlScope s = scope(scope);
        DjlTensor x = tensor(what, a);
        DjlTensor y = tensor(what, b);
        Arguments.requireSameShape(what, x, y);
        try (NDManager tmp = s.manager().newSubManager()) {
            return s.adopt(x.shape(), f.apply(view(x.array(), tmp), view(y.array(), tmp)), what + " result");
        }
    }

    // ================================================================ forward

    private NDArray forward(Op op, List<NDArray> in, List<Shape> shapes, Shape out, NDManager tmp) {
        NDArray x = in.isEmpty() ? null : in.get(0);
        return switch (op) {
            case Op.Constant c -> param(c.value(), tmp);
            case Op.Dense d -> d.bias() == null
                    ? Linear.linear(x, param(d.weight(), tmp)).singletonOrThrow()
                    : Linear.linear(x, param(d.weight(), tmp), param(d.bias(), tmp)).singletonOrThrow();
            case Op.Conv2d c -> conv2d(x, param(c.weight(), tmp), c.bias() == null ? null : param(c.bias(), tmp),
                    c.geometry(), c.groups());
            case Op.ConvTranspose2d c -> convTranspose(c, x, out, tmp);
            case Op.BatchNorm b -> x.mul(channelwise(param(b.scale(), tmp), shapes.get(0).rank()))
                    .add(channelwise(param(b.shift(), tmp), shapes.get(0).rank()));
            case Op.Activation a -> activation(a, x, tmp);
            case Op.MaxPool2d m -> maxPool(m, x, shapes.get(0), out);
            case Op.AvgPool2d a -> avgPool(a, x, shapes.get(0), out, tmp);
            case Op.GlobalAvgPool _ -> mean(x, shapes.get(0), spatialAxes(shapes.get(0)), true);
            case Op.GlobalMaxPool _ -> {
                // DJL's PyTorch max takes one axis at a time.
                NDArray y = x;
                int[] axes = spatialAxes(shapes.get(0));
                for (int i = axes.length - 1; i >= 0; i--) {
                    y = y.max(new int[] {axes[i]}, true);
                }
                yield y;
            }
            case Op.Add _ -> x.add(in.get(1));
            case Op.Sub _ -> x.sub(in.get(1));
            case Op.Mul _ -> x.mul(in.get(1));
            case Op.Div _ -> x.div(in.get(1));
            case Op.MatMul _ -> x.matMul(in.get(1));
            case Op.ReduceSum r -> x.sum(ints(r.axes()), r.keepDims());
            case Op.ReduceMean r -> mean(x, shapes.get(0), ints(r.axes()), r.keepDims());
            case Op.Flatten _, Op.Reshape _ -> x.reshape(djl(out));
            case Op.Transpose t -> x.transpose(ints(t.perm()));
            case Op.Concat c -> NDArrays.concat(new NDList(in), c.axis());
            case Op.Slice sl -> slice(sl, x, shapes.get(0));
            case Op.Pad p -> pad(p, x);
            case Op.Expand _ -> x.broadcast(djl(out));
            case Op.ResizeNearest r -> resize(r, x, shapes.get(0), tmp);
            case Op.Softmax sm -> softmax(x, shapes.get(0), sm.axis(), sm.overTrailingAxes(), false);
            case Op.LogSoftmax sm -> softmax(x, shapes.get(0), sm.axis(), sm.overTrailingAxes(), true);
        };
    }

    private static NDArray conv2d(NDArray x, NDArray w, NDArray b, Geometry2d g, int groups) {
        ai.djl.ndarray.types.Shape padding;
        if (g.padTop() == g.padBottom() && g.padLeft() == g.padRight()) {
            padding = new ai.djl.ndarray.types.Shape(g.padTop(), g.padLeft());
        } else {
            x = x.pad(new ai.djl.ndarray.types.Shape(g.padLeft(), g.padRight(), g.padTop(), g.padBottom()), 0);
            padding = new ai.djl.ndarray.types.Shape(0, 0);
        }
        return Conv2d.conv2d(x, w, b, new ai.djl.ndarray.types.Shape(g.strideH(), g.strideW()), padding,
                new ai.djl.ndarray.types.Shape(g.dilationH(), g.dilationW()), groups).singletonOrThrow();
    }

    /**
     * A transposed convolution is the VJP of the convolution with the same weight taken with
     * respect to its (padded, then cropped) input: {@code x} plays the output gradient of a
     * convolution over a padded input of the output's size.
     */
    private NDArray convTranspose(Op.ConvTranspose2d c, NDArray x, Shape out, NDManager tmp) {
        Geometry2d g = c.geometry();
        NDArray y;
        if (phaseDecomposable(g, c.weight())) {
            y = transposedConv(c.weight(), c.groups(), g, x, g.padTop(), g.padLeft(), out.dim(2), out.dim(3));
        } else {
            // Autograd of the convolution at z = 0 (it is linear).
            NDArray w = param(c.weight(), tmp);
            NDArray z = tmp.zeros(djl(out));
            y = autograd(List.of(z), x, leaves -> paddedForward(c, leaves.get(0), w, x.getShape().get(2),
                    x.getShape().get(3)), tmp).get(0);
        }
        return c.bias() == null ? y : y.add(channelwise(param(c.bias(), tmp), 4));
    }

    /**
     * Whether {@link #transposedConv} applies: along each axis stride 1, or a 1-wide kernel.
     * Other strided convolutions split into several phases, one small convolution each, and
     * those with their interleaving cost more than autograd's forward and backward (measured on
     * resnet18's strided 3x3 and 7x7 layers: 1.4x to 1.9x).
     */
    private static boolean phaseDecomposable(Geometry2d g, HostTensor weight) {
        return (g.strideH() == 1 || weight.shape().dim(2) == 1) && (g.strideW() == 1 || weight.shape().dim(3) == 1);
    }

    /**
     * The gradient of {@code sum(dy * conv(xp; w))} with respect to the rows
     * {@code [top, top + h)} and columns {@code [left, left + w)} of the padded input {@code xp},
     * for a convolution {@link #phaseDecomposable} accepts: a transposed convolution, which the
     * engine lacks. Along an axis of stride 1 it is a stride-1 convolution of {@code dy} with the
     * flipped kernel. Along an axis of stride {@code s} with a 1-wide kernel only the positions
     * {@code q*s} of {@code xp} receive gradient, {@code dy} times the kernel, and the others
     * zeros: spread by one padding op. So the cost is one convolution's, with no zeros inserted
     * between gradient cells (which would cost {@code s^2} times as much).
     */
    private NDArray transposedConv(HostTensor weight, int groups, Geometry2d g, NDArray dy, long top, long left,
                                   long h, long w) {
        int sh = g.strideH();
        int sw = g.strideW();
        // Positions q*s for q in [q0, q1) cover rows [top, top + h) of xp.
        long q0h = top / sh;
        long q1h = Math.ceilDiv(top + h, sh);
        long q0w = left / sw;
        long q1w = Math.ceilDiv(left + w, sw);
        int kh = weight.shape().dim(2);
        int kw = weight.shape().dim(3);
        int dh = sh == 1 ? g.dilationH() : 1; // a 1-wide kernel has no gaps to dilate
        int dw = sw == 1 ? g.dilationW() : 1;
        NDArray kernel = view(transposedKernel(weight, groups), dy.getManager());
        // Output t reads dy[q0 + t - (k-1)*d + i*d] for taps i: pad (or, negative, crop) dy to that.
        long padTop = (long) (kh - 1) * dh - q0h;
        long padBottom = q1h - dy.getShape().get(2);
        long padLeft = (long) (kw - 1) * dw - q0w;
        long padRight = q1w - dy.getShape().get(3);
        NDArray cells = paddedConv(dy, kernel, padTop, padBottom, padLeft, padRight, dh, dw, groups);
        NDArray full = cells;
        if (sh > 1 || sw > 1) {
            // [N, C, qh, 1, qw, 1] padded with zeros after each stride axis: [N, C, qh*sh, qw*sw]
            long n = dy.getShape().get(0);
            long channels = (long) weight.shape().dim(1) * groups;
            full = cells.reshape(n, channels, q1h - q0h, 1, q1w - q0w, 1)
                    .pad(new ai.djl.ndarray.types.Shape(0, sw - 1, 0, 0, 0, sh - 1), 0)
                    .reshape(n, channels, (q1h - q0h) * sh, (q1w - q0w) * sw);
        }
        return crop(full, top - q0h * sh, left - q0w * sw, h, w);
    }

    /** Rows {@code [top, top + h)} and columns {@code [left, left + w)} of {@code a} (itself when that is all of it). */
    private static NDArray crop(NDArray a, long top, long left, long h, long w) {
        if (top == 0 && left == 0 && h == a.getShape().get(2) && w == a.getShape().get(3)) {
            return a;
        }
        return a.get(new NDIndex(":, :, " + top + ":" + (top + h) + ", " + left + ":" + (left + w)));
    }

    /**
     * A stride-1 convolution of {@code x} padded by the given amounts (a negative one crops):
     * the engine's own padding where it is symmetric, else explicit.
     */
    private static NDArray paddedConv(NDArray x, NDArray kernel, long padTop, long padBottom, long padLeft,
                                      long padRight, int dh, int dw, int groups) {
        NDArray in = x;
        ai.djl.ndarray.types.Shape convPadding;
        if (padTop == padBottom && padLeft == padRight && padTop >= 0 && padLeft >= 0) {
            convPadding = new ai.djl.ndarray.types.Shape(padTop, padLeft);
        } else {
            in = x.pad(new ai.djl.ndarray.types.Shape(padLeft, padRight, padTop, padBottom), 0);
            convPadding = new ai.djl.ndarray.types.Shape(0, 0);
        }
        return Conv2d.conv2d(in, kernel, null, new ai.djl.ndarray.types.Shape(1, 1), convPadding,
                new ai.djl.ndarray.types.Shape(dh, dw), groups).singletonOrThrow();
    }

    /**
     * Whether a strided convolution's VJP is {@link #stackedPhaseTransposedConv}: few input
     * channels (an image), where the engine's backward pass is slow (resnet18's stem,
     * 3 -> 64 channels 7x7 stride 2: 11 to 14 ms recorded, against 4 ms for its forward pass
     * and about 5 ms stacked).
     */
    private static boolean stackedPhases(Op.Conv2d c) {
        Geometry2d g = c.geometry();
        return c.groups() == 1 && c.weight().shape().dim(1) <= 4 && g.dilationH() == 1 && g.dilationW() == 1
                && !phaseDecomposable(g, c.weight());
    }

    /**
     * The VJP of a strided convolution as one stride-1 convolution whose output channels are
     * the {@code sh * sw} phases of {@link #transposedConv} side by side (each phase's flipped
     * taps padded with zeros in front to the most any phase has), then interleaved into rows
     * and columns and cropped to the input.
     */
    private NDArray stackedPhaseTransposedConv(Op.Conv2d c, NDArray dy, Shape xs) {
        Geometry2d g = c.geometry();
        int sh = g.strideH();
        int sw = g.strideW();
        int kh = c.weight().shape().dim(2);
        int kw = c.weight().shape().dim(3);
        int th = Math.ceilDiv(kh, sh);
        int tw = Math.ceilDiv(kw, sw);
        long top = g.padTop();
        long left = g.padLeft();
        long h = xs.dim(2);
        long w = xs.dim(3);
        long q0h = top / sh;
        long q1h = Math.ceilDiv(top + h, sh);
        long q0w = left / sw;
        long q1w = Math.ceilDiv(left + w, sw);
        long padTop = th - 1 - q0h;
        long padBottom = q1h - dy.getShape().get(2);
        long padLeft = tw - 1 - q0w;
        long padRight = q1w - dy.getShape().get(3);
        NDArray kernel = view(weights.derived(c.weight(), "stacked phases " + sh + "x" + sw,
                wt -> stackedPhaseKernel(wt, sh, sw, th, tw)), dy.getManager());
        NDArray phases = paddedConv(dy, kernel, padTop, padBottom, padLeft, padRight, 1, 1, 1);
        long n = dy.getShape().get(0);
        long channels = c.weight().shape().dim(1);
        long qh = q1h - q0h;
        long qw = q1w - q0w;
        // [N, sh, sw, C, qh, qw] -> [N, C, qh, sh, qw, sw] = [N, C, qh*sh, qw*sw]
        NDArray full = phases.reshape(n, sh, sw, channels, qh, qw).transpose(0, 3, 4, 1, 5, 2)
                .reshape(n, channels, qh * sh, qw * sw);
        return crop(full, top - q0h * sh, left - q0w * sw, h, w);
    }

    /**
     * {@code [sh * sw * in, out, th, tw]}: block {@code rh * sw + rw} holds phase
     * {@code (rh, rw)}'s kernel, tap {@code m} along an axis being weight tap
     * {@code r + (t - 1 - m) * s} (zero past the kernel's end).
     */
    private static NDArray stackedPhaseKernel(NDArray weight, int sh, int sw, int th, int tw) {
        int out = (int) weight.getShape().get(0);
        int in = (int) weight.getShape().get(1);
        int kh = (int) weight.getShape().get(2);
        int kw = (int) weight.getShape().get(3);
        float[] wt = weight.toFloatArray();
        float[] k = new float[sh * sw * in * out * th * tw];
        for (int rh = 0; rh < sh; rh++) {
            for (int rw = 0; rw < sw; rw++) {
                for (int ci = 0; ci < in; ci++) {
                    int block = (rh * sw + rw) * in + ci;
                    for (int co = 0; co < out; co++) {
                        for (int mh = 0; mh < th; mh++) {
                            int y = rh + (th - 1 - mh) * sh;
                            for (int mw = 0; mw < tw; mw++) {
                                int x = rw + (tw - 1 - mw) * sw;
                                if (y < kh && x < kw) {
                                    k[((block * out + co) * th + mh) * tw + mw] = wt[((co * in + ci) * kh + y) * kw + x];
                                }
                            }
                        }
                    }
                }
            }
        }
        return weight.getManager().create(k, new ai.djl.ndarray.types.Shape(sh * sw * in, out, th, tw));
    }

    /**
     * {@code weight} ({@code [out, in/groups, kh, kw]}) flipped, with in and out channels swapped
     * within each group ({@code [in, out/groups, kh, kw]}). Cached with the weight.
     */
    private NDArray transposedKernel(HostTensor weight, int groups) {
        return weights.derived(weight, "transposed " + groups, wt -> {
            long out = wt.getShape().get(0);
            long in = wt.getShape().get(1);
            long kh = wt.getShape().get(2);
            long kw = wt.getShape().get(3);
            return wt.reshape(groups, out / groups, in, kh, kw).transpose(0, 2, 1, 3, 4)
                    .reshape(in * groups, out / groups, kh, kw).flip(2, 3);
        });
    }

    /** The VJP of a transposed convolution: a convolution of the (uncropped) output gradient. */
    private NDArray convTransposeGradient(Op.ConvTranspose2d c, Shape xs, NDArray dy, NDManager tmp) {
        return paddedForward(c, dy, param(c.weight(), tmp), xs.dim(2), xs.dim(3));
    }

    /**
     * The convolution a transposed convolution is the adjoint of, on its output side: {@code y}
     * padded by its padding, convolved with its weight at its stride and dilation, cropped to
     * {@code h x w} (the transposed convolution's input extent).
     */
    private static NDArray paddedForward(Op.ConvTranspose2d c, NDArray y, NDArray weight, long h, long w) {
        Geometry2d g = c.geometry();
        NDArray full = y.pad(new ai.djl.ndarray.types.Shape(g.padLeft(), g.padRight(), g.padTop(), g.padBottom()), 0);
        NDArray conv = Conv2d.conv2d(full, weight, null, new ai.djl.ndarray.types.Shape(g.strideH(), g.strideW()),
                new ai.djl.ndarray.types.Shape(0, 0), new ai.djl.ndarray.types.Shape(g.dilationH(), g.dilationW()),
                c.groups()).singletonOrThrow();
        return crop(conv, 0, 0, h, w);
    }

    private NDArray activation(Op.Activation op, NDArray x, NDManager tmp) {
        return switch (op) {
            case Op.Relu _ -> x.maximum(constant(0f));
            case Op.LeakyRelu l -> NDArrays.where(x.gte(constant(0f)), x, x.mul(constant(l.alpha())));
            case Op.PRelu p -> NDArrays.where(x.gte(constant(0f)), x, x.mul(param(p.slope(), tmp)));
            case Op.Elu e -> NDArrays.where(x.gt(constant(0f)), x, x.exp().sub(constant(1f)).mul(constant(e.alpha())));
            case Op.Sigmoid _ -> Activation.sigmoid(x);
            case Op.Tanh _ -> x.tanh();
            case Op.HardSigmoid h -> x.mul(constant(h.alpha())).add(constant(h.beta())).maximum(constant(0f))
                    .minimum(constant(1f));
            case Op.HardSwish _ -> x.mul(x.div(constant(6f)).add(constant(0.5f)).maximum(constant(0f))
                    .minimum(constant(1f)));
            case Op.Clip c -> x.maximum(constant(c.min())).minimum(constant(c.max()));
        };
    }

    /** Derivatives as the Java backend defines them at the kinks. */
    private NDArray activationGradient(Op.Activation op, NDArray x, NDArray dy, NDManager tmp) {
        return switch (op) {
            // x > 0 ? dy : 0, as the Java backend: a product with a 0/1 mask is NaN where dy is infinite and x <= 0
            case Op.Relu _ -> NDArrays.where(x.gt(constant(0f)), dy, constant(0f));
            case Op.LeakyRelu l -> NDArrays.where(x.gt(constant(0f)), dy, dy.mul(constant(l.alpha())));
            case Op.PRelu p -> NDArrays.where(x.gt(constant(0f)), dy, dy.mul(param(p.slope(), tmp)));
            case Op.Elu e -> NDArrays.where(x.gt(constant(0f)), dy, dy.mul(x.exp()).mul(constant(e.alpha())));
            case Op.Sigmoid _ -> {
                NDArray s = Activation.sigmoid(x);
                yield dy.mul(s).mul(s.neg().add(constant(1f)));
            }
            case Op.Tanh _ -> {
                NDArray t = x.tanh();
                yield dy.mul(t.mul(t).neg().add(constant(1f)));
            }
            case Op.HardSigmoid h -> {
                NDArray z = x.mul(constant(h.alpha())).add(constant(h.beta()));
                // the products take the comparisons' booleans as they are: no float masks made first
                yield dy.mul(constant(h.alpha())).mul(z.gt(constant(0f))).mul(z.lt(constant(1f)));
            }
            case Op.HardSwish _ -> NDArrays.where(x.lt(constant(-3f)), dy.zerosLike(),
                    NDArrays.where(x.gt(constant(3f)), dy, dy.mul(x.div(constant(3f)).add(constant(0.5f)))));
            // [min <= x <= max] as clip(x) == x: one comparison, and the product takes the boolean
            // as it is (a float mask from two comparisons cost 1.2x to 2x as much)
            case Op.Clip c -> c.min() > c.max() ? dy.zerosLike() : dy.mul(x.clip(c.min(), c.max()).eq(x));
        };
    }

    // ================================================================ pooling

    /** Padding {@code [left, right, top, bottom]} that makes floor-mode windows exactly the op's. */
    private static long[] poolPadding(Shape in, Shape out, int kH, int kW, Geometry2d g) {
        long needH = (long) (out.dim(2) - 1) * g.strideH() + (long) g.dilationH() * (kH - 1) + 1;
        long needW = (long) (out.dim(3) - 1) * g.strideW() + (long) g.dilationW() * (kW - 1) + 1;
        return new long[] {g.padLeft(), needW - in.dim(3) - g.padLeft(), g.padTop(), needH - in.dim(2) - g.padTop()};
    }

    private static NDArray maxPool(Op.MaxPool2d m, NDArray x, Shape in, Shape out) {
        Geometry2d g = m.geometry();
        if (nativePadding(m, in, out)) {
            return Pool.maxPool2d(x, new ai.djl.ndarray.types.Shape(m.kernelH(), m.kernelW()),
                    new ai.djl.ndarray.types.Shape(g.strideH(), g.strideW()),
                    new ai.djl.ndarray.types.Shape(g.padTop(), g.padLeft()), false);
        }
        NDArray xp = padded(x, poolPadding(in, out, m.kernelH(), m.kernelW(), g), Double.NEGATIVE_INFINITY);
        if (g.dilationH() == 1 && g.dilationW() == 1) {
            return Pool.maxPool2d(xp, new ai.djl.ndarray.types.Shape(m.kernelH(), m.kernelW()),
                    new ai.djl.ndarray.types.Shape(g.strideH(), g.strideW()), new ai.djl.ndarray.types.Shape(0, 0),
                    false);
        }
        NDArray y = null;
        for (NDArray w : windows(xp, m.kernelH(), m.kernelW(), g, out)) {
            y = y == null ? w : y.maximum(w);
        }
        return y;
    }

    /**
     * Whether PyTorch's own (symmetric, floor-mode) padding gives exactly the op's windows, so
     * the input need not be copied into a padded one.
     */
    private static boolean nativePadding(Op.MaxPool2d m, Shape in, Shape out) {
        Geometry2d g = m.geometry();
        return g.dilationH() == 1 && g.dilationW() == 1 && g.padTop() == g.padBottom() && g.padLeft() == g.padRight()
                && 2 * g.padTop() <= m.kernelH() && 2 * g.padLeft() <= m.kernelW()
                && (in.dim(2) + 2L * g.padTop() - m.kernelH()) / g.strideH() + 1 == out.dim(2)
                && (in.dim(3) + 2L * g.padLeft() - m.kernelW()) / g.strideW() + 1 == out.dim(3);
    }

    /** {@code x} padded by {@code [left, right, top, bottom]} (negative crops); itself when all are 0. */
    private static NDArray padded(NDArray x, long[] pads, double value) {
        for (long p : pads) {
            if (p != 0) {
                return x.pad(new ai.djl.ndarray.types.Shape(pads), value);
            }
        }
        return x;
    }

    /** Whether the windows tile the input exactly: kernel = stride, no padding, no dilation, no remainder. */
    private static boolean tiles(Op.MaxPool2d m, Shape in, Shape out) {
        Geometry2d g = m.geometry();
        return g.strideH() == m.kernelH() && g.strideW() == m.kernelW() && g.dilationH() == 1 && g.dilationW() == 1
                && g.padTop() == 0 && g.padLeft() == 0 && g.padBottom() == 0 && g.padRight() == 0
                && (long) out.dim(2) * m.kernelH() == in.dim(2) && (long) out.dim(3) * m.kernelW() == in.dim(3);
    }

    /**
     * The max-pooling VJP on tiling windows, without autograd: each window's cells side by
     * side, {@code dy} to the first maximal one (row-major, as PyTorch and the Java backend).
     */
    private static NDArray tiledMaxPoolGradient(Op.MaxPool2d m, NDArray x, NDArray dy, Shape in, Shape out) {
        long n = in.dim(0);
        long c = in.dim(1);
        long oh = out.dim(2);
        long ow = out.dim(3);
        int kh = m.kernelH();
        int kw = m.kernelW();
        NDArray cells = x.reshape(n, c, oh, kh, ow, kw).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, (long) kh * kw);
        NDArray routed = cells.argMax(4).oneHot(kh * kw).mul(dy.expandDims(4));
        return routed.reshape(n, c, oh, ow, kh, kw).transpose(0, 1, 2, 4, 3, 5).reshape(djl(in));
    }

    private static NDArray avgPool(Op.AvgPool2d a, NDArray x, Shape in, Shape out, NDManager tmp) {
        Geometry2d g = a.geometry();
        long[] p = poolPadding(in, out, a.kernelH(), a.kernelW(), g);
        NDArray xp = padded(x, p, 0);
        // The cells that count: the input, and with countIncludePad its declared padding too
        // (never the extension ceil mode adds).
        NDArray ones = tmp.ones(new ai.djl.ndarray.types.Shape(1, 1, in.dim(2), in.dim(3)));
        NDArray mp = ones.pad(new ai.djl.ndarray.types.Shape(g.padLeft(), g.padRight(), g.padTop(), g.padBottom()),
                a.countIncludePad() ? 1 : 0);
        mp = mp.pad(new ai.djl.ndarray.types.Shape(0, p[1] - g.padRight(), 0, p[3] - g.padBottom()), 0);
        return windowSum(xp, a.kernelH(), a.kernelW(), g, out).div(windowSum(mp, a.kernelH(), a.kernelW(), g, out));
    }

    /** Sum over each window, scaled by a constant that cancels in the average. */
    private static NDArray windowSum(NDArray xp, int kH, int kW, Geometry2d g, Shape out) {
        if (g.dilationH() == 1 && g.dilationW() == 1) {
            return Pool.avgPool2d(xp, new ai.djl.ndarray.types.Shape(kH, kW),
                    new ai.djl.ndarray.types.Shape(g.strideH(), g.strideW()), new ai.djl.ndarray.types.Shape(0, 0),
                    false, true);
        }
        NDArray y = null;
        for (NDArray w : windows(xp, kH, kW, g, out)) {
            y = y == null ? w : y.add(w);
        }
        return y;
    }

    /** For each kernel offset, the strided slice of the padded input that offset reads. */
    private static List<NDArray> windows(NDArray xp, int kH, int kW, Geometry2d g, Shape out) {
        List<NDArray> result = new ArrayList<>();
        for (int i = 0; i < kH; i++) {
            for (int j = 0; j < kW; j++) {
                long h0 = (long) i * g.dilationH();
                long w0 = (long) j * g.dilationW();
                long h1 = h0 + (long) g.strideH() * (out.dim(2) - 1) + 1;
                long w1 = w0 + (long) g.strideW() * (out.dim(3) - 1) + 1;
                result.add(xp.get(new NDIndex(":, :, " + h0 + ":" + h1 + ":" + g.strideH() + ", " + w0 + ":" + w1 + ":"
                        + g.strideW())));
            }
        }
        return result;
    }

    // ================================================================ routing

    private static NDArray slice(Op.Slice op, NDArray x, Shape in) {
        int[][] r = op.ranges(in);
        StringBuilder index = new StringBuilder();
        for (int d = 0; d < r.length; d++) {
            int first = r[d][0];
            int step = r[d][1];
            int count = r[d][2];
            if (step < 0 && count > 0) {
                x = x.flip(d);
                first = in.dim(d) - 1 - first;
                step = -step;
            }
            if (d > 0) {
                index.append(", ");
            }
            if (count == 0) {
                index.append("0:0");
            } else {
                index.append(first).append(':').append(first + (long) step * (count - 1) + 1).append(':').append(step);
            }
        }
        return r.length == 0 ? x : x.get(new NDIndex(index.toString()));
    }

    /** ONNX pads (all befores, then all afters) in PyTorch's order (last axis first). */
    private static NDArray pad(Op.Pad p, NDArray x) {
        int rank = p.pads().size() / 2;
        long[] pads = new long[2 * rank];
        for (int d = 0; d < rank; d++) {
            pads[2 * (rank - 1 - d)] = p.pads().get(d);
            pads[2 * (rank - 1 - d) + 1] = p.pads().get(d + rank);
        }
        return x.pad(new ai.djl.ndarray.types.Shape(pads), p.value());
    }

    /** Per resized axis, a product with a one-hot selection matrix (exact for finite values). */
    private static NDArray resize(Op.ResizeNearest r, NDArray x, Shape in, NDManager tmp) {
        int rank = in.rank();
        for (int d = 0; d < rank; d++) {
            int n = in.dim(d);
            int m = r.outDim(d, n);
            boolean identity = m == n;
            float[] sel = new float[n * m];
            for (int o = 0; o < m; o++) {
                int src = r.sourceIndex(d, o, n);
                identity &= src == o;
                sel[src * m + o] = 1f;
            }
            if (identity) {
                continue;
            }
            int[] perm = new int[rank];
            for (int i = 0; i < rank; i++) {
                perm[i] = i == d ? rank - 1 : i == rank - 1 ? d : i;
            }
            NDArray s = tmp.create(sel, new ai.djl.ndarray.types.Shape(n, m));
            x = x.transpose(perm).matMul(s).transpose(perm);
        }
        return x;
    }

    /** DJL's PyTorch mean takes one axis: a sum over the axes, divided by their extent. */
    private NDArray mean(NDArray x, Shape in, int[] axes, boolean keepDims) {
        long count = 1;
        for (int a : axes) {
            count *= in.dim(a);
        }
        return x.sum(axes, keepDims).div(constant((float) count));
    }

    private static NDArray softmax(NDArray x, Shape in, int axis, boolean trailing, boolean log) {
        if (!trailing || axis == in.rank() - 1) {
            return log ? x.logSoftmax(axis) : x.softmax(axis);
        }
        long outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= in.dim(d);
        }
        NDArray flat = x.reshape(outer, in.size() / Math.max(outer, 1));
        NDArray y = log ? flat.logSoftmax(1) : flat.softmax(1);
        return y.reshape(djl(in));
    }

    // ================================================================ autograd

    /**
     * The gradients of {@code sum(dy * f(inputs))} with respect to each input, by DJL's
     * autograd on copies of the inputs. An input {@code f} does not use gets zeros.
     */
    private List<NDArray> autograd(List<NDArray> inputs, NDArray dy, Function<List<NDArray>, NDArray> f, NDManager tmp) {
        AUTOGRAD.lock();
        try (GradientCollector _ = engine.newGradientCollector()) {
            List<NDArray> leaves = new ArrayList<>(inputs.size());
            for (NDArray x : inputs) {
                // a detached alias: a fresh leaf, cut from any graph x was recorded in
                NDArray leaf = x.stopGradient();
                leaf.attach(tmp);
                leaf.setRequiresGradient(true);
                leaves.add(leaf);
            }
            Autograd.backward(f.apply(leaves), dy);
            List<NDArray> grads = new ArrayList<>(leaves.size());
            for (NDArray leaf : leaves) {
                NDArray grad;
                try {
                    grad = leaf.getGradient();
                } catch (RuntimeException e) {
                    grad = null;
                }
                grads.add(grad == null ? leaf.zerosLike() : grad); // a tensor of its own: outlives the leaf
            }
            for (NDArray grad : grads) {
                grad.attach(tmp);
            }
            return grads;
        } finally {
            AUTOGRAD.unlock();
        }
    }

    // ================================================================ helpers

    private NDArray param(HostTensor host, NDManager tmp) {
        return view(weights.get(host), tmp);
    }

    /**
     * {@code value} as a 0-dimensional array on the model's device, made once per model. DJL's
     * overloads that take a number make that array on every call, a copy from the host that on
     * CUDA waits for all queued work.
     */
    private NDArray constant(float value) {
        return weights.constant(value);
    }

    /** A view of {@code a} owned by {@code tmp}: closing it leaves {@code a} alone. */
    private static NDArray view(NDArray a, NDManager tmp) {
        NDArray v = a.reshape(a.getShape());
        v.attach(tmp);
        return v;
    }

    private static List<NDArray> views(List<DjlTensor> in, NDManager tmp) {
        List<NDArray> out = new ArrayList<>(in.size());
        for (DjlTensor t : in) {
            out.add(view(t.array(), tmp));
        }
        return out;
    }

    /** A per-channel vector {@code [C]} shaped {@code [1, C, 1, ...]} for an input of {@code rank}. */
    private static NDArray channelwise(NDArray v, int rank) {
        long[] dims = new long[rank];
        java.util.Arrays.fill(dims, 1);
        dims[1] = v.getShape().get(0);
        return v.reshape(dims);
    }

    private static int[] spatialAxes(Shape in) {
        int[] axes = new int[in.rank() - 2];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = i + 2;
        }
        return axes;
    }

    private static int[] ints(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    static ai.djl.ndarray.types.Shape djl(Shape s) {
        long[] dims = new long[s.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s.dim(i);
        }
        return new ai.djl.ndarray.types.Shape(dims);
    }

    private static DjlScope scope(TensorScope scope) {
        return Arguments.scope(scope, DjlScope.class, DjlBackend.ID);
    }

    private static List<DjlTensor> tensors(Op op, List<Tensor> inputs) {
        return Arguments.tensors(op.type(), inputs, DjlTensor.class, DjlBackend.ID);
    }

    private static DjlTensor tensor(String what, Tensor t) {
        return Arguments.tensor(what, t, DjlTensor.class, DjlBackend.ID);
    }
}

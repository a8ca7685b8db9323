package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.support.Arguments;
import dev.glassbox.backend.support.Indexing.MatMulDims;
import dev.glassbox.backend.support.Indexing;
import dev.glassbox.backend.support.ParameterCache;
import java.util.ArrayList;
import java.util.List;

/**
 * Every op on a {@link Device}: convolutions through cuDNN (asymmetric padding made explicit,
 * transposed convolutions as cuDNN's backward-data pass), dense layers and matrix products
 * through cuBLAS, and the rest through the kernels of {@code kernels.cu}. Each VJP is written
 * out: there is no autograd here. Temporaries of a call live in a child scope closed before it
 * returns; results belong to the caller's scope.
 */
final class DeviceKernels implements Kernels {
    /** Outputs from which {@link #sumOver} runs one thread per output. */
    static final long PARALLEL_OUTPUTS = 16_384;
    /** Elements per output from which {@link #sumOver} splits each output's sum into parts. */
    static final long SPLIT_AT = 4_096;

    private final Device device;
    private final ParameterCache<Long> parameters;

    DeviceKernels(Device device, ParameterCache<Long> parameters) {
        this.device = device;
        this.parameters = parameters;
    }

    // ================================================================ Kernels

    @Override
    public Tensor upload(HostTensor host, TensorScope scope) {
        DeviceTensor t = Arguments.scope(scope, DeviceScope.class, CudnnBackend.ID).allocate(host.shape(), "upload");
        device.copyIn(host.data(), t.address());
        return t;
    }

    @Override
    public Tensor forward(Op op, List<Tensor> inputs, TensorScope scope) {
        DeviceScope s = Arguments.scope(scope, DeviceScope.class, CudnnBackend.ID);
        List<DeviceTensor> in = Arguments.tensors(op.type(), inputs, DeviceTensor.class, CudnnBackend.ID);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        String label = op.type() + " output";
        DeviceTensor x = in.isEmpty() ? null : in.get(0);
        Shape xs = shapes.isEmpty() ? null : shapes.get(0);
        return switch (op) {
            case Op.Constant c -> {
                DeviceTensor y = s.allocate(out, label);
                device.copy(param(c.value()), y.address(), out.size());
                yield y;
            }
            case Op.Dense d -> {
                DeviceTensor y = s.allocate(out, label);
                int rows = xs.size() / d.inFeatures();
                gemmRowMajor(false, true, rows, d.outFeatures(), d.inFeatures(), x.address(), param(d.weight()),
                        y.address());
                addBias(y, rows, d.outFeatures(), 1, d.bias());
                yield y;
            }
            case Op.Conv2d c -> convolution(c, x, out, s.allocate(out, label), s);
            case Op.ConvTranspose2d c -> transposedConvolution(c, x, out, s.allocate(out, label), s);
            case Op.BatchNorm b -> {
                DeviceTensor y = s.allocate(out, label);
                int[] view = channelView(xs);
                int[] bcast = {0, 1, 0};
                device.launch(Kernel.STRIDED, xs.size(), Kernel.AFFINE, 0f, 0f, Layout.of(view, Indexing.contiguous(view),
                        Indexing.contiguous(view), bcast, b.shift() == null ? null : bcast), x.address(),
                        param(b.scale()), b.shift() == null ? 0L : param(b.shift()), y.address());
                yield y;
            }
            case Op.Activation a -> activation(a, x, xs, s.allocate(out, label));
            case Op.MaxPool2d m -> pool(Kernel.MAX_FORWARD, m.kernelH(), m.kernelW(), m.geometry(), false, xs, out,
                    x.address(), 0L, s.allocate(out, label));
            case Op.AvgPool2d a -> pool(Kernel.AVG_FORWARD, a.kernelH(), a.kernelW(), a.geometry(), a.countIncludePad(),
                    xs, out, x.address(), 0L, s.allocate(out, label));
            case Op.GlobalAvgPool _ -> globalPool(Kernel.GLOBAL_AVG_FORWARD, xs, x.address(), 0L, s.allocate(out, label));
            case Op.GlobalMaxPool _ -> globalPool(Kernel.GLOBAL_MAX_FORWARD, xs, x.address(), 0L, s.allocate(out, label));
            case Op.Binary b -> {
                DeviceTensor y = s.allocate(out, label);
                int code = switch (b) {
                    case Op.Add _ -> Kernel.ADD;
                    case Op.Sub _ -> Kernel.SUB;
                    case Op.Mul _ -> Kernel.MUL;
                    case Op.Div _ -> Kernel.DIV;
                };
                broadcast(code, 0f, 0f, out, y.address(), x, xs, in.get(1), shapes.get(1), null, null);
                yield y;
            }
            case Op.MatMul _ -> matMul(xs, x, shapes.get(1), in.get(1), s.allocate(out, label));
            case Op.ReduceSum r -> reduce(xs, x, r.axes(), false, s.allocate(out, label));
            case Op.ReduceMean r -> reduce(xs, x, r.axes(), true, s.allocate(out, label));
            case Op.Flatten _, Op.Reshape _ -> {
                DeviceTensor y = s.allocate(out, label);
                device.copy(x.address(), y.address(), xs.size());
                yield y;
            }
            case Op.Transpose t -> {
                DeviceTensor y = s.allocate(out, label);
                copy(out.dims(), x.address(), Indexing.permutedStrides(t, xs), y.address(), Indexing.contiguous(out));
                yield y;
            }
            case Op.Concat c -> {
                DeviceTensor y = s.allocate(out, label);
                int[] offsets = Indexing.concatOffsets(c, shapes, out);
                for (int j = 0; j < in.size(); j++) {
                    Shape part = shapes.get(j);
                    copy(part.dims(), in.get(j).address(), Indexing.contiguous(part), y.at(offsets[j]),
                            Indexing.contiguous(out));
                }
                yield y;
            }
            case Op.Slice sl -> {
                DeviceTensor y = s.allocate(out, label);
                Indexing.SliceView v = Indexing.sliceView(sl, xs);
                copy(v.counts(), x.at(v.offset()), v.strides(), y.address(), Indexing.contiguous(out));
                yield y;
            }
            case Op.Pad p -> {
                DeviceTensor y = s.allocate(out, label);
                fill(y.address(), out.size(), p.value());
                Indexing.PadBox b = Indexing.padBox(p, xs, out);
                if (b.nonEmpty()) {
                    copy(b.counts(), x.at(b.inOffset()), Indexing.contiguous(xs), y.at(b.outOffset()),
                            Indexing.contiguous(out));
                }
                yield y;
            }
            case Op.Expand _ -> {
                DeviceTensor y = s.allocate(out, label);
                copy(out.dims(), x.address(), Indexing.broadcast(xs, out), y.address(), Indexing.contiguous(out));
                yield y;
            }
            case Op.ResizeNearest r -> {
                DeviceTensor y = s.allocate(out, label);
                try (DeviceScope tmp = s.child()) {
                    DeviceTensor index = ints(resizeIndex(r, xs, out), tmp);
                    device.launch(Kernel.GATHER, out.size(), 0, index.address(), 0L, x.address(), y.address());
                }
                yield y;
            }
            case Op.Softmax sm -> softmax(Kernel.SOFTMAX_FORWARD, xs, sm.axis(), sm.overTrailingAxes(), x.address(), 0L,
                    s.allocate(out, label));
            case Op.LogSoftmax sm -> softmax(Kernel.LOG_SOFTMAX_FORWARD, xs, sm.axis(), sm.overTrailingAxes(),
                    x.address(), 0L, s.allocate(out, label));
        };
    }

    @Override
    public List<Tensor> inputGradients(Op op, List<Tensor> inputs, Tensor output, Tensor outputGradient,
                                       TensorScope scope) {
        DeviceScope s = Arguments.scope(scope, DeviceScope.class, CudnnBackend.ID);
        List<DeviceTensor> in = Arguments.tensors(op.type(), inputs, DeviceTensor.class, CudnnBackend.ID);
        List<Shape> shapes = Arguments.shapes(in);
        Shape out = op.outputShape(shapes);
        DeviceTensor g = Arguments.tensor(op.type(), outputGradient, DeviceTensor.class, CudnnBackend.ID);
        Arguments.requireOutputGradient(op, g.shape(), out, shapes);
        if (op instanceof Op.Constant) {
            return List.of();
        }
        String label = op.type() + " input gradient";
        DeviceTensor x = in.get(0);
        Shape xs = shapes.get(0);
        DeviceTensor dx = op instanceof Op.Binary || op instanceof Op.MatMul || op instanceof Op.Concat ? null
                : s.allocate(xs, label);
        return switch (op) {
            case Op.Constant _ -> List.of();
            case Op.Dense d -> {
                int rows = xs.size() / d.inFeatures();
                gemmRowMajor(false, false, rows, d.inFeatures(), d.outFeatures(), g.address(), param(d.weight()),
                        dx.address());
                yield List.of(dx);
            }
            case Op.Conv2d c -> List.of(convolutionGradient(c, xs, g, dx, s));
            case Op.ConvTranspose2d c -> List.of(transposedConvolutionGradient(c, xs, g, dx, s));
            case Op.BatchNorm b -> {
                int[] view = channelView(xs);
                device.launch(Kernel.STRIDED, xs.size(), Kernel.MUL, 0f, 0f, Layout.of(view, Indexing.contiguous(view),
                        Indexing.contiguous(view), new int[] {0, 1, 0}, null), g.address(), param(b.scale()), 0L,
                        dx.address());
                yield List.of(dx);
            }
            case Op.Activation a -> List.of(activationGradient(a, x, xs, g, dx));
            case Op.MaxPool2d m -> List.of(pool(Kernel.MAX_BACKWARD, m.kernelH(), m.kernelW(), m.geometry(), false, xs,
                    out, x.address(), g.address(), dx));
            case Op.AvgPool2d a -> List.of(pool(Kernel.AVG_BACKWARD, a.kernelH(), a.kernelW(), a.geometry(),
                    a.countIncludePad(), xs, out, 0L, g.address(), dx));
            case Op.GlobalAvgPool _ -> List.of(globalPool(Kernel.GLOBAL_AVG_BACKWARD, xs, 0L, g.address(), dx));
            case Op.GlobalMaxPool _ -> {
                fill(dx.address(), xs.size(), 0f);
                yield List.of(globalPool(Kernel.GLOBAL_MAX_BACKWARD, xs, x.address(), g.address(), dx));
            }
            case Op.Binary b -> binaryGradients(b, out, g, x, xs, in.get(1), shapes.get(1), s, label);
            case Op.MatMul _ -> matMulGradients(xs, x, shapes.get(1), in.get(1), g, s, label);
            case Op.ReduceSum r -> List.of(reduceGradient(xs, g, r.axes(), false, dx));
            case Op.ReduceMean r -> List.of(reduceGradient(xs, g, r.axes(), true, dx));
            case Op.Flatten _, Op.Reshape _ -> {
                device.copy(g.address(), dx.address(), xs.size());
                yield List.of(dx);
            }
            case Op.Transpose t -> {
                copy(out.dims(), g.address(), Indexing.contiguous(out), dx.address(), Indexing.permutedStrides(t, xs));
                yield List.of(dx);
            }
            case Op.Concat c -> {
                List<Tensor> grads = new ArrayList<>();
                int[] offsets = Indexing.concatOffsets(c, shapes, out);
                for (int j = 0; j < shapes.size(); j++) {
                    Shape part = shapes.get(j);
                    DeviceTensor d = s.allocate(part, label);
                    copy(part.dims(), g.at(offsets[j]), Indexing.contiguous(out), d.address(), Indexing.contiguous(part));
                    grads.add(d);
                }
                yield List.copyOf(grads);
            }
            case Op.Slice sl -> {
                fill(dx.address(), xs.size(), 0f);
                Indexing.SliceView v = Indexing.sliceView(sl, xs);
                copy(v.counts(), g.address(), Indexing.contiguous(out), dx.at(v.offset()), v.strides());
                yield List.of(dx);
            }
            case Op.Pad p -> {
                fill(dx.address(), xs.size(), 0f);
                Indexing.PadBox b = Indexing.padBox(p, xs, out);
                if (b.nonEmpty()) {
                    copy(b.counts(), g.at(b.outOffset()), Indexing.contiguous(out), dx.at(b.inOffset()),
                            Indexing.contiguous(xs));
                }
                yield List.of(dx);
            }
            case Op.Expand _ -> List.of(sumTo(Kernel.COPY, out, g, null, null, null, null, xs, dx));
            case Op.ResizeNearest r -> {
                // the adjoint of the gather: each input cell sums the output cells that copy it, in order
                int[] index = resizeIndex(r, xs, out);
                int[] starts = new int[xs.size() + 1];
                for (int source : index) {
                    starts[source + 1]++;
                }
                for (int i = 0; i < xs.size(); i++) {
                    starts[i + 1] += starts[i];
                }
                int[] sources = new int[index.length];
                int[] next = starts.clone();
                for (int o = 0; o < index.length; o++) {
                    sources[next[index[o]]++] = o;
                }
                try (DeviceScope tmp = s.child()) {
                    device.launch(Kernel.GATHER, xs.size(), 1, ints(sources, tmp).address(), ints(starts, tmp).address(),
                            dx.address(), g.address());
                }
                yield List.of(dx);
            }
            case Op.Softmax sm -> List.of(softmax(Kernel.SOFTMAX_GRAD, xs, sm.axis(), sm.overTrailingAxes(), x.address(),
                    g.address(), dx));
            case Op.LogSoftmax sm -> List.of(softmax(Kernel.LOG_SOFTMAX_GRAD, xs, sm.axis(), sm.overTrailingAxes(),
                    x.address(), g.address(), dx));
        };
    }

    // ---------------------------------------------------------------- elementwise primitives

    @Override
    public Tensor add(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("add", Kernel.ADD, 0f, 0f, a, b, scope);
    }

    @Override
    public Tensor multiply(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("multiply", Kernel.MUL, 0f, 0f, a, b, scope);
    }

    @Override
    public Tensor scale(Tensor a, float factor, TensorScope scope) {
        return elementwise("scale", Kernel.SCALE, factor, 0f, a, null, scope);
    }

    @Override
    public Tensor abs(Tensor a, TensorScope scope) {
        return elementwise("abs", Kernel.ABS, 0f, 0f, a, null, scope);
    }

    @Override
    public Tensor subtract(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("subtract", Kernel.SUB, 0f, 0f, a, b, scope);
    }

    @Override
    public Tensor divide(Tensor a, Tensor b, TensorScope scope) {
        return elementwise("divide", Kernel.DIV, 0f, 0f, a, b, scope);
    }

    @Override
    public Tensor clamp(Tensor a, float min, float max, TensorScope scope) {
        return elementwise("clamp", Kernel.CLAMP, min, max, a, null, scope);
    }

    @Override
    public Tensor positiveMask(Tensor a, TensorScope scope) {
        return elementwise("positiveMask", Kernel.POSITIVE_MASK, 0f, 0f, a, null, scope);
    }

    @Override
    public Tensor stabilize(Tensor z, float eps, TensorScope scope) {
        return elementwise("stabilize", Kernel.STABILIZE, eps, 0f, z, null, scope);
    }

    /**
     * One launch of the {@code evaluate} kernel for all the expressions, instead of one per
     * node, and no intermediate tensors; expressions beyond the kernel's program (more nodes,
     * inputs read or results) take the primitives.
     */
    @Override
    public List<Tensor> evaluate(List<Elementwise> expressions, List<Tensor> inputs, TensorScope scope) {
        DeviceScope s = Arguments.scope(scope, DeviceScope.class, CudnnBackend.ID);
        List<DeviceTensor> in = Arguments.sameShapeTensors("evaluate", inputs, DeviceTensor.class, CudnnBackend.ID);
        if (expressions.isEmpty()) {
            return List.of();
        }
        Program program = Program.of(expressions, in.size());
        if (program == null) {
            return Kernels.super.evaluate(expressions, inputs, scope);
        }
        Shape shape = in.get(0).shape();
        long[] x = new long[Program.MAX_INPUTS];
        for (int slot = 0; slot < program.inputs().length; slot++) {
            x[slot] = in.get(program.inputs()[slot]).address();
        }
        long[] y = new long[Program.MAX_RESULTS];
        List<Tensor> results = new ArrayList<>(expressions.size());
        for (int o = 0; o < expressions.size(); o++) {
            DeviceTensor r = s.allocate(shape, "evaluate result");
            y[o] = r.address();
            results.add(r);
        }
        device.launch(Kernel.EVALUATE, shape.size(), program.struct(), x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3]);
        return List.copyOf(results);
    }

    private Tensor elementwise(String what, int code, float p, float q, Tensor a, Tensor b, TensorScope scope) {
        DeviceScope s = Arguments.scope(scope, DeviceScope.class, CudnnBackend.ID);
        DeviceTensor x = Arguments.tensor(what, a, DeviceTensor.class, CudnnBackend.ID);
        DeviceTensor y = b == null ? null : Arguments.tensor(what, b, DeviceTensor.class, CudnnBackend.ID);
        if (y != null) {
            Arguments.requireSameShape(what, x, y);
        }
        DeviceTensor r = s.allocate(x.shape(), what + " result");
        long n = x.shape().size();
        device.launch(Kernel.STRIDED, n, code, p, q, Layout.flat(n), x.address(), y == null ? 0L : y.address(), 0L,
                r.address());
        return r;
    }

    // ---------------------------------------------------------------- building blocks

    private void fill(long address, long n, float value) {
        device.launch(Kernel.STRIDED, n, Kernel.FILL, value, 0f, Layout.flat(n), 0L, 0L, 0L, address);
    }

    /** {@code dst[box] = src[box]} between two strided layouts. */
    private void copy(int[] dims, long src, int[] srcStrides, long dst, int[] dstStrides) {
        device.launch(Kernel.STRIDED, size(dims), Kernel.COPY, 0f, 0f, Layout.of(dims, dstStrides, srcStrides, null, null),
                src, 0L, 0L, dst);
    }

    private static long size(int[] dims) {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    /** {@code y = op(a, b, c)} over {@code out}, each operand broadcast from its shape. */
    private void broadcast(int code, float p, float q, Shape out, long y, DeviceTensor a, Shape as, DeviceTensor b,
                           Shape bs, DeviceTensor c, Shape cs) {
        device.launch(Kernel.STRIDED, out.size(), code, p, q, Layout.of(out.dims(), Indexing.contiguous(out),
                        Indexing.broadcast(as, out), b == null ? null : Indexing.broadcast(bs, out),
                        c == null ? null : Indexing.broadcast(cs, out)),
                a.address(), b == null ? 0L : b.address(), c == null ? 0L : c.address(), y);
    }

    /**
     * {@code op(a, b, c)} over {@code out}, summed into {@code target} (of a shape that broadcasts
     * to {@code out}) along the axes it is broadcast: the gradient of an operand.
     */
    private DeviceTensor sumTo(int code, Shape out, DeviceTensor a, DeviceTensor b, Shape bs, DeviceTensor c, Shape cs,
                               Shape targetShape, DeviceTensor target) {
        sumOver(code, 1f, out.dims(), Indexing.broadcast(targetShape, out), Indexing.contiguous(out),
                b == null ? null : Indexing.broadcast(bs, out), c == null ? null : Indexing.broadcast(cs, out),
                a.address(), b == null ? 0L : b.address(), c == null ? 0L : c.address(), target.address());
        return target;
    }

    /**
     * {@code y = scale * sum op(a, b, c)} over a walk of {@code dims}, summing along the axes
     * where the output's stride is 0, in a fixed order: one thread per output element, or, where
     * there are fewer outputs than {@link #PARALLEL_OUTPUTS} and each sums at least
     * {@link #SPLIT_AT} elements, parts of about the square root of that many elements summed by
     * a thread each, then joined per output (a whole-tensor sum of 13 M elements took 150 ms
     * on one thread of an H100).
     */
    private void sumOver(int code, float scale, int[] dims, int[] y, int[] as, int[] bs, int[] cs, long a, long b, long c,
                         long target) {
        int[] outer = dims.clone();
        int[] inner = new int[dims.length];
        for (int d = 0; d < dims.length; d++) {
            boolean summed = y[d] == 0;
            outer[d] = summed ? 1 : dims[d];
            inner[d] = summed ? dims[d] : 1;
        }
        long n = size(outer);
        long m = size(inner);
        int[] outerLayout = Layout.of(outer, y, as, bs, cs);
        int[] innerLayout = Layout.of(inner, new int[dims.length], as, bs, cs);
        if (n >= PARALLEL_OUTPUTS || m < SPLIT_AT) {
            device.launch(Kernel.REDUCE, n, code, 0f, 0f, scale, outerLayout, innerLayout, a, b, c, target);
            return;
        }
        int chunk = (int) Math.ceil(Math.sqrt(m));
        int parts = (int) ((m + chunk - 1) / chunk);
        long partial = device.allocate(2 * n * parts); // doubles
        try {
            device.launch(Kernel.REDUCE_PARTS, n * parts, parts, chunk, code, 0f, 0f, outerLayout, innerLayout, a, b, c,
                    partial);
            device.launch(Kernel.REDUCE_JOIN, n, parts, scale, outerLayout, partial, target);
        } finally {
            device.free(partial);
        }
    }

    private List<Tensor> binaryGradients(Op.Binary op, Shape out, DeviceTensor g, DeviceTensor a, Shape as,
                                         DeviceTensor b, Shape bs, DeviceScope s, String label) {
        DeviceTensor ga = s.allocate(as, label);
        DeviceTensor gb = s.allocate(bs, label);
        switch (op) {
            case Op.Add _ -> {
                sumTo(Kernel.COPY, out, g, null, null, null, null, as, ga);
                sumTo(Kernel.COPY, out, g, null, null, null, null, bs, gb);
            }
            case Op.Sub _ -> {
                sumTo(Kernel.COPY, out, g, null, null, null, null, as, ga);
                sumTo(Kernel.NEG, out, g, null, null, null, null, bs, gb);
            }
            case Op.Mul _ -> {
                sumTo(Kernel.MUL, out, g, b, bs, null, null, as, ga);
                sumTo(Kernel.MUL, out, g, a, as, null, null, bs, gb);
            }
            case Op.Div _ -> {
                sumTo(Kernel.DIV_GRAD_A, out, g, b, bs, null, null, as, ga);
                sumTo(Kernel.DIV_GRAD_B, out, g, a, as, b, bs, bs, gb);
            }
        }
        return List.of(ga, gb);
    }

    /** {@code [n, c, rest]}: the view per-channel parameters broadcast along (axis 1). */
    private static int[] channelView(Shape in) {
        int inner = 1;
        for (int d = 2; d < in.rank(); d++) {
            inner *= in.dim(d);
        }
        return new int[] {in.dim(0), in.dim(1), inner};
    }

    /** Adds {@code bias[c]} to {@code y} viewed as {@code [outer, channels, inner]}. */
    private void addBias(DeviceTensor y, int outer, int channels, int inner, HostTensor bias) {
        if (bias == null) {
            return;
        }
        int[] view = {outer, channels, inner};
        device.launch(Kernel.STRIDED, y.shape().size(), Kernel.ADD, 0f, 0f, Layout.of(view, Indexing.contiguous(view),
                Indexing.contiguous(view), new int[] {0, 1, 0}, null), y.address(), param(bias), 0L, y.address());
    }

    private long param(HostTensor host) {
        return parameters.get(host);
    }

    /**
     * Row-major {@code C[M][N] = op(A)[M][K] op(B)[K][N]}, {@code A} stored {@code [M][K]} (or
     * {@code [K][M]} transposed), {@code B} {@code [K][N]} (or {@code [N][K]}): cuBLAS computes
     * the column-major {@code C^T = op(B)^T op(A)^T}.
     */
    private void gemmRowMajor(boolean transA, boolean transB, int m, int n, int k, long a, long b, long c) {
        if ((long) m * n == 0) {
            return;
        }
        if (k == 0) {
            fill(c, (long) m * n, 0f);
            return;
        }
        device.gemm(transB, transA, n, m, k, b, transB ? k : n, a, transA ? m : k, c, n);
    }

    // ---------------------------------------------------------------- convolutions

    private static boolean symmetric(Geometry2d g) {
        return g.padTop() == g.padBottom() && g.padLeft() == g.padRight();
    }

    /** The cuDNN convolution of {@code op} on an input of {@code [n, c, h, w]} already padded if asymmetric. */
    private static ConvolutionShape shape(Op.Conv2d op, int n, int h, int w) {
        Geometry2d g = op.geometry();
        boolean sym = symmetric(g);
        return new ConvolutionShape(n, op.inChannels(), h, w, op.outChannels(), op.kernelH(), op.kernelW(),
                sym ? g.padTop() : 0, sym ? g.padLeft() : 0, g.strideH(), g.strideW(), g.dilationH(), g.dilationW(),
                op.groups());
    }

    /**
     * Whether a convolution has nothing to compute: cuDNN rejects descriptors with a zero extent,
     * so an empty input or output (a batch of 0, say) never reaches it.
     */
    private boolean emptyConvolution(Shape in, Shape out, DeviceTensor result) {
        if (in.size() == 0 || out.size() == 0) {
            fill(result.address(), result.shape().size(), 0f);
            return true;
        }
        return false;
    }

    private DeviceTensor convolution(Op.Conv2d op, DeviceTensor x, Shape out, DeviceTensor y, DeviceScope s) {
        Geometry2d g = op.geometry();
        Shape xs = x.shape();
        if (emptyConvolution(xs, out, y)) {
            addBias(y, out.dim(0), out.dim(1), out.dim(2) * out.dim(3), op.bias());
            return y;
        }
        if (symmetric(g)) {
            device.convolutionForward(shape(op, xs.dim(0), xs.dim(2), xs.dim(3)), x.address(), param(op.weight()),
                    y.address());
        } else {
            try (DeviceScope tmp = s.child()) {
                DeviceTensor padded = tmp.allocate(paddedShape(xs, g), "padded input");
                fill(padded.address(), padded.shape().size(), 0f);
                copy(xs.dims(), x.address(), Indexing.contiguous(xs), padded.at(interior(padded.shape(), g)),
                        Indexing.contiguous(padded.shape()));
                Shape ps = padded.shape();
                device.convolutionForward(shape(op, ps.dim(0), ps.dim(2), ps.dim(3)), padded.address(),
                        param(op.weight()), y.address());
            }
        }
        addBias(y, out.dim(0), out.dim(1), out.dim(2) * out.dim(3), op.bias());
        return y;
    }

    private DeviceTensor convolutionGradient(Op.Conv2d op, Shape xs, DeviceTensor dy, DeviceTensor dx, DeviceScope s) {
        Geometry2d g = op.geometry();
        if (emptyConvolution(xs, dy.shape(), dx)) {
            return dx;
        }
        if (symmetric(g)) {
            device.convolutionBackwardData(shape(op, xs.dim(0), xs.dim(2), xs.dim(3)), dy.address(), param(op.weight()),
                    dx.address());
            return dx;
        }
        try (DeviceScope tmp = s.child()) {
            Shape ps = paddedShape(xs, g);
            DeviceTensor padded = tmp.allocate(ps, "padded input gradient");
            device.convolutionBackwardData(shape(op, ps.dim(0), ps.dim(2), ps.dim(3)), dy.address(), param(op.weight()),
                    padded.address());
            copy(xs.dims(), padded.at(interior(ps, g)), Indexing.contiguous(ps), dx.address(), Indexing.contiguous(xs));
        }
        return dx;
    }

    private static Shape paddedShape(Shape xs, Geometry2d g) {
        return Shape.of(xs.dim(0), xs.dim(1), xs.dim(2) + g.padTop() + g.padBottom(),
                xs.dim(3) + g.padLeft() + g.padRight());
    }

    /** Where the unpadded input starts inside the padded one, in elements. */
    private static long interior(Shape padded, Geometry2d g) {
        return (long) g.padTop() * padded.dim(3) + g.padLeft();
    }

    /**
     * A transposed convolution is cuDNN's backward-data pass of the convolution whose input has
     * the transposed convolution's output channels and whose filter is its weight as stored
     * ({@code [in, out / groups, r, s]}), at the smallest extent whose convolution gives back the
     * input's: {@code (in - 1) * stride + dilation * (k - 1) + 1}, unpadded. The output is the box
     * of that full result starting at the leading pads; rows past it (output padding) are zero.
     */
    private static ConvolutionShape fullShape(Op.ConvTranspose2d op, Shape xs) {
        Geometry2d g = op.geometry();
        int hf = (xs.dim(2) - 1) * g.strideH() + g.dilationH() * (op.kernelH() - 1) + 1;
        int wf = (xs.dim(3) - 1) * g.strideW() + g.dilationW() * (op.kernelW() - 1) + 1;
        return new ConvolutionShape(xs.dim(0), op.outChannels(), hf, wf, op.inChannels(), op.kernelH(), op.kernelW(), 0, 0,
                g.strideH(), g.strideW(), g.dilationH(), g.dilationW(), op.groups());
    }

    /** The box of the full result that lands in the output: {@code [n, c, rows, cols]}, or null if empty. */
    private static int[] croppedBox(ConvolutionShape full, Geometry2d g, Shape out) {
        int rows = Math.min(full.h() - g.padTop(), out.dim(2));
        int cols = Math.min(full.w() - g.padLeft(), out.dim(3));
        return rows <= 0 || cols <= 0 ? null : new int[] {out.dim(0), out.dim(1), rows, cols};
    }

    private DeviceTensor transposedConvolution(Op.ConvTranspose2d op, DeviceTensor x, Shape out, DeviceTensor y,
                                               DeviceScope s) {
        Geometry2d g = op.geometry();
        if (emptyConvolution(x.shape(), out, y)) {
            addBias(y, out.dim(0), out.dim(1), out.dim(2) * out.dim(3), op.bias());
            return y;
        }
        ConvolutionShape full = fullShape(op, x.shape());
        Shape fs = Shape.of(full.n(), full.c(), full.h(), full.w());
        fill(y.address(), out.size(), 0f);
        try (DeviceScope tmp = s.child()) {
            DeviceTensor f = tmp.allocate(fs, "full transposed convolution");
            device.convolutionBackwardData(full, x.address(), param(op.weight()), f.address());
            int[] box = croppedBox(full, g, out);
            if (box != null) {
                copy(box, f.at((long) g.padTop() * full.w() + g.padLeft()), Indexing.contiguous(fs), y.address(),
                        Indexing.contiguous(out));
            }
        }
        addBias(y, out.dim(0), out.dim(1), out.dim(2) * out.dim(3), op.bias());
        return y;
    }

    private DeviceTensor transposedConvolutionGradient(Op.ConvTranspose2d op, Shape xs, DeviceTensor dy, DeviceTensor dx,
                                                       DeviceScope s) {
        Geometry2d g = op.geometry();
        if (emptyConvolution(xs, dy.shape(), dx)) {
            return dx;
        }
        ConvolutionShape full = fullShape(op, xs);
        Shape fs = Shape.of(full.n(), full.c(), full.h(), full.w());
        Shape out = dy.shape();
        try (DeviceScope tmp = s.child()) {
            DeviceTensor f = tmp.allocate(fs, "full output gradient");
            fill(f.address(), fs.size(), 0f);
            int[] box = croppedBox(full, g, out);
            if (box != null) {
                copy(box, dy.address(), Indexing.contiguous(out), f.at((long) g.padTop() * full.w() + g.padLeft()),
                        Indexing.contiguous(fs));
            }
            device.convolutionForward(full, f.address(), param(op.weight()), dx.address());
        }
        return dx;
    }

    // ---------------------------------------------------------------- activations

    private DeviceTensor activation(Op.Activation op, DeviceTensor x, Shape xs, DeviceTensor y) {
        long n = xs.size();
        if (op instanceof Op.PRelu p) {
            device.launch(Kernel.STRIDED, n, Kernel.PRELU, 0f, 0f, Layout.of(xs.dims(), Indexing.contiguous(xs),
                            Indexing.contiguous(xs), Indexing.broadcast(p.slope().shape(), xs), null), x.address(),
                    param(p.slope()), 0L, y.address());
        } else {
            float[] pq = activationParameters(op);
            device.launch(Kernel.STRIDED, n, activationCode(op, false), pq[0], pq[1], Layout.flat(n), x.address(), 0L, 0L,
                    y.address());
        }
        return y;
    }

    private DeviceTensor activationGradient(Op.Activation op, DeviceTensor x, Shape xs, DeviceTensor dy,
                                            DeviceTensor dx) {
        long n = xs.size();
        if (op instanceof Op.PRelu p) {
            device.launch(Kernel.STRIDED, n, Kernel.PRELU_GRAD, 0f, 0f, Layout.of(xs.dims(), Indexing.contiguous(xs),
                            Indexing.contiguous(xs), Indexing.broadcast(p.slope().shape(), xs), Indexing.contiguous(xs)),
                    x.address(), param(p.slope()), dy.address(), dx.address());
        } else {
            float[] pq = activationParameters(op);
            device.launch(Kernel.STRIDED, n, activationCode(op, true), pq[0], pq[1], Layout.flat(n), x.address(),
                    dy.address(), 0L, dx.address());
        }
        return dx;
    }

    private static int activationCode(Op.Activation op, boolean gradient) {
        return switch (op) {
            case Op.Relu _ -> gradient ? Kernel.RELU_GRAD : Kernel.RELU;
            case Op.LeakyRelu _ -> gradient ? Kernel.LEAKY_RELU_GRAD : Kernel.LEAKY_RELU;
            case Op.PRelu _ -> gradient ? Kernel.PRELU_GRAD : Kernel.PRELU;
            case Op.Elu _ -> gradient ? Kernel.ELU_GRAD : Kernel.ELU;
            case Op.Sigmoid _ -> gradient ? Kernel.SIGMOID_GRAD : Kernel.SIGMOID;
            case Op.Tanh _ -> gradient ? Kernel.TANH_GRAD : Kernel.TANH;
            case Op.HardSigmoid _ -> gradient ? Kernel.HARD_SIGMOID_GRAD : Kernel.HARD_SIGMOID;
            case Op.HardSwish _ -> gradient ? Kernel.HARD_SWISH_GRAD : Kernel.HARD_SWISH;
            case Op.Clip _ -> gradient ? Kernel.CLIP_GRAD : Kernel.CLAMP;
        };
    }

    /** The kernel's {@code p} and {@code q} for an activation. */
    private static float[] activationParameters(Op.Activation op) {
        return switch (op) {
            case Op.LeakyRelu l -> new float[] {l.alpha(), 0f};
            case Op.Elu e -> new float[] {e.alpha(), 0f};
            case Op.HardSigmoid h -> new float[] {h.alpha(), h.beta()};
            case Op.Clip c -> new float[] {c.min(), c.max()};
            default -> new float[] {0f, 0f};
        };
    }

    // ---------------------------------------------------------------- pooling

    private DeviceTensor pool(int kind, int kh, int kw, Geometry2d g, boolean includePad, Shape in, Shape out, long x,
                              long dy, DeviceTensor target) {
        int[] geometry = {in.dim(2), in.dim(3), out.dim(2), out.dim(3), kh, kw, g.strideH(), g.strideW(), g.padTop(),
                g.padLeft(), g.padBottom(), g.padRight(), g.dilationH(), g.dilationW(), includePad ? 1 : 0};
        // forward: a thread per output cell; backward: per input cell
        long n = kind == Kernel.MAX_BACKWARD || kind == Kernel.AVG_BACKWARD ? in.size() : out.size();
        device.launch(Kernel.POOL2D, n, kind, geometry, x, dy, target.address());
        return target;
    }

    private DeviceTensor globalPool(int kind, Shape in, long x, long dy, DeviceTensor target) {
        int planes = in.dim(0) * in.dim(1);
        int area = planes == 0 ? 0 : in.size() / planes;
        device.launch(Kernel.GLOBAL_POOL, planes, kind, area, x, dy, target.address());
        return target;
    }

    // ---------------------------------------------------------------- softmax

    private DeviceTensor softmax(int kind, Shape in, int axis, boolean overTrailingAxes, long x, long dy,
                                 DeviceTensor target) {
        int[] view = Indexing.softmaxView(in, axis, overTrailingAxes);
        device.launch(Kernel.SOFTMAX, (long) view[0] * view[2], kind, view[1], view[2], x, dy, target.address());
        return target;
    }

    // ---------------------------------------------------------------- matrix products

    private DeviceTensor matMul(Shape as, DeviceTensor a, Shape bs, DeviceTensor b, DeviceTensor y) {
        MatMulDims d = MatMulDims.of(as, bs);
        long mn = (long) d.m() * d.n();
        for (int i = 0; i < d.batches(); i++) {
            gemmRowMajor(false, false, d.m(), d.n(), d.k(), a.at(d.aStarts()[i]), b.at(d.bStarts()[i]), y.at(i * mn));
        }
        return y;
    }

    /** {@code dA = dY B^T}, {@code dB = A^T dY} per batch, each summed over the batch axes its operand was broadcast along. */
    private List<Tensor> matMulGradients(Shape as, DeviceTensor a, Shape bs, DeviceTensor b, DeviceTensor dy,
                                         DeviceScope s, String label) {
        MatMulDims d = MatMulDims.of(as, bs);
        int batches = d.batches();
        long mn = (long) d.m() * d.n();
        long mk = (long) d.m() * d.k();
        long kn = (long) d.k() * d.n();
        DeviceTensor ga = s.allocate(as, label);
        DeviceTensor gb = s.allocate(bs, label);
        try (DeviceScope tmp = s.child()) {
            Shape fullA = MatMulDims.withMatrix(d.batch(), d.m(), d.k());
            Shape fullB = MatMulDims.withMatrix(d.batch(), d.k(), d.n());
            DeviceTensor da = tmp.allocate(fullA, "full dA");
            DeviceTensor db = tmp.allocate(fullB, "full dB");
            for (int i = 0; i < batches; i++) {
                gemmRowMajor(false, true, d.m(), d.k(), d.n(), dy.at(i * mn), b.at(d.bStarts()[i]), da.at(i * mk));
                gemmRowMajor(true, false, d.k(), d.n(), d.m(), a.at(d.aStarts()[i]), dy.at(i * mn), db.at(i * kn));
            }
            sumTo(Kernel.COPY, fullA, da, null, null, null, null, MatMulDims.withMatrix(d.aBatch(), d.m(), d.k()), ga);
            sumTo(Kernel.COPY, fullB, db, null, null, null, null, MatMulDims.withMatrix(d.bBatch(), d.k(), d.n()), gb);
        }
        return List.of(ga, gb);
    }

    // ---------------------------------------------------------------- reductions and routing

    private DeviceTensor reduce(Shape in, DeviceTensor x, List<Integer> axes, boolean mean, DeviceTensor y) {
        Shape kept = Indexing.keptShape(in, axes);
        float scale = mean ? (float) (1.0 / Indexing.reducedCount(in, axes)) : 1f;
        sumOver(Kernel.COPY, scale, in.dims(), Indexing.broadcast(kept, in), Indexing.contiguous(in), null, null,
                x.address(), 0L, 0L, y.address());
        return y;
    }

    private DeviceTensor reduceGradient(Shape in, DeviceTensor dy, List<Integer> axes, boolean mean, DeviceTensor dx) {
        Shape kept = Indexing.keptShape(in, axes);
        float factor = mean ? (float) (1.0 / Indexing.reducedCount(in, axes)) : 1f;
        device.launch(Kernel.STRIDED, in.size(), Kernel.SCALE, factor, 0f, Layout.of(in.dims(), Indexing.contiguous(in),
                Indexing.broadcast(kept, in), null, null), dy.address(), 0L, 0L, dx.address());
        return dx;
    }

    /** For each output element of a nearest resize, the input element it copies. */
    private static int[] resizeIndex(Op.ResizeNearest op, Shape in, Shape out) {
        int rank = in.rank();
        int[] inStrides = Indexing.contiguous(in);
        int[][] src = new int[rank][];
        for (int d = 0; d < rank; d++) {
            src[d] = new int[out.dim(d)];
            for (int i = 0; i < src[d].length; i++) {
                src[d][i] = op.sourceIndex(d, i, in.dim(d)) * inStrides[d];
            }
        }
        int[] index = new int[out.size()];
        int[] idx = new int[rank];
        for (int i = 0; i < index.length; i++) {
            int at = 0;
            for (int d = 0; d < rank; d++) {
                at += src[d][idx[d]];
            }
            index[i] = at;
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < out.dim(d)) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return index;
    }

    /** {@code values} in a device buffer of {@code tmp} (ints, in a buffer of as many floats). */
    private DeviceTensor ints(int[] values, DeviceScope tmp) {
        DeviceTensor t = tmp.allocate(Shape.of(values.length), "index");
        device.copyIn(values, t.address());
        return t;
    }
}

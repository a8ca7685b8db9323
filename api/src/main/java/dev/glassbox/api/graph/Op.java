package dev.glassbox.api.graph;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * What a node computes. A closed set: backends implement every op, explainers switch over
 * them. Activations are batched (axis 0 is the batch) and every axis an op names counts the
 * batch axis, as in ONNX; parameters ({@link HostTensor}s inside the records) are not
 * batched. Images are NCHW. Each op knows its {@link #outputShape output shape} and its
 * {@link #role() role} for explanations, so loaders, backends and explainers agree on both.
 */
public sealed interface Op {

    /** A short name for messages and listings, e.g. {@code Conv2d}. */
    default String type() {
        return getClass().getSimpleName();
    }

    /** Number of activation inputs the node takes: one unless the op says otherwise. */
    default int arity() {
        return 1;
    }

    /** What the op does to values, which decides how relevance passes through it. */
    Role role();

    /**
     * The output shape for inputs of the given shapes, or an {@link IllegalArgumentException}
     * naming the op and the shapes when they do not fit.
     */
    Shape outputShape(List<Shape> inputs);

    /**
     * How an op transforms values, as far as explanation methods care: the graph-level model of
     * which ops which LRP rule can explain. Gradients pass through every role.
     */
    enum Role {
        /** Affine in its input for fixed parameters ({@link Linear}): the layers LRP rules redistribute through. */
        LINEAR,
        /** Elementwise and monotone with one input: relevance passes unchanged ({@code pass}). */
        ACTIVATION,
        /** Adds or averages values: relevance is shared in proportion to the contributions ({@code norm}). */
        SUMMING,
        /** Moves, copies, selects or pads values without changing them: relevance follows the gradient. */
        ROUTING,
        /** Multiplies or divides values: linear only when all but one factor are constants. */
        PRODUCT,
        /** Turns scores into probabilities: left out, explanations start at the logits. */
        OUTPUT,
        /** Reads no input: a constant. */
        CONSTANT
    }

    /**
     * An affine layer {@code y = layer(x; W) + b}, linear in {@code x} for fixed parameters:
     * the layers LRP rules redistribute through by modifying the parameters.
     */
    sealed interface Linear extends Op permits Dense, Convolution, BatchNorm {

        HostTensor weight();

        /** The bias, or {@code null} for none. */
        HostTensor bias();

        /** The same layer with other parameters of the same shapes ({@code bias} may be null). */
        Linear withParameters(HostTensor weight, HostTensor bias);


        @Override
        default Role role() {
            return Role.LINEAR;
        }
    }

    /**
     * A 2-D convolution or transposed convolution: a weight {@code [*, *, kH, kW]} placed by a
     * geometry, in groups.
     */
    sealed interface Convolution extends Linear permits Conv2d, ConvTranspose2d {
        Geometry2d geometry();

        int groups();

        default int kernelH() {
            return weight().shape().dim(2);
        }

        default int kernelW() {
            return weight().shape().dim(3);
        }
    }

    /** An op with one activation input whose output has the input's shape. */
    private static Shape same(Op op, List<Shape> in) {
        return checkArity(op, in).get(0);
    }

    // ================================================================ constants

    /** A constant value (a parameter that other nodes combine with activations, broadcast like ONNX). */
    record Constant(HostTensor value) implements Op {
        public Constant {
            if (value == null) {
                throw new IllegalArgumentException("Constant value is null");
            }
        }

        @Override
        public int arity() {
            return 0;
        }

        @Override
        public Role role() {
            return Role.CONSTANT;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            checkArity(this, inputs);
            return value.shape();
        }
    }

    // ================================================================ linear layers

    /**
     * Fully connected over the last axis: {@code y = x W^T + b} for {@code x} of shape
     * {@code [..., in]} (rank 2 or more; every leading axis is a row).
     *
     * @param weight {@code [out, in]}
     * @param bias   {@code [out]}, or {@code null} for none
     */
    record Dense(HostTensor weight, HostTensor bias) implements Linear {
        public Dense {
            requireRank(weight, 2, "Dense weight");
            requireBias(bias, weight.shape().dim(0), "Dense", weight);
        }

        @Override
        public Dense withParameters(HostTensor newWeight, HostTensor newBias) {
            return new Dense(newWeight, newBias);
        }

        public int inFeatures() {
            return weight.shape().dim(1);
        }

        public int outFeatures() {
            return weight.shape().dim(0);
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            if (x.rank() < 2 || x.dim(-1) != inFeatures()) {
                throw mismatch(this, "input " + x + " needs rank >= 2 and " + inFeatures() + " features on the last axis");
            }
            int[] out = x.dims();
            out[out.length - 1] = outFeatures();
            return Shape.of(out);
        }
    }

    /**
     * 2-D convolution (cross-correlation, as in PyTorch and ONNX) over NCHW input.
     *
     * @param weight {@code [out, in / groups, kH, kW]}
     * @param bias   {@code [out]}, or {@code null} for none
     */
    record Conv2d(HostTensor weight, HostTensor bias, Geometry2d geometry, int groups) implements Convolution {
        public Conv2d {
            requireRank(weight, 4, "Conv2d weight");
            if (groups < 1 || weight.shape().dim(0) % groups != 0) {
                throw new IllegalArgumentException("groups " + groups + " must divide " + weight.shape().dim(0) + " output channels");
            }
            requireBias(bias, weight.shape().dim(0), "Conv2d", weight);
        }

        @Override
        public Conv2d withParameters(HostTensor newWeight, HostTensor newBias) {
            return new Conv2d(newWeight, newBias, geometry, groups);
        }

        public int outChannels() {
            return weight.shape().dim(0);
        }

        public int inChannels() {
            return weight.shape().dim(1) * groups;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = image(this, same(this, inputs));
            if (x.dim(1) != inChannels()) {
                throw mismatch(this, "input " + x + " has " + x.dim(1) + " channels, the weight " + weight.shape()
                        + " with " + groups + " groups takes " + inChannels());
            }
            return Shape.of(x.dim(0), outChannels(),
                    positiveExtent(this, geometry.outHeight(x.dim(2), kernelH()), x),
                    positiveExtent(this, geometry.outWidth(x.dim(3), kernelW()), x));
        }
    }

    /**
     * 2-D transposed convolution (the vector-Jacobian product of {@link Conv2d} as a layer), as
     * ONNX {@code ConvTranspose}: output size per axis
     * {@code stride * (in - 1) + outputPad + dilation * (k - 1) + 1 - padBefore - padAfter}.
     *
     * @param weight {@code [in, out / groups, kH, kW]}
     * @param bias   {@code [out]}, or {@code null} for none
     */
    record ConvTranspose2d(HostTensor weight, HostTensor bias, Geometry2d geometry, int groups,
                           int outputPadH, int outputPadW) implements Convolution {
        public ConvTranspose2d {
            requireRank(weight, 4, "ConvTranspose2d weight");
            if (groups < 1 || weight.shape().dim(0) % groups != 0) {
                throw new IllegalArgumentException("groups " + groups + " must divide " + weight.shape().dim(0) + " input channels");
            }
            requireBias(bias, weight.shape().dim(1) * groups, "ConvTranspose2d", weight);
            if (outputPadH < 0 || outputPadW < 0 || outputPadH >= Math.max(geometry.strideH(), geometry.dilationH())
                    || outputPadW >= Math.max(geometry.strideW(), geometry.dilationW())) {
                throw new IllegalArgumentException("ConvTranspose2d output padding " + outputPadH + "x" + outputPadW
                        + " must be >= 0 and smaller than the stride or dilation");
            }
        }

        @Override
        public ConvTranspose2d withParameters(HostTensor newWeight, HostTensor newBias) {
            return new ConvTranspose2d(newWeight, newBias, geometry, groups, outputPadH, outputPadW);
        }

        public int inChannels() {
            return weight.shape().dim(0);
        }

        public int outChannels() {
            return weight.shape().dim(1) * groups;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = image(this, same(this, inputs));
            if (x.dim(1) != inChannels()) {
                throw mismatch(this, "input " + x + " has " + x.dim(1) + " channels, the weight " + weight.shape() + " takes "
                        + inChannels());
            }
            Geometry2d g = geometry;
            long h = (long) g.strideH() * (x.dim(2) - 1) + outputPadH + (long) g.dilationH() * (kernelH() - 1) + 1
                    - g.padTop() - g.padBottom();
            long w = (long) g.strideW() * (x.dim(3) - 1) + outputPadW + (long) g.dilationW() * (kernelW() - 1) + 1
                    - g.padLeft() - g.padRight();
            return Shape.of(x.dim(0), outChannels(), positiveExtent(this, h, x), positiveExtent(this, w, x));
        }
    }

    /**
     * Batch normalization at inference, as the per-channel affine map it is:
     * {@code y = x * scale[c] + shift[c]} on axis 1 of an input of rank 2 or more, where a
     * loader computes {@code scale = gamma / sqrt(var + eps)} and
     * {@code shift = beta - mean * scale}. As a {@link Linear} layer its weight is the scale.
     */
    record BatchNorm(HostTensor scale, HostTensor shift) implements Linear {
        public BatchNorm {
            requireRank(scale, 1, "BatchNorm scale");
            requireBias(shift, scale.shape().dim(0), "BatchNorm", scale);
        }

        @Override
        public HostTensor weight() {
            return scale;
        }

        @Override
        public HostTensor bias() {
            return shift;
        }

        @Override
        public BatchNorm withParameters(HostTensor newWeight, HostTensor newBias) {
            return new BatchNorm(newWeight, newBias);
        }

        public int channels() {
            return scale.shape().dim(0);
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            if (x.rank() < 2 || x.dim(1) != channels()) {
                throw mismatch(this, "input " + x + " needs rank >= 2 and " + channels() + " channels on axis 1");
            }
            return x;
        }
    }

    // ================================================================ activations

    /** An elementwise activation: one input, output of the same shape. */
    sealed interface Activation extends Op permits Relu, LeakyRelu, PRelu, Elu, Sigmoid, Tanh, HardSigmoid, HardSwish, Clip {

        @Override
        default Role role() {
            return Role.ACTIVATION;
        }

        @Override
        default Shape outputShape(List<Shape> inputs) {
            return same(this, inputs);
        }
    }

    /** {@code max(x, 0)}; the derivative at 0 is 0. */
    record Relu() implements Activation {
    }

    /** {@code x >= 0 ? x : alpha * x}. */
    record LeakyRelu(float alpha) implements Activation {
    }

    /**
     * {@code x >= 0 ? x : slope * x}, the slope broadcast against the input as ONNX does (it
     * is aligned with the input's last axes, e.g. {@code [C, 1, 1]} per channel of an image).
     */
    record PRelu(HostTensor slope) implements Activation {
        public PRelu {
            if (slope == null) {
                throw new IllegalArgumentException("PRelu slope is null");
            }
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            Shape b;
            try {
                b = Shape.broadcast(x, slope.shape());
            } catch (IllegalArgumentException e) {
                throw mismatch(this, "slope " + slope.shape() + " does not broadcast to input " + x);
            }
            if (!b.equals(x)) {
                throw mismatch(this, "slope " + slope.shape() + " would enlarge input " + x + " to " + b);
            }
            return x;
        }
    }

    /** {@code x > 0 ? x : alpha * (exp(x) - 1)}. */
    record Elu(float alpha) implements Activation {
    }

    /** {@code 1 / (1 + exp(-x))}. */
    record Sigmoid() implements Activation {
    }

    /** {@code tanh(x)}. */
    record Tanh() implements Activation {
    }

    /** {@code max(0, min(1, alpha * x + beta))}. */
    record HardSigmoid(float alpha, float beta) implements Activation {
    }

    /** {@code x * max(0, min(1, x / 6 + 1 / 2))}. */
    record HardSwish() implements Activation {
    }

    /**
     * {@code min(max(x, min), max)}; an infinite bound leaves that side open. The derivative is
     * 1 strictly inside the bounds and 0 outside, at a bound 1 (as ONNX Runtime and PyTorch).
     */
    record Clip(float min, float max) implements Activation {
        public Clip {
            if (Float.isNaN(min) || Float.isNaN(max)) {
                throw new IllegalArgumentException("Clip bounds must not be NaN");
            }
        }
    }

    // ================================================================ pooling

    /**
     * Max pooling over a {@code kernelH x kernelW} window with dilation; padding never wins the
     * max. With {@code ceilMode} the output size rounds up, and windows that run past the
     * padded input see only what is inside.
     */
    record MaxPool2d(int kernelH, int kernelW, Geometry2d geometry, boolean ceilMode) implements Op {
        public MaxPool2d {
            requirePositive(kernelH, kernelW);
        }

        /** Floor mode. */
        public MaxPool2d(int kernelH, int kernelW, Geometry2d geometry) {
            this(kernelH, kernelW, geometry, false);
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return pooledShape(this, same(this, inputs), kernelH, kernelW, geometry, ceilMode);
        }
    }

    /**
     * Average pooling. With {@code countIncludePad} the divisor counts the window's cells inside
     * the padded input (the whole window, except where {@code ceilMode} lets it run past the
     * padding); without, only the cells inside the input count.
     */
    record AvgPool2d(int kernelH, int kernelW, Geometry2d geometry, boolean countIncludePad, boolean ceilMode)
            implements Op {
        public AvgPool2d {
            requirePositive(kernelH, kernelW);
        }

        /** Floor mode. */
        public AvgPool2d(int kernelH, int kernelW, Geometry2d geometry, boolean countIncludePad) {
            this(kernelH, kernelW, geometry, countIncludePad, false);
        }


        @Override
        public Role role() {
            return Role.SUMMING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return pooledShape(this, same(this, inputs), kernelH, kernelW, geometry, ceilMode);
        }
    }

    /** Mean over every axis after the channel axis: {@code [N, C, d1, ...] -> [N, C, 1, ...]}. */
    record GlobalAvgPool() implements Op {

        @Override
        public Role role() {
            return Role.SUMMING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return globalPooled(this, same(this, inputs));
        }
    }

    /** Maximum over every axis after the channel axis: {@code [N, C, d1, ...] -> [N, C, 1, ...]}. */
    record GlobalMaxPool() implements Op {

        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return globalPooled(this, same(this, inputs));
        }
    }

    // ================================================================ elementwise arithmetic

    /** Elementwise arithmetic of two values with ONNX (numpy) multidirectional broadcasting. */
    sealed interface Binary extends Op permits Add, Sub, Mul, Div {
        @Override
        default int arity() {
            return 2;
        }

        @Override
        default Shape outputShape(List<Shape> inputs) {
            checkArity(this, inputs);
            try {
                return Shape.broadcast(inputs.get(0), inputs.get(1));
            } catch (IllegalArgumentException e) {
                throw mismatch(this, "shapes " + inputs.get(0) + " and " + inputs.get(1) + " do not broadcast");
            }
        }
    }

    /** {@code a + b} (e.g. a residual connection, or a bias). */
    record Add() implements Binary {
        @Override
        public Role role() {
            return Role.SUMMING;
        }
    }

    /** {@code a - b}. */
    record Sub() implements Binary {
        @Override
        public Role role() {
            return Role.SUMMING;
        }
    }

    /** {@code a * b}. */
    record Mul() implements Binary {
        @Override
        public Role role() {
            return Role.PRODUCT;
        }
    }

    /** {@code a / b} (IEEE semantics). */
    record Div() implements Binary {
        @Override
        public Role role() {
            return Role.PRODUCT;
        }
    }

    /**
     * Matrix product with numpy semantics (rank-1 operands are promoted and the added axis
     * removed; leading axes broadcast). A product with a constant 2-D right operand is a
     * {@link Dense} layer, which loaders emit instead.
     */
    record MatMul() implements Op {
        @Override
        public int arity() {
            return 2;
        }

        @Override
        public Role role() {
            return Role.PRODUCT;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            checkArity(this, inputs);
            Shape a = inputs.get(0);
            Shape b = inputs.get(1);
            if (a.rank() == 0 || b.rank() == 0) {
                throw mismatch(this, "operands " + a + " and " + b + " must have rank >= 1");
            }
            int[] ad = a.rank() == 1 ? new int[]{1, a.dim(0)} : a.dims();
            int[] bd = b.rank() == 1 ? new int[]{b.dim(0), 1} : b.dims();
            int k = ad[ad.length - 1];
            if (k != bd[bd.length - 2]) {
                throw mismatch(this, "operands " + a + " and " + b + " have inner dimensions " + k + " and "
                        + bd[bd.length - 2]);
            }
            Shape batchA = Shape.of(java.util.Arrays.copyOf(ad, ad.length - 2));
            Shape batchB = Shape.of(java.util.Arrays.copyOf(bd, bd.length - 2));
            Shape batch;
            try {
                batch = Shape.broadcast(batchA, batchB);
            } catch (IllegalArgumentException e) {
                throw mismatch(this, "leading axes of " + a + " and " + b + " do not broadcast");
            }
            List<Integer> out = new ArrayList<>();
            for (int d : batch.dims()) {
                out.add(d);
            }
            if (a.rank() > 1) {
                out.add(ad[ad.length - 2]);
            }
            if (b.rank() > 1) {
                out.add(bd[bd.length - 1]);
            }
            return Shape.of(out.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    // ================================================================ reductions

    /** Sum over the given axes (sorted, non-negative, at least one), keeping them as size 1 or not. */
    record ReduceSum(List<Integer> axes, boolean keepDims) implements Op {
        public ReduceSum {
            axes = requireAxes(axes, "ReduceSum");
        }


        @Override
        public Role role() {
            return Role.SUMMING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return reduced(this, same(this, inputs), axes, keepDims);
        }
    }

    /** Mean over the given axes (sorted, non-negative, at least one), keeping them as size 1 or not. */
    record ReduceMean(List<Integer> axes, boolean keepDims) implements Op {
        public ReduceMean {
            axes = requireAxes(axes, "ReduceMean");
        }


        @Override
        public Role role() {
            return Role.SUMMING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return reduced(this, same(this, inputs), axes, keepDims);
        }
    }

    // ================================================================ moving values

    /** Reshape to 2-D: axes before {@code axis} form the first dimension, the rest the second. */
    record Flatten(int axis) implements Op {

        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            int a = axis < 0 ? axis + x.rank() : axis;
            if (a < 0 || a > x.rank()) {
                throw mismatch(this, "axis " + axis + " out of range for input " + x);
            }
            long outer = 1;
            for (int d = 0; d < a; d++) {
                outer *= x.dim(d);
            }
            return Shape.of((int) outer, outer == 0 ? 0 : (int) (x.size() / outer));
        }
    }

    /**
     * Reshape with ONNX semantics: {@code 0} copies the input's dimension at that position,
     * one {@code -1} is inferred. The shape includes the batch axis.
     */
    record Reshape(List<Integer> shape) implements Op {
        public Reshape {
            shape = List.copyOf(shape);
        }

        public Reshape(int... shape) {
            this(java.util.Arrays.stream(shape).boxed().toList());
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape in = same(this, inputs);
            int[] out = new int[shape.size()];
            int infer = -1;
            long known = 1;
            for (int i = 0; i < out.length; i++) {
                out[i] = shape.get(i);
                if (out[i] == 0) {
                    if (i >= in.rank()) {
                        throw mismatch(this, "0 at axis " + i + " copies a dimension " + in + " does not have");
                    }
                    out[i] = in.dim(i);
                }
                if (out[i] == -1) {
                    if (infer >= 0) {
                        throw mismatch(this, "more than one -1 in " + shape);
                    }
                    infer = i;
                } else if (out[i] < 0) {
                    throw mismatch(this, "negative dimension in " + shape);
                } else {
                    known *= out[i];
                }
            }
            if (infer >= 0) {
                if (known == 0 || in.size() % known != 0) {
                    throw mismatch(this, "cannot reshape " + in + " to " + shape);
                }
                out[infer] = (int) (in.size() / known);
            }
            Shape result = Shape.of(out);
            if (result.size() != in.size()) {
                throw mismatch(this, "cannot reshape " + in + " to " + shape);
            }
            return result;
        }
    }

    /** Permutes the axes: output axis {@code i} is input axis {@code perm[i]}. */
    record Transpose(List<Integer> perm) implements Op {
        public Transpose {
            perm = List.copyOf(perm);
            boolean[] seen = new boolean[perm.size()];
            for (int p : perm) {
                if (p < 0 || p >= seen.length || seen[p]) {
                    throw new IllegalArgumentException("Transpose: " + perm + " is not a permutation");
                }
                seen[p] = true;
            }
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            if (x.rank() != perm.size()) {
                throw mismatch(this, "permutation " + perm + " for input " + x);
            }
            int[] out = new int[perm.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = x.dim(perm.get(i));
            }
            return Shape.of(out);
        }
    }

    /** Joins {@code arity} values along {@code axis} (non-negative); the other axes must agree. */
    record Concat(int axis, int arity) implements Op {
        public Concat {
            if (axis < 0 || arity < 1) {
                throw new IllegalArgumentException("Concat needs axis >= 0 and at least one input: " + axis + ", " + arity);
            }
        }

        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            checkArity(this, inputs);
            Shape first = inputs.get(0);
            if (axis >= first.rank()) {
                throw mismatch(this, "axis " + axis + " out of range for " + first);
            }
            long total = 0;
            for (Shape s : inputs) {
                if (s.rank() != first.rank()) {
                    throw mismatch(this, "inputs " + inputs + " differ in rank");
                }
                for (int d = 0; d < s.rank(); d++) {
                    if (d != axis && s.dim(d) != first.dim(d)) {
                        throw mismatch(this, "inputs " + inputs + " differ on axis " + d);
                    }
                }
                total += s.dim(axis);
            }
            int[] out = first.dims();
            out[axis] = Math.toIntExact(total);
            return Shape.of(out);
        }
    }

    /**
     * ONNX {@code Slice}: for each listed axis, elements {@code start, start + step, ...} up to
     * (not including) {@code end}. Negative starts and ends count from the end; both are
     * clamped to the axis as ONNX specifies, so {@code Integer.MAX_VALUE} means "to the end".
     * Axes are non-negative and distinct; steps are non-zero.
     */
    record Slice(List<Integer> starts, List<Integer> ends, List<Integer> axes, List<Integer> steps) implements Op {
        public Slice {
            starts = List.copyOf(starts);
            ends = List.copyOf(ends);
            axes = List.copyOf(axes);
            steps = List.copyOf(steps);
            if (starts.size() != axes.size() || ends.size() != axes.size() || steps.size() != axes.size()) {
                throw new IllegalArgumentException("Slice: starts, ends, axes and steps differ in length");
            }
            if (axes.stream().anyMatch(a -> a < 0) || axes.stream().distinct().count() != axes.size()) {
                throw new IllegalArgumentException("Slice: axes " + axes + " must be distinct and non-negative");
            }
            if (steps.contains(0)) {
                throw new IllegalArgumentException("Slice: a step is 0");
            }
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        /**
         * Where the slice reads on each axis of an input of shape {@code in}: for axis {@code d},
         * {@code {first index, step, count}} (an unsliced axis is {@code {0, 1, in.dim(d)}}).
         */
        public int[][] ranges(Shape in) {
            int[][] r = new int[in.rank()][];
            for (int d = 0; d < in.rank(); d++) {
                r[d] = new int[]{0, 1, in.dim(d)};
            }
            for (int i = 0; i < axes.size(); i++) {
                int d = axes.get(i);
                if (d >= in.rank()) {
                    throw mismatch(this, "axis " + d + " out of range for input " + in);
                }
                long dim = in.dim(d);
                long step = steps.get(i);
                long start = starts.get(i);
                long end = ends.get(i);
                start = start < 0 ? start + dim : start;
                end = end < 0 ? end + dim : end;
                long count;
                if (dim == 0) {
                    start = 0;
                    count = 0;
                } else if (step > 0) {
                    start = Math.clamp(start, 0, dim);
                    end = Math.clamp(end, 0, dim);
                    count = end > start ? (end - start + step - 1) / step : 0;
                } else {
                    start = Math.clamp(start, 0, dim - 1);
                    end = Math.clamp(end, -1, dim - 1);
                    count = start > end ? (start - end - step - 1) / -step : 0;
                }
                r[d] = new int[]{(int) start, (int) step, (int) count};
            }
            return r;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            int[][] r = ranges(same(this, inputs));
            int[] out = new int[r.length];
            for (int d = 0; d < r.length; d++) {
                out[d] = r[d][2];
            }
            return Shape.of(out);
        }
    }

    /**
     * Constant padding: {@code pads} holds the count added before each axis, then after each
     * axis (ONNX order); negative counts remove elements.
     */
    record Pad(List<Integer> pads, float value) implements Op {
        public Pad {
            pads = List.copyOf(pads);
            if (pads.size() % 2 != 0) {
                throw new IllegalArgumentException("Pad: " + pads.size() + " pads, not two per axis");
            }
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            int rank = pads.size() / 2;
            if (x.rank() != rank) {
                throw mismatch(this, pads + " for input " + x + " of rank " + x.rank());
            }
            int[] out = new int[rank];
            for (int d = 0; d < rank; d++) {
                long n = (long) x.dim(d) + pads.get(d) + pads.get(d + rank);
                if (n < 0) {
                    throw mismatch(this, pads + " remove more than input " + x + " has on axis " + d);
                }
                out[d] = Math.toIntExact(n);
            }
            return Shape.of(out);
        }
    }

    /** Broadcasts the input to {@code broadcast(input, shape)} (ONNX {@code Expand}). */
    record Expand(List<Integer> shape) implements Op {
        public Expand {
            shape = List.copyOf(shape);
        }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            try {
                return Shape.broadcast(x, Shape.of(shape.stream().mapToInt(Integer::intValue).toArray()));
            } catch (IllegalArgumentException e) {
                throw mismatch(this, "input " + x + " does not broadcast to " + shape);
            }
        }
    }

    /**
     * Nearest-neighbour resize (ONNX {@code Resize} with mode {@code nearest}, and
     * {@code Upsample}). Per axis the output size is {@code sizes[d]} when that is positive,
     * else {@code floor(in * scales[d])}; output index {@code i} reads input index
     * {@link #sourceIndex}.
     *
     * @param scales the scale of each axis, used in the coordinate transform
     * @param sizes  the output size of each axis, or {@code -1} where it follows the scale
     */
    record ResizeNearest(List<Float> scales, List<Integer> sizes, CoordinateMode coordinateMode,
                         NearestMode nearestMode) implements Op {
        public ResizeNearest {
            scales = List.copyOf(scales);
            sizes = List.copyOf(sizes);
            if (scales.size() != sizes.size()) {
                throw new IllegalArgumentException("ResizeNearest: " + scales.size() + " scales, " + sizes.size() + " sizes");
            }
            for (int d = 0; d < scales.size(); d++) {
                if (!(scales.get(d) > 0) || Float.isInfinite(scales.get(d)) || sizes.get(d) == 0 || sizes.get(d) < -1) {
                    throw new IllegalArgumentException("ResizeNearest: invalid scale " + scales.get(d) + " or size "
                            + sizes.get(d) + " on axis " + d);
                }
            }
        }

        /** How an output coordinate maps back to the input (ONNX {@code coordinate_transformation_mode}). */
        public enum CoordinateMode { HALF_PIXEL, PYTORCH_HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC, TF_HALF_PIXEL_FOR_NN }

        /** How a fractional input coordinate becomes an index (ONNX {@code nearest_mode}). */
        public enum NearestMode { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL }


        @Override
        public Role role() {
            return Role.ROUTING;
        }

        /** The output size of axis {@code d} for an input size {@code in}. */
        public int outDim(int d, int in) {
            return sizes.get(d) > 0 ? sizes.get(d) : (int) Math.floor(in * (double) scales.get(d));
        }

        /** The input index that output index {@code i} of axis {@code d} reads. */
        public int sourceIndex(int d, int i, int in) {
            int out = outDim(d, in);
            float scale = scales.get(d);
            float x = switch (coordinateMode) {
                case HALF_PIXEL -> (i + 0.5f) / scale - 0.5f;
                case PYTORCH_HALF_PIXEL -> out > 1 ? (i + 0.5f) / scale - 0.5f : 0f;
                case ALIGN_CORNERS -> out == 1 ? 0f : i * (float) (in - 1) / (out - 1);
                case ASYMMETRIC -> i / scale;
                case TF_HALF_PIXEL_FOR_NN -> (i + 0.5f) / scale;
            };
            double index = switch (nearestMode) {
                case ROUND_PREFER_FLOOR -> x == Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
                case ROUND_PREFER_CEIL -> Math.round(x);
                case FLOOR -> Math.floor(x);
                case CEIL -> Math.ceil(x);
            };
            return (int) Math.max(0, Math.min(in - 1, index));
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            Shape x = same(this, inputs);
            if (x.rank() != scales.size()) {
                throw mismatch(this, scales.size() + " scales for input " + x);
            }
            int[] out = new int[x.rank()];
            for (int d = 0; d < out.length; d++) {
                out[d] = outDim(d, x.dim(d));
                if (out[d] < 1) {
                    throw mismatch(this, "input " + x + " resizes to nothing on axis " + d);
                }
            }
            return Shape.of(out);
        }
    }

    // ================================================================ outputs

    /**
     * Softmax along {@code axis} (non-negative). With {@code overTrailingAxes} (ONNX before
     * opset 13) the input is viewed as 2-D, {@code [prod(dims < axis), prod(dims >= axis)]}, and
     * the softmax runs over all trailing axes together.
     */
    record Softmax(int axis, boolean overTrailingAxes) implements Op {
        public Softmax(int axis) {
            this(axis, false);
        }


        @Override
        public Role role() {
            return Role.OUTPUT;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return checkAxis(this, same(this, inputs), axis);
        }
    }

    /** Log-softmax, as {@link Softmax}. */
    record LogSoftmax(int axis, boolean overTrailingAxes) implements Op {
        public LogSoftmax(int axis) {
            this(axis, false);
        }


        @Override
        public Role role() {
            return Role.OUTPUT;
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return checkAxis(this, same(this, inputs), axis);
        }
    }

    // ================================================================ helpers

    private static List<Shape> checkArity(Op op, List<Shape> in) {
        if (in.size() != op.arity()) {
            throw new IllegalArgumentException(op.type() + ": takes " + op.arity() + " inputs, got " + in.size());
        }
        return in;
    }

    private static IllegalArgumentException mismatch(Op op, String why) {
        return new IllegalArgumentException(op.type() + ": " + why);
    }

    private static Shape image(Op op, Shape x) {
        if (x.rank() != 4) {
            throw mismatch(op, "input " + x + " is not NCHW (rank 4)");
        }
        return x;
    }

    private static int positiveExtent(Op op, long n, Shape x) {
        if (n < 1) {
            throw mismatch(op, "input " + x + " is too small for the window");
        }
        return Math.toIntExact(n);
    }

    private static Shape pooledShape(Op op, Shape x, int kH, int kW, Geometry2d g, boolean ceil) {
        image(op, x);
        return Shape.of(x.dim(0), x.dim(1),
                positiveExtent(op, pooledExtent(x.dim(2), kH, g.strideH(), g.padTop(), g.padBottom(), g.dilationH(), ceil), x),
                positiveExtent(op, pooledExtent(x.dim(3), kW, g.strideW(), g.padLeft(), g.padRight(), g.dilationW(), ceil), x));
    }

    /**
     * Pooling output size on one axis. In ceil mode the last window must start inside the input
     * or its leading padding (PyTorch's rule, which ONNX Runtime follows).
     */
    private static long pooledExtent(int in, int k, int stride, int padBefore, int padAfter, int dilation, boolean ceil) {
        long span = (long) in + padBefore + padAfter - (long) dilation * (k - 1) - 1;
        if (span < 0) {
            return 0;
        }
        long out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (out - 1) * stride >= (long) in + padBefore) {
            out--;
        }
        return out;
    }

    private static Shape globalPooled(Op op, Shape x) {
        if (x.rank() < 3) {
            throw mismatch(op, "input " + x + " needs a batch, a channel and at least one spatial axis");
        }
        int[] out = x.dims();
        for (int d = 2; d < out.length; d++) {
            out[d] = 1;
        }
        return Shape.of(out);
    }

    private static List<Integer> requireAxes(List<Integer> axes, String what) {
        List<Integer> copy = List.copyOf(axes);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException(what + ": no axes");
        }
        for (int i = 0; i < copy.size(); i++) {
            if (copy.get(i) < 0 || (i > 0 && copy.get(i) <= copy.get(i - 1))) {
                throw new IllegalArgumentException(what + ": axes " + copy + " must be non-negative and increasing");
            }
        }
        return copy;
    }

    private static Shape reduced(Op op, Shape x, List<Integer> axes, boolean keepDims) {
        if (axes.get(axes.size() - 1) >= x.rank()) {
            throw mismatch(op, "axes " + axes + " out of range for input " + x);
        }
        List<Integer> out = new ArrayList<>();
        for (int d = 0; d < x.rank(); d++) {
            if (!axes.contains(d)) {
                out.add(x.dim(d));
            } else if (keepDims) {
                out.add(1);
            }
        }
        return Shape.of(out.stream().mapToInt(Integer::intValue).toArray());
    }

    private static Shape checkAxis(Op op, Shape x, int axis) {
        if (axis < 0 || axis >= x.rank()) {
            throw mismatch(op, "axis " + axis + " out of range for input " + x);
        }
        return x;
    }

    private static void requireRank(HostTensor t, int rank, String what) {
        if (t == null || t.shape().rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ": " + (t == null ? "null" : t.shape()));
        }
    }

    private static void requireBias(HostTensor bias, int n, String op, HostTensor weight) {
        if (bias != null && !bias.shape().equals(Shape.of(n))) {
            throw new IllegalArgumentException(op + " bias " + bias.shape() + " for weight " + weight.shape());
        }
    }

    private static void requirePositive(int kernelH, int kernelW) {
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("pooling window must be >= 1x1: " + kernelH + "x" + kernelW);
        }
    }
}

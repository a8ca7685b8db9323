package dev.glassbox.api.graph;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;

/**
 * What a node computes. A closed set: backends implement every op, explainers switch over
 * them. Activations are batched (the first axis is the batch); parameters are not. Images
 * are NCHW.
 */
public sealed interface Op {

    /** A short name for messages and listings, e.g. {@code Conv2d}. */
    default String type() {
        return getClass().getSimpleName();
    }

    /** Number of activation inputs the node takes. */
    int arity();

    /**
     * An affine layer {@code y = layer(x; W) + b}, linear in {@code x} for fixed parameters:
     * the layers LRP rules redistribute through by modifying the parameters.
     */
    sealed interface Linear extends Op permits Dense, Conv2d {

        HostTensor weight();

        /** The bias, or {@code null} for none. */
        HostTensor bias();

        /** The same layer with other parameters of the same shapes ({@code bias} may be null). */
        Linear withParameters(HostTensor weight, HostTensor bias);
    }

    /**
     * Fully connected: {@code y = x W^T + b} for {@code x} of shape {@code [N, in]}.
     *
     * @param weight {@code [out, in]}
     * @param bias   {@code [out]}, or {@code null} for none
     */
    record Dense(HostTensor weight, HostTensor bias) implements Linear {
        public Dense {
            requireRank(weight, 2, "Dense weight");
            if (bias != null && !bias.shape().equals(Shape.of(weight.shape().dim(0)))) {
                throw new IllegalArgumentException("Dense bias " + bias.shape() + " for weight " + weight.shape());
            }
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
        public int arity() {
            return 1;
        }
    }

    /**
     * 2-D convolution (cross-correlation, as in PyTorch and ONNX) over NCHW input.
     *
     * @param weight {@code [out, in / groups, kH, kW]}
     * @param bias   {@code [out]}, or {@code null} for none
     */
    record Conv2d(HostTensor weight, HostTensor bias, Geometry2d geometry, int groups) implements Linear {
        public Conv2d {
            requireRank(weight, 4, "Conv2d weight");
            if (groups < 1 || weight.shape().dim(0) % groups != 0) {
                throw new IllegalArgumentException("groups " + groups + " must divide " + weight.shape().dim(0) + " output channels");
            }
            if (bias != null && !bias.shape().equals(Shape.of(weight.shape().dim(0)))) {
                throw new IllegalArgumentException("Conv2d bias " + bias.shape() + " for weight " + weight.shape());
            }
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

        public int kernelH() {
            return weight.shape().dim(2);
        }

        public int kernelW() {
            return weight.shape().dim(3);
        }

        @Override
        public int arity() {
            return 1;
        }
    }

    /** {@code max(x, 0)}. */
    record Relu() implements Op {
        @Override
        public int arity() {
            return 1;
        }
    }

    /** Max pooling over a {@code kernelH x kernelW} window; padding never wins the max. */
    record MaxPool2d(int kernelH, int kernelW, Geometry2d geometry) implements Op {
        public MaxPool2d {
            requirePositive(kernelH, kernelW);
        }

        @Override
        public int arity() {
            return 1;
        }
    }

    /**
     * Average pooling. With {@code countIncludePad} the divisor is always
     * {@code kernelH * kernelW}; without, only the window's cells inside the input count.
     */
    record AvgPool2d(int kernelH, int kernelW, Geometry2d geometry, boolean countIncludePad) implements Op {
        public AvgPool2d {
            requirePositive(kernelH, kernelW);
        }

        @Override
        public int arity() {
            return 1;
        }
    }

    /** Mean over the spatial axes: {@code [N, C, H, W] -> [N, C, 1, 1]}. */
    record GlobalAvgPool() implements Op {
        @Override
        public int arity() {
            return 1;
        }
    }

    /** Elementwise sum of two activations of the same shape (e.g. a residual connection). */
    record Add() implements Op {
        @Override
        public int arity() {
            return 2;
        }
    }

    /** Reshape to 2-D: axes before {@code axis} form the first dimension, the rest the second. */
    record Flatten(int axis) implements Op {
        @Override
        public int arity() {
            return 1;
        }
    }

    /**
     * Reshape with ONNX semantics: {@code 0} copies the input's dimension at that position,
     * one {@code -1} is inferred. The shape includes the batch axis.
     */
    record Reshape(int[] shape) implements Op {
        public Reshape {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        /** The output shape for an input of shape {@code in}. */
        public Shape outputShape(Shape in) {
            int[] out = shape.clone();
            int infer = -1;
            long known = 1;
            for (int i = 0; i < out.length; i++) {
                if (out[i] == 0) {
                    if (i >= in.rank()) {
                        throw new IllegalArgumentException("Reshape: 0 at axis " + i + " of " + Arrays.toString(shape)
                                + " copies a dimension " + in + " does not have");
                    }
                    out[i] = in.dim(i);
                }
                if (out[i] == -1) {
                    if (infer >= 0) {
                        throw new IllegalArgumentException("Reshape: more than one -1 in " + Arrays.toString(shape));
                    }
                    infer = i;
                } else {
                    known *= out[i];
                }
            }
            if (infer >= 0) {
                if (known == 0 || in.size() % known != 0) {
                    throw new IllegalArgumentException("Reshape: cannot reshape " + in + " to " + Arrays.toString(shape));
                }
                out[infer] = (int) (in.size() / known);
            }
            Shape result = Shape.of(out);
            if (result.size() != in.size()) {
                throw new IllegalArgumentException("Reshape: cannot reshape " + in + " to " + Arrays.toString(shape));
            }
            return result;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Reshape r && Arrays.equals(shape, r.shape);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(shape);
        }

        @Override
        public String toString() {
            return "Reshape[shape=" + Arrays.toString(shape) + "]";
        }

        @Override
        public int arity() {
            return 1;
        }
    }

    /** Softmax along {@code axis}; only ever the last node, left out of explanations. */
    record Softmax(int axis) implements Op {
        @Override
        public int arity() {
            return 1;
        }
    }

    /** Log-softmax along {@code axis}; only ever the last node, left out of explanations. */
    record LogSoftmax(int axis) implements Op {
        @Override
        public int arity() {
            return 1;
        }
    }

    private static void requireRank(HostTensor t, int rank, String what) {
        if (t == null || t.shape().rank() != rank) {
            throw new IllegalArgumentException(what + " must have rank " + rank + ": " + (t == null ? "null" : t.shape()));
        }
    }

    private static void requirePositive(int kernelH, int kernelW) {
        if (kernelH < 1 || kernelW < 1) {
            throw new IllegalArgumentException("pooling window must be >= 1x1: " + kernelH + "x" + kernelW);
        }
    }
}

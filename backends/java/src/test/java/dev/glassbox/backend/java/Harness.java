package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A backend, a prepared model and a root scope, reached through the public API as an
 * explainer would, plus the numeric checks the kernel tests share.
 */
final class Harness implements AutoCloseable {
    /** Largest relative gap between an analytic gradient and finite differences that passes. */
    static final double GRADIENT_TOLERANCE = 1e-3;

    final JavaBackend backend;
    final PreparedModel model;
    final Kernels kernels;
    final TensorScope scope;

    Harness(int threads) {
        backend = new JavaBackend(threads);
        Graph g = new Graph("harness", List.of(new ValueInfo("x", Shape.of(1))),
                List.of(new Node("relu", new Op.Relu(), List.of("x"), "y")), List.of("y"));
        model = backend.prepare(g);
        kernels = model.kernels();
        scope = model.openScope();
    }

    @Override
    public void close() {
        scope.close();
        assertEquals(0, scope.liveTensors(), "tensors left after close");
        model.close();
        backend.deactivate();
    }

    HostTensor forward(Op op, HostTensor... inputs) {
        try (TensorScope s = scope.child()) {
            List<Tensor> in = new ArrayList<>();
            for (HostTensor h : inputs) {
                in.add(kernels.upload(h, s));
            }
            return kernels.forward(op, in, s).toHost();
        }
    }

    List<HostTensor> gradients(Op op, HostTensor outputGradient, HostTensor... inputs) {
        try (TensorScope s = scope.child()) {
            List<Tensor> in = new ArrayList<>();
            for (HostTensor h : inputs) {
                in.add(kernels.upload(h, s));
            }
            Tensor out = kernels.forward(op, in, s);
            List<HostTensor> result = new ArrayList<>();
            for (Tensor t : kernels.inputGradients(op, in, out, kernels.upload(outputGradient, s), s)) {
                result.add(t.toHost());
            }
            return result;
        }
    }

    /** {@code sum(g * op(inputs))} in double: the scalar whose gradient the VJP is. */
    double objective(Op op, HostTensor g, HostTensor... inputs) {
        float[] y = forward(op, inputs).data();
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += (double) g.data()[i] * y[i];
        }
        return sum;
    }

    /** Central finite differences of the objective with respect to input {@code which}. */
    double[] numericGradient(Op op, HostTensor g, int which, double eps, HostTensor... inputs) {
        float[] x = inputs[which].data();
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float saved = x[i];
            x[i] = (float) (saved + eps);
            double plus = objective(op, g, inputs);
            x[i] = (float) (saved - eps);
            double minus = objective(op, g, inputs);
            x[i] = saved;
            out[i] = (plus - minus) / (2 * eps);
        }
        return out;
    }

    /** Largest {@code |analytic - numeric| / max(1, |numeric|)}. */
    static double worstError(float[] analytic, double[] numeric) {
        assertEquals(numeric.length, analytic.length);
        double worst = 0;
        for (int i = 0; i < numeric.length; i++) {
            worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]) / Math.max(1, Math.abs(numeric[i])));
        }
        return worst;
    }

    /**
     * Asserts every input gradient of {@code op} matches finite differences. Inputs should keep
     * clear of kinks by more than {@code eps} (ReLU at 0, ties in max pooling).
     */
    void assertGradients(Op op, double eps, HostTensor... inputs) {
        Shape outShape = forward(op, inputs).shape();
        HostTensor g = random(new Random(99), outShape.dims());
        List<HostTensor> analytic = gradients(op, g, inputs);
        assertEquals(inputs.length, analytic.size(), op.type() + ": one gradient per input");
        for (int j = 0; j < inputs.length; j++) {
            assertEquals(inputs[j].shape(), analytic.get(j).shape(), op.type() + ": gradient shape");
            double err = worstError(analytic.get(j).data(), numericGradient(op, g, j, eps, inputs));
            assertTrue(err < GRADIENT_TOLERANCE, op + ": input " + j + " gradient differs from finite differences by " + err);
        }
    }

    /** Every input gradient of {@code op} against finite differences with step 0.01 (the nonlinear default). */
    void assertGradients(Op op, HostTensor... inputs) {
        assertGradients(op, 0.01, inputs);
    }

    /** Asserts {@code op(inputs)} has the shape and (within {@code tol}, relative) values of a reference. */
    void assertForward(Op op, Shape shape, double[] expected, double tol, HostTensor... inputs) {
        HostTensor y = forward(op, inputs);
        assertEquals(shape, y.shape(), op + ": output shape");
        assertClose(expected, y.data(), tol, op.toString());
    }

    /** The multi-index of row-major position {@code flat} in a tensor of dimensions {@code dims}. */
    static int[] unravel(int flat, int[] dims) {
        int[] idx = new int[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            idx[d] = flat % dims[d];
            flat /= dims[d];
        }
        return idx;
    }

    /** The row-major position of multi-index {@code idx} in a tensor of dimensions {@code dims}. */
    static int ravel(int[] idx, int[] dims) {
        int flat = 0;
        for (int d = 0; d < dims.length; d++) {
            flat = flat * dims[d] + idx[d];
        }
        return flat;
    }

    /**
     * The position in an operand of dimensions {@code dims} that numpy broadcasting reads for
     * index {@code outIdx} of the (higher or equal rank) result: aligned at the last axis, size-1
     * axes read index 0.
     */
    static int broadcastRead(int[] outIdx, int[] dims) {
        int[] idx = new int[dims.length];
        for (int d = 0; d < dims.length; d++) {
            idx[d] = dims[d] == 1 ? 0 : outIdx[d + outIdx.length - dims.length];
        }
        return ravel(idx, dims);
    }

    /** Uniform in [-1, 1): negative values included. */
    static HostTensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] d = new float[s.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = r.nextFloat() * 2 - 1;
        }
        return HostTensor.wrap(s, d);
    }

    /**
     * Distinct values at least {@code gap} apart, shuffled, half of them negative and none
     * within {@code gap / 2} of zero: finite differences then never cross a ReLU kink or
     * change a max-pool argmax.
     */
    static HostTensor spaced(Random r, float gap, int... dims) {
        Shape s = Shape.of(dims);
        float[] d = new float[s.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (i - d.length / 2 + 0.5f) * gap;
        }
        for (int i = d.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = d[i];
            d[i] = d[j];
            d[j] = t;
        }
        return HostTensor.wrap(s, d);
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]) / Math.max(1, Math.abs(expected[i]));
            assertTrue(err <= tol, what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
        }
    }

    /** Random values in {@code [-1, 1)}, of which about one in five is exactly 0. */
    static HostTensor withZeros(Random r, int... dims) {
        HostTensor t = random(r, dims);
        for (int i = 0; i < t.data().length; i++) {
            if (r.nextInt(5) == 0) {
                t.data()[i] = 0f;
            }
        }
        return t;
    }

    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        float[] e = new float[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = (float) expected[i];
        }
        assertClose(e, actual, tol, what);
    }
}

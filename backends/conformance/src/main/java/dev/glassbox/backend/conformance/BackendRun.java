package dev.glassbox.backend.conformance;

import dev.glassbox.api.backend.Backend;
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
 * One prepared model of a backend with a root scope, to run single ops through the public API:
 * each call uploads its inputs into a child scope, runs, copies the results to the heap and
 * closes the child.
 */
public final class BackendRun implements AutoCloseable {
    public final PreparedModel model;
    public final Kernels k;
    public final TensorScope scope;

    public BackendRun(Backend backend) {
        model = backend.prepare(graph());
        k = model.kernels();
        scope = model.openScope();
    }

    /** A one-node graph to prepare: kernels take their ops as arguments, so any op runs on it. */
    public static Graph graph() {
        return new Graph("test", List.of(new ValueInfo("x", Shape.of(1))),
                List.of(new Node("relu", new Op.Relu(), List.of("x"), "y")), List.of("y"));
    }

    public List<Tensor> upload(TensorScope s, HostTensor... inputs) {
        List<Tensor> in = new ArrayList<>();
        for (HostTensor h : inputs) {
            in.add(k.upload(h, s));
        }
        return in;
    }

    public HostTensor forward(Op op, HostTensor... inputs) {
        try (TensorScope s = scope.child()) {
            return k.forward(op, upload(s, inputs), s).toHost();
        }
    }

    public List<HostTensor> gradients(Op op, HostTensor dy, HostTensor... inputs) {
        try (TensorScope s = scope.child()) {
            List<Tensor> in = upload(s, inputs);
            Tensor out = k.forward(op, in, s);
            List<HostTensor> result = new ArrayList<>();
            for (Tensor t : k.inputGradients(op, in, out, k.upload(dy, s), s)) {
                result.add(t.toHost());
            }
            return result;
        }
    }

    @Override
    public void close() {
        scope.close();
        model.close();
    }

    /** Standard normal values of the given shape. */
    public static HostTensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] d = new float[s.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) r.nextGaussian();
        }
        return HostTensor.wrap(s, d);
    }

    /** {@code max|a - b| / max|b|} (or {@code max|a|} when b is all zeros); infinite on a shape or NaN mismatch. */
    public static double normwiseError(HostTensor a, HostTensor b) {
        if (!a.shape().equals(b.shape())) {
            return Double.POSITIVE_INFINITY;
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.data().length; i++) {
            double x = a.data()[i];
            double y = b.data()[i];
            if (Double.isNaN(x) != Double.isNaN(y) || (Double.isInfinite(y) && x != y)) {
                return Double.POSITIVE_INFINITY;
            }
            if (Double.isFinite(y)) {
                diff = Math.max(diff, Math.abs(x - y));
                scale = Math.max(scale, Math.abs(y));
            }
        }
        return scale == 0 ? diff : diff / scale;
    }
}

package dev.glassbox.backend.support;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The argument checks of every backend's kernels, with the same messages everywhere: a scope or
 * tensor of another backend, shapes that differ, an output gradient that does not fit.
 */
public final class Arguments {
    private Arguments() {
    }

    /**
     * Checks that every node's op is one this build knows, so that a model that cannot run fails
     * when it is prepared, naming the node, instead of halfway through an explanation. The switch
     * has no default: an op added to the API fails the build of every backend until it is
     * handled there, and a backend built before it throws {@link MatchException} here.
     *
     * @throws UnsupportedFeatureException naming the first node whose op this build does not know
     */
    public static void requireKnownOps(Graph graph, String backend) {
        for (Node node : graph.nodes()) {
            try {
                switch (node.op()) { // a pattern switch must be exhaustive: no default
                    case Op.Constant _, Op.Dense _, Op.Conv2d _, Op.ConvTranspose2d _, Op.BatchNorm _,
                         Op.Activation _, Op.MaxPool2d _, Op.AvgPool2d _, Op.GlobalAvgPool _, Op.GlobalMaxPool _,
                         Op.Binary _, Op.MatMul _, Op.ReduceSum _, Op.ReduceMean _, Op.Flatten _, Op.Reshape _,
                         Op.Transpose _, Op.Concat _, Op.Slice _, Op.Pad _, Op.Expand _, Op.ResizeNearest _,
                         Op.Softmax _, Op.LogSoftmax _ -> { }
                }
            } catch (MatchException e) {
                throw new UnsupportedFeatureException("the " + backend + " backend does not implement "
                        + node.op().type(), node.name(), e);
            }
        }
    }

    /** {@code scope} as the backend's own scope type, or an IllegalArgumentException naming the backend. */
    public static <S> S scope(TensorScope scope, Class<S> type, String backend) {
        if (type.isInstance(scope)) {
            return type.cast(scope);
        }
        throw new IllegalArgumentException("scope " + scope + " does not belong to the " + backend + " backend");
    }

    /** {@code t} as the backend's own tensor type, or an IllegalArgumentException naming {@code what} and the backend. */
    public static <T extends Tensor> T tensor(String what, Tensor t, Class<T> type, String backend) {
        if (type.isInstance(t)) {
            return type.cast(t);
        }
        throw new IllegalArgumentException(what + ": tensor " + t + " (" + (t == null ? "null" : t.getClass().getName())
                + ") does not belong to the " + backend + " backend");
    }

    public static <T extends Tensor> List<T> tensors(String what, List<Tensor> inputs, Class<T> type, String backend) {
        Objects.requireNonNull(inputs, "inputs");
        List<T> out = new ArrayList<>(inputs.size());
        for (Tensor t : inputs) {
            out.add(tensor(what, t, type, backend));
        }
        return out;
    }

    /**
     * {@link #tensors}, all of one shape (the operands of an elementwise pass).
     *
     * @throws IllegalArgumentException naming {@code what} if the shapes differ
     */
    public static <T extends Tensor> List<T> sameShapeTensors(String what, List<Tensor> inputs, Class<T> type,
                                                              String backend) {
        List<T> out = tensors(what, inputs, type, backend);
        for (T t : out) {
            requireSameShape(what, out.get(0), t);
        }
        return out;
    }

    public static List<Shape> shapes(List<? extends Tensor> in) {
        List<Shape> out = new ArrayList<>(in.size());
        for (Tensor t : in) {
            out.add(t.shape());
        }
        return out;
    }

    /** @throws IllegalArgumentException naming {@code what} if the shapes differ */
    public static void requireSameShape(String what, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException(what + ": shapes " + a.shape() + " and " + b.shape() + " differ");
        }
    }

    /** @throws IllegalArgumentException if an output gradient's shape is not the op's output shape */
    public static void requireOutputGradient(Op op, Shape gradient, Shape out, List<Shape> inputs) {
        if (!gradient.equals(out)) {
            throw new IllegalArgumentException(op.type() + ": output gradient " + gradient + " does not match output "
                    + out + " for input" + (inputs.size() == 1 ? " " + inputs.get(0) : "s " + inputs));
        }
    }
}

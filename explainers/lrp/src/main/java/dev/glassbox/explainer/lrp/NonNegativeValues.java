package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import java.util.HashSet;
import java.util.Set;

/**
 * The values of a graph that are non-negative whatever its input: outputs of ReLU and the
 * other non-negative activations, and what pooling, shape ops, sums and products make of
 * such values alone. On such an input the sign-split rules' {@code x-} terms are exactly
 * zero ({@code layer(0; W-, 0) = 0}, {@code 0 * layer^T(s) = 0}), so rules skip computing
 * them: in a ReLU network that halves their convolutions.
 */
final class NonNegativeValues {
    private NonNegativeValues() {
    }

    static Set<String> of(Graph graph) {
        Set<String> nonNegative = new HashSet<>();
        for (Node node : graph.nodes()) {
            boolean inputsNonNegative = nonNegative.containsAll(node.inputs());
            boolean result = switch (node.op()) {
                case Op.Relu _, Op.Sigmoid _, Op.HardSigmoid _, Op.Softmax _ -> true;
                case Op.Clip c -> c.min() >= 0 || inputsNonNegative;
                case Op.Constant c -> allNonNegative(c.value().data());
                case Op.Pad p -> p.value() >= 0 && inputsNonNegative;
                case Op.MaxPool2d _, Op.AvgPool2d _, Op.GlobalAvgPool _, Op.GlobalMaxPool _, Op.Flatten _,
                     Op.Reshape _, Op.Transpose _, Op.Slice _, Op.Concat _, Op.Expand _, Op.ResizeNearest _,
                     Op.Add _, Op.Mul _, Op.ReduceSum _, Op.ReduceMean _ -> inputsNonNegative;
                default -> false;
            };
            if (result) {
                nonNegative.add(node.output());
            }
        }
        return nonNegative;
    }

    private static boolean allNonNegative(float[] values) {
        for (float v : values) {
            if (!(v >= 0)) {
                return false;
            }
        }
        return true;
    }
}

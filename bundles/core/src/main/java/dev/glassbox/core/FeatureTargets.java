package dev.glassbox.core;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.Shape;
import java.util.List;

/**
 * Explaining an intermediate feature (a neuron or channel of a named node) as explaining the
 * output of a graph: the model up to that node, followed by a head that turns the feature into
 * one score per item, {@code [N, 1]}. Every explainer then works unchanged, with class 0 as
 * the target. The head only moves and sums values, so it adds nothing to the relevance.
 */
final class FeatureTargets {
    private FeatureTargets() {
    }

    static boolean isFeature(Target target) {
        return target instanceof Target.Neuron || target instanceof Target.Channel;
    }

    static Graph graph(Graph model, Target target) {
        String v = featureValue(model, target);
        String out = "target:" + v;
        List<Node> head = switch (target) {
            case Target.Neuron n -> List.of(
                    new Node(out + "/flatten", new Op.Flatten(1), List.of(v), out + "/flat"),
                    new Node(out + "/select", select(n.index()), List.of(out + "/flat"), out));
            case Target.Channel c -> List.of(
                    new Node(out + "/select", select(c.channel()), List.of(v), out + "/channel"),
                    new Node(out + "/flatten", new Op.Flatten(1), List.of(out + "/channel"), out + "/flat"),
                    new Node(out + "/sum", new Op.ReduceSum(List.of(1), true), List.of(out + "/flat"), out));
            default -> throw new AssertionError(target);
        };
        return model.upTo(v, head, out);
    }

    /** The value the target selects from: the named node's output. */
    private static String featureValue(Graph model, Target target) {
        String nodeName = switch (target) {
            case Target.Neuron n -> n.node();
            case Target.Channel c -> c.node();
            default -> throw new IllegalArgumentException("not a feature target: " + target);
        };
        Node node = model.node(nodeName).orElseThrow(() -> new InvalidOptionException("the model has no node named '"
                + nodeName + "'", "--node"));
        return node.output();
    }

    /** Index {@code i} of axis 1, keeping the axis. */
    private static Op.Slice select(int i) {
        return new Op.Slice(List.of(i), List.of(i + 1), List.of(1), List.of(1));
    }

    /** An index past the node's values slices nothing: say so against the option that gave it. */
    static void checkSelected(Target target, Graph model, Trace trace) {
        if (trace.output().shape().dim(1) == 1) {
            return;
        }
        Shape featureShape = trace.value(featureValue(model, target)).shape();
        switch (target) {
            case Target.Neuron n -> throw new InvalidOptionException("neuron " + n.index() + " is out of range: node "
                    + n.node() + " has " + featureShape.size() / featureShape.dim(0) + " values per item", "--neuron");
            case Target.Channel c -> throw new InvalidOptionException("channel " + c.channel() + " is out of range: node "
                    + c.node() + " has " + featureShape.dim(1) + " channels", "--channel");
            default -> throw new AssertionError(target);
        }
    }
}

package dev.glassbox.core;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.BackwardObserver;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.NodeStep;
import dev.glassbox.api.explain.Propagator;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The shared forward-trace / backward-walk engine. One instance per request, so every node
 * visit can check that request's deadline.
 */
final class GraphPropagator implements Propagator {
    private final Deadline deadline;

    GraphPropagator(Deadline deadline) {
        this.deadline = deadline;
    }

    @Override
    public Trace forward(PreparedModel model, Tensor input, TensorScope scope) {
        Graph graph = model.graph();
        Kernels kernels = model.kernels();
        Map<String, Tensor> values = new HashMap<>();
        String inputName = graph.input().name();
        values.put(inputName, input);
        for (Node node : graph.nodes()) {
            deadline.check();
            List<Tensor> args = new ArrayList<>(node.inputs().size());
            for (String in : node.inputs()) {
                args.add(values.get(in));
            }
            try {
                values.put(node.output(), kernels.forward(node.op(), args, scope));
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException(e.getMessage(), where(node), e);
            }
        }
        return new RecordedTrace(model, values, inputName, graph.outputs().get(0));
    }

    @Override
    public Tensor backward(Trace trace, String from, Tensor seed, Function<Node, NodeRule> rules,
                           BackwardObserver observer, TensorScope scope) {
        Graph graph = trace.model().graph();
        Kernels kernels = trace.model().kernels();
        if (!seed.shape().equals(trace.value(from).shape())) {
            throw new IllegalArgumentException("seed " + seed.shape() + " does not match value " + from + " "
                    + trace.value(from).shape());
        }
        String inputName = graph.input().name();
        Set<String> fromInput = dependsOnInput(graph, inputName);
        Map<String, Tensor> upstream = new HashMap<>();
        upstream.put(from, seed);
        List<Node> nodes = graph.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node node = nodes.get(i);
            Tensor above = upstream.remove(node.output());
            if (above == null || !fromInput.contains(node.output())) {
                continue; // nothing arrives here, or nothing below depends on the input
            }
            deadline.check();
            // Every consumer of this value came later in topological order, so its total is complete.
            observer.arrived(node.output(), above);
            List<Tensor> inputs = new ArrayList<>(node.inputs().size());
            for (String in : node.inputs()) {
                inputs.add(trace.value(in));
            }
            NodeRule rule = rules.apply(node);
            if (rule == null) {
                throw new IllegalStateException("no rule for node " + where(node));
            }
            // The rule's temporaries live in a scope of their own, closed once its results are summed
            // into this scope: a request holds the activations and the relevance still on its way,
            // not every intermediate of every node (several GB at batch 16 on resnet18).
            try (TensorScope nodeScope = scope.child()) {
                List<Tensor> parts = rule.propagate(
                        new NodeStep(node, List.copyOf(inputs), trace.value(node.output()), above, kernels, nodeScope));
                if (parts.size() != inputs.size()) {
                    throw new IllegalStateException("rule at " + where(node) + " returned " + parts.size()
                            + " tensors for " + inputs.size() + " inputs");
                }
                for (int k = 0; k < parts.size(); k++) {
                    String in = node.inputs().get(k);
                    Tensor part = parts.get(k);
                    if (part == null || !fromInput.contains(in)) {
                        continue;
                    }
                    if (!part.shape().equals(inputs.get(k).shape())) {
                        throw new IllegalStateException("rule at " + where(node) + " returned " + part.shape()
                                + " for input " + in + " of shape " + inputs.get(k).shape());
                    }
                    Tensor sum = upstream.get(in);
                    upstream.put(in, sum != null ? kernels.add(sum, part, scope)
                            : outlivesStep(part, above, inputs) ? part : kernels.scale(part, 1f, scope));
                }
            }
        }
        Tensor atInput = upstream.get(inputName);
        if (atInput == null) {
            atInput = kernels.upload(HostTensor.zeros(trace.input().shape()), scope);
        }
        observer.arrived(inputName, atInput);
        return atInput;
    }

    /**
     * Whether {@code part} is a tensor the step was given (a rule that passes its relevance on
     * unchanged), which lives in the request's scope; anything else may belong to the step's own
     * scope and is copied out ({@code 1 * x} is exact) before that closes.
     */
    private static boolean outlivesStep(Tensor part, Tensor upstream, List<Tensor> inputs) {
        if (part == upstream) {
            return true;
        }
        for (Tensor input : inputs) {
            if (part == input) {
                return true;
            }
        }
        return false;
    }

    /** Values computed (transitively) from the graph input: only they receive anything. */
    private static Set<String> dependsOnInput(Graph graph, String inputName) {
        Set<String> reached = new HashSet<>();
        reached.add(inputName);
        for (Node node : graph.nodes()) {
            for (String in : node.inputs()) {
                if (reached.contains(in)) {
                    reached.add(node.output());
                    break;
                }
            }
        }
        return reached;
    }

    static String where(Node node) {
        return "node " + node.name() + " (" + node.op().type() + ")";
    }
}

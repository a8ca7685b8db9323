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
        // What has arrived at each value so far, and the step scope it lives in.
        Map<String, Arrived> upstream = new HashMap<>();
        upstream.put(from, new Arrived(seed, null));
        List<Node> nodes = graph.nodes();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node node = nodes.get(i);
            Arrived above = upstream.remove(node.output());
            if (above == null) {
                continue; // nothing arrives here
            }
            if (!fromInput.contains(node.output())) {
                above.release(); // nothing below depends on the input
                continue;
            }
            deadline.check();
            // Every consumer of this value came later in topological order, so its total is complete.
            observer.arrived(node.output(), above.tensor());
            List<Tensor> inputs = new ArrayList<>(node.inputs().size());
            for (String in : node.inputs()) {
                inputs.add(trace.value(in));
            }
            NodeRule rule = rules.apply(node);
            if (rule == null) {
                throw new IllegalStateException("no rule for node " + where(node));
            }
            StepScope step = new StepScope(scope.child());
            try {
                List<Tensor> parts = rule.propagate(new NodeStep(node, List.copyOf(inputs),
                        trace.value(node.output()), above.tensor(), kernels, step.scope));
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
                    // a part is the upstream passed on, an activation (the walk's scope) or the step's own
                    StepScope owner = part == above.tensor() ? above.owner() : isOneOf(part, inputs) ? null : step;
                    Arrived sum = upstream.get(in);
                    if (sum == null) {
                        upstream.put(in, Arrived.held(part, owner));
                    } else {
                        upstream.put(in, Arrived.held(kernels.add(sum.tensor(), part, step.scope), step));
                        sum.release();
                    }
                }
            } finally {
                above.release();
                step.finished();
            }
        }
        Arrived atInput = upstream.remove(inputName);
        Tensor result;
        if (atInput == null) {
            result = kernels.upload(HostTensor.zeros(trace.input().shape()), scope);
        } else if (atInput.owner() == null) {
            result = atInput.tensor();
        } else {
            // copied into the walk's scope (1 * x is exact), so the last step's scope can close
            result = kernels.scale(atInput.tensor(), 1f, scope);
            atInput.release();
        }
        observer.arrived(inputName, result);
        return result;
    }

    /**
     * The scope of one backward step: the rule's temporaries and results. It closes once the step
     * is over and none of its results is still on its way down (they are summed into the next
     * steps, not copied), so a request holds the activations and the few steps whose relevance has
     * not arrived yet, not every intermediate of every node (several GB at batch 16 on resnet18).
     */
    private static final class StepScope {
        final TensorScope scope;
        private int held;
        private boolean finished;

        StepScope(TensorScope scope) {
            this.scope = scope;
        }

        void hold() {
            held++;
        }

        void release() {
            held--;
            closeIfDone();
        }

        void finished() {
            finished = true;
            closeIfDone();
        }

        private void closeIfDone() {
            if (finished && held == 0) {
                scope.close();
            }
        }
    }

    /** A total on its way down, and the step scope it lives in (null: the walk's own). */
    private record Arrived(Tensor tensor, StepScope owner) {
        static Arrived held(Tensor tensor, StepScope owner) {
            if (owner != null) {
                owner.hold();
            }
            return new Arrived(tensor, owner);
        }

        void release() {
            if (owner != null) {
                owner.release();
            }
        }
    }

    private static boolean isOneOf(Tensor t, List<Tensor> tensors) {
        for (Tensor candidate : tensors) {
            if (candidate == t) {
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

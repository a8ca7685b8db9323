package dev.glassbox.api.graph;

import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable network: inputs, nodes in topological order, and output value names. The
 * constructor checks that every node reads only values defined before it and that names are
 * unique, so a {@code Graph} in hand is always well-formed.
 */
public final class Graph {
    private final String name;
    private final List<ValueInfo> inputs;
    private final List<Node> nodes;
    private final List<String> outputs;
    private final Map<String, Node> byOutput;
    private final Map<String, Node> byName;

    public Graph(String name, List<ValueInfo> inputs, List<Node> nodes, List<String> outputs) {
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.nodes = List.copyOf(nodes);
        this.outputs = List.copyOf(outputs);
        if (this.inputs.isEmpty() || this.outputs.isEmpty()) {
            throw new IllegalArgumentException("a graph needs at least one input and one output");
        }
        Set<String> defined = new HashSet<>();
        for (ValueInfo in : this.inputs) {
            if (!defined.add(in.name())) {
                throw new IllegalArgumentException("input " + in.name() + " defined twice");
            }
        }
        Map<String, Node> outs = new HashMap<>();
        Map<String, Node> names = new HashMap<>();
        for (Node node : this.nodes) {
            for (String in : node.inputs()) {
                if (!defined.contains(in)) {
                    throw new IllegalArgumentException("node " + node.name() + " reads " + in
                            + ", which is not defined before it (not topologically ordered, or missing)");
                }
            }
            if (!defined.add(node.output())) {
                throw new IllegalArgumentException("value " + node.output() + " defined twice (node " + node.name() + ")");
            }
            if (names.put(node.name(), node) != null) {
                throw new IllegalArgumentException("node name " + node.name() + " used twice");
            }
            outs.put(node.output(), node);
        }
        for (String out : this.outputs) {
            if (!defined.contains(out)) {
                throw new IllegalArgumentException("output " + out + " is not produced by the graph");
            }
        }
        this.byOutput = Collections.unmodifiableMap(outs);
        this.byName = Collections.unmodifiableMap(names);
    }

    public String name() {
        return name;
    }

    public List<ValueInfo> inputs() {
        return inputs;
    }

    /** The single input of a single-input model; an exception otherwise. */
    public ValueInfo input() {
        if (inputs.size() != 1) {
            throw new IllegalStateException("graph " + name + " has " + inputs.size() + " inputs");
        }
        return inputs.get(0);
    }

    public List<Node> nodes() {
        return nodes;
    }

    public List<String> outputs() {
        return outputs;
    }

    /** The single output of a single-output model; an exception otherwise. */
    public String output() {
        if (outputs.size() != 1) {
            throw new IllegalStateException("graph " + name + " has " + outputs.size() + " outputs");
        }
        return outputs.get(0);
    }

    /** The node that produces {@code value}, empty for graph inputs. */
    public Optional<Node> producer(String value) {
        return Optional.ofNullable(byOutput.get(value));
    }

    public Optional<Node> node(String nodeName) {
        return Optional.ofNullable(byName.get(nodeName));
    }

    /**
     * The graph that explanations use: if the single output comes from a final Softmax or
     * LogSoftmax, that node is dropped and its input becomes the output (the logits).
     * Otherwise this graph.
     */
    public Graph logits() {
        Node last = byOutput.get(output());
        if (last != null && (last.op() instanceof Op.Softmax || last.op() instanceof Op.LogSoftmax)) {
            List<Node> kept = new ArrayList<>(nodes);
            kept.remove(last);
            return new Graph(name, inputs, kept, List.of(last.inputs().get(0)));
        }
        return this;
    }

    /**
     * The shape of every value for a batch of {@code batch} items, inferred with
     * {@link Op#outputShape}; an {@link IllegalArgumentException} naming the node where the
     * ops reject the shapes (a model exported for one batch size may reject others).
     */
    public Map<String, Shape> shapes(int batch) {
        Map<String, Shape> shapes = new HashMap<>();
        for (ValueInfo in : inputs) {
            shapes.put(in.name(), in.itemShape().withBatch(batch));
        }
        for (Node node : nodes) {
            List<Shape> in = new ArrayList<>(node.inputs().size());
            for (String v : node.inputs()) {
                in.add(shapes.get(v));
            }
            try {
                shapes.put(node.output(), node.op().outputShape(in));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("node " + node.name() + " (" + node.op().type() + "): " + e.getMessage(), e);
            }
        }
        return shapes;
    }

    /**
     * The part of this graph that computes {@code value}, followed by {@code head}: nodes that
     * turn it into the new graph's single output {@code output}. Only the nodes {@code value}
     * depends on are kept.
     */
    public Graph upTo(String value, List<Node> head, String output) {
        Set<String> needed = new HashSet<>();
        needed.add(value);
        List<Node> kept = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node node = nodes.get(i);
            if (needed.contains(node.output())) {
                kept.add(0, node);
                needed.addAll(node.inputs());
            }
        }
        kept.addAll(head);
        return new Graph(name, inputs, kept, List.of(output));
    }

    @Override
    public String toString() {
        return "Graph[" + name + ", " + nodes.size() + " nodes]";
    }
}

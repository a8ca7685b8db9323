package dev.glassbox.api.graph;

import java.util.List;
import java.util.Objects;

/**
 * One step of a graph: applies {@code op} to the named input values and produces the value
 * named {@code output}.
 *
 * @param name   unique within the graph; what users match with node-name patterns
 * @param op     what the node computes
 * @param inputs names of graph inputs or other nodes' outputs, {@code op.arity()} of them
 * @param output name of the value this node produces
 */
public record Node(String name, Op op, List<String> inputs, String output) {
    public Node {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(output, "output");
        inputs = List.copyOf(inputs);
        if (inputs.size() != op.arity()) {
            throw new IllegalArgumentException(
                    "node " + name + ": " + op.type() + " takes " + op.arity() + " inputs, got " + inputs.size());
        }
    }
}

package dev.glassbox.explainer.actmax;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.stream.Collectors;

/**
 * What activation maximization maximizes, for each item: a class logit (or its log-softmax),
 * one neuron of a value, or the mean of one channel of a value. {@link #seed} is the gradient
 * of the objective with respect to that value, which seeds the propagator's backward walk.
 *
 * @param value   the graph value the objective reads (a node output, or the logits)
 * @param kind    what is read from it
 * @param index   the neuron (flat index within an item) or channel; unused for classes
 */
record Objective(String value, Kind kind, int index) {

    enum Kind {
        LOGIT, LOG_SOFTMAX, MARGIN, NEURON, CHANNEL
    }

    /**
     * The objective the options name: {@code node} (a node name or value name, "" for the
     * logits), with {@code neuron} or {@code channel} (-1 for none), else the class of each item.
     */
    static Objective resolve(Graph graph, String node, int neuron, int channel, String objective) {
        if (neuron >= 0 && channel >= 0) {
            throw new InvalidOptionException("give --neuron or --channel, not both", "--channel");
        }
        String value = node.isEmpty() ? graph.output() : valueOf(graph, node);
        if (neuron >= 0) {
            return new Objective(value, Kind.NEURON, neuron);
        }
        if (channel >= 0) {
            return new Objective(value, Kind.CHANNEL, channel);
        }
        if (!node.isEmpty()) {
            throw new InvalidOptionException("a node's objective needs --neuron I or --channel C", "--node " + node);
        }
        return switch (objective) {
            case "logit" -> new Objective(value, Kind.LOGIT, -1);
            case "log-softmax" -> new Objective(value, Kind.LOG_SOFTMAX, -1);
            case "margin" -> new Objective(value, Kind.MARGIN, -1);
            default -> throw new InvalidOptionException("expected 'logit', 'margin' or 'log-softmax', got '" + objective + "'",
                    "--objective");
        };
    }

    /** The output value of the node called {@code name}, or {@code name} itself if it is a value. */
    private static String valueOf(Graph graph, String name) {
        var byName = graph.node(name);
        if (byName.isPresent()) {
            return byName.get().output();
        }
        if (graph.producer(name).isPresent()) {
            return name;
        }
        String known = graph.nodes().stream().map(Node::name).collect(Collectors.joining(", "));
        throw new InvalidOptionException("no node or value of that name in the model (nodes: " + known + ")",
                "--node " + name);
    }

    /** Checks the index against the value's shape {@code [N, ...]}. */
    void check(Shape shape) {
        int per = shape.size() / Math.max(1, shape.dim(0));
        switch (kind) {
            case NEURON -> {
                if (index >= per) {
                    throw new InvalidOptionException("neuron " + index + " is out of range: " + value + " has "
                            + per + " values per item " + shape.withoutBatch(), "--neuron");
                }
            }
            case CHANNEL -> {
                if (shape.rank() < 2 || index >= shape.dim(1)) {
                    throw new InvalidOptionException("channel " + index + " is out of range: " + value + " is "
                            + shape.withoutBatch() + " per item (channels on its first axis)", "--channel");
                }
            }
            default -> {
                if (shape.rank() != 2) {
                    throw new InvalidOptionException("class objectives need [N, classes] logits, " + value + " is "
                            + shape, "--target");
                }
            }
        }
    }

    /** The objective's value per item, read from the value's activations {@code [N, ...]}. */
    double[] values(HostTensor activation, int[] targets) {
        Shape s = activation.shape();
        int n = s.dim(0);
        int per = s.size() / n;
        float[] a = activation.data();
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int o = i * per;
            out[i] = switch (kind) {
                case LOGIT -> a[o + targets[i]];
                case LOG_SOFTMAX -> a[o + targets[i]] - logSumExp(a, o, per);
                case MARGIN -> {
                    double others = 0;
                    for (int j = 0; j < per; j++) {
                        others += j == targets[i] ? 0 : a[o + j];
                    }
                    yield a[o + targets[i]] - others / Math.max(1, per - 1);
                }
                case NEURON -> a[o + index];
                case CHANNEL -> {
                    int plane = per / s.dim(1);
                    double sum = 0;
                    for (int j = 0; j < plane; j++) {
                        sum += a[o + index * plane + j];
                    }
                    yield sum / plane;
                }
            };
        }
        return out;
    }

    /** The gradient of the objective (summed over items) with respect to the value, {@code [N, ...]}. */
    HostTensor seed(HostTensor activation, int[] targets) {
        Shape s = activation.shape();
        int n = s.dim(0);
        int per = s.size() / n;
        float[] a = activation.data();
        float[] g = new float[s.size()];
        for (int i = 0; i < n; i++) {
            int o = i * per;
            switch (kind) {
                case LOGIT -> g[o + targets[i]] = 1f;
                case LOG_SOFTMAX -> {
                    double lse = logSumExp(a, o, per);
                    for (int j = 0; j < per; j++) {
                        g[o + j] = (float) -Math.exp(a[o + j] - lse);
                    }
                    g[o + targets[i]] += 1f;
                }
                case MARGIN -> {
                    for (int j = 0; j < per; j++) {
                        g[o + j] = -1f / Math.max(1, per - 1);
                    }
                    g[o + targets[i]] = 1f;
                }
                case NEURON -> g[o + index] = 1f;
                case CHANNEL -> {
                    int plane = per / s.dim(1);
                    for (int j = 0; j < plane; j++) {
                        g[o + index * plane + j] = 1f / plane;
                    }
                }
            }
        }
        return HostTensor.wrap(s, g);
    }

    private static double logSumExp(float[] a, int off, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            max = Math.max(max, a[off + j]);
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            sum += Math.exp(a[off + j] - max);
        }
        return max + Math.log(sum);
    }
}

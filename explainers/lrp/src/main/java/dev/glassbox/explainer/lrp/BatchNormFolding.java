package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.lrp.Canonizer;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * Folds a BatchNorm into the Dense or Conv2d right before it (lrp-rules.md, "Canonizers"):
 * with the BatchNorm as {@code y = z * s + t}, {@code W' = W * s} per output channel and
 * {@code b' = b * s + t}. Only where the layer's output feeds nothing but the BatchNorm, and
 * for a Dense only on rank-2 activations (where its features are the channel axis). The
 * folded layer keeps the layer's name and takes over the BatchNorm's output value.
 */
@Component(service = Canonizer.class)
public final class BatchNormFolding implements Canonizer {

    @Override
    public String name() {
        return "batchnorm-fold";
    }

    @Override
    public String description() {
        return "folds each BatchNorm into the Dense or Conv2d before it";
    }

    @Override
    public Graph apply(Graph graph) {
        Map<String, Integer> consumers = new HashMap<>();
        for (Node n : graph.nodes()) {
            n.inputs().forEach(v -> consumers.merge(v, 1, Integer::sum));
        }
        graph.outputs().forEach(v -> consumers.merge(v, 1, Integer::sum));
        Map<String, Shape> shapes;
        try {
            shapes = graph.shapes(1);
        } catch (IllegalArgumentException e) {
            return graph; // shapes that only work for the model's own batch size: leave it as it is
        }
        Map<Node, Node> folded = new HashMap<>(); // layer -> batch norm folded into it
        for (Node bn : graph.nodes()) {
            if (!(bn.op() instanceof Op.BatchNorm)) {
                continue;
            }
            String z = bn.inputs().get(0);
            Node layer = graph.producer(z).orElse(null);
            if (layer != null && consumers.get(z) == 1 && foldable(layer.op(), (Op.BatchNorm) bn.op(), shapes.get(z))) {
                folded.put(layer, bn);
            }
        }
        if (folded.isEmpty()) {
            return graph;
        }
        List<Node> nodes = new ArrayList<>();
        for (Node n : graph.nodes()) {
            Node bn = folded.get(n);
            if (bn != null) {
                nodes.add(new Node(n.name(), fold((Op.Linear) n.op(), (Op.BatchNorm) bn.op()), n.inputs(), bn.output()));
            } else if (!folded.containsValue(n)) {
                nodes.add(n);
            }
        }
        return new Graph(graph.name(), graph.inputs(), nodes, graph.outputs());
    }

    private static boolean foldable(Op op, Op.BatchNorm bn, Shape z) {
        boolean layer = op instanceof Op.Conv2d || (op instanceof Op.Dense && z != null && z.rank() == 2);
        return layer && ((Op.Linear) op).weight().shape().dim(0) == bn.channels();
    }

    /** {@code W' = W * s} per output channel (the weight's first axis for both ops), {@code b' = b * s + t}. */
    static Op.Linear fold(Op.Linear layer, Op.BatchNorm bn) {
        float[] w = layer.weight().data().clone();
        float[] s = bn.scale().data();
        float[] t = bn.shift().data();
        int channels = s.length;
        int perChannel = w.length / channels;
        for (int c = 0; c < channels; c++) {
            for (int i = c * perChannel; i < (c + 1) * perChannel; i++) {
                w[i] *= s[c];
            }
        }
        float[] b = new float[channels];
        for (int c = 0; c < channels; c++) {
            b[c] = (layer.bias() == null ? 0f : layer.bias().data()[c]) * s[c] + t[c];
        }
        return layer.withParameters(HostTensor.wrap(layer.weight().shape(), w), HostTensor.wrap(Shape.of(channels), b));
    }
}

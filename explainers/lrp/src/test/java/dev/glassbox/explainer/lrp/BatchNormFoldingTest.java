package dev.glassbox.explainer.lrp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.java.JavaBackend;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** lrp-rules.md: "Folding BatchNorm does not change the model's outputs." */
class BatchNormFoldingTest {

    private static final Backend JAVA = new JavaBackend(1);

    private static HostTensor random(Random r, float offset, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = offset + (float) r.nextGaussian();
        }
        return HostTensor.wrap(s, v);
    }

    private static Op.BatchNorm batchNorm(Random r, int channels) {
        return new Op.BatchNorm(random(r, 1.5f, channels), random(r, 0f, channels));
    }

    /**
     * conv1 -> bn1 -> relu -> conv2 (output also read by the skip) -> bn2, + skip -> flatten ->
     * fc -> bn3: bn1 and bn3 fold, bn2 cannot (conv2's output has a second reader).
     */
    private static Graph network() {
        Random r = new Random(3);
        Geometry2d pad1 = new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1);
        return new Graph("bn", List.of(new ValueInfo("x", Shape.of(2, 5, 5))), List.of(
                new Node("conv1", new Op.Conv2d(random(r, 0f, 4, 2, 3, 3), random(r, 0f, 4), pad1, 1), List.of("x"), "c1"),
                new Node("bn1", batchNorm(r, 4), List.of("c1"), "b1"),
                new Node("relu", new Op.Relu(), List.of("b1"), "a1"),
                new Node("conv2", new Op.Conv2d(random(r, 0f, 4, 1, 3, 3), null, pad1, 4), List.of("a1"), "c2"),
                new Node("bn2", batchNorm(r, 4), List.of("c2"), "b2"),
                new Node("sum", new Op.Add(), List.of("b2", "c2"), "s"),
                new Node("flatten", new Op.Flatten(1), List.of("s"), "f"),
                new Node("fc", new Op.Dense(random(r, 0f, 3, 100), random(r, 0f, 3)), List.of("f"), "d"),
                new Node("bn3", batchNorm(r, 3), List.of("d"), "logits")), List.of("logits"));
    }

    private static float[] forward(Graph g, HostTensor x) {
        try (PreparedModel pm = JAVA.prepare(g); TensorScope scope = pm.openScope()) {
            Kernels k = pm.kernels();
            Map<String, Tensor> values = new HashMap<>();
            values.put("x", k.upload(x, scope));
            for (Node n : g.nodes()) {
                values.put(n.output(), k.forward(n.op(), n.inputs().stream().map(values::get).toList(), scope));
            }
            return values.get(g.output()).toHost().data();
        }
    }

    @Test
    void foldsWhereTheLayerFeedsOnlyTheBatchNormAndKeepsTheOutputs() {
        Graph g = network();
        Graph folded = new BatchNormFolding().apply(g);
        assertEquals(List.of("conv1", "relu", "conv2", "bn2", "sum", "flatten", "fc"),
                folded.nodes().stream().map(Node::name).toList());
        assertEquals("b1", folded.node("conv1").orElseThrow().output(), "the folded layer takes over the BatchNorm's value");
        assertEquals("logits", folded.output());

        HostTensor x = random(new Random(9), 0f, 3, 2, 5, 5);
        float[] before = forward(g, x);
        float[] after = forward(folded, x);
        double scale = 0;
        for (float v : before) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], after[i], 1e-5 * scale, "logit " + i);
        }
    }

    @Test
    void leavesGraphsWithoutFoldableBatchNormAlone() {
        Graph g = network();
        Graph once = new BatchNormFolding().apply(g);
        assertSame(once, new BatchNormFolding().apply(once), "nothing left to fold");
    }

    @Test
    void theSameModelAndCanonizersGiveTheSameGraph() {
        Canonizers c = new Canonizers();
        c.bind(new BatchNormFolding());
        Graph g = network();
        Graph first = c.apply(g, "all");
        assertSame(first, c.apply(g, "batchnorm-fold"), "cached, so the backend prepares it once");
        assertSame(g, c.apply(g, "none"));
        assertTrue(first.nodes().size() < g.nodes().size());
    }
}

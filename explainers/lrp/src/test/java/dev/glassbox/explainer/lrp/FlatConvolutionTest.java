package dev.glassbox.explainer.lrp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.NodeStep;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.java.JavaBackend;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** flat on a convolution, computed with one-channel windows, is lrp-rules.md's formula with the full ones kernel. */
class FlatConvolutionTest {

    private static final Backend JAVA = new JavaBackend(1);

    private static HostTensor filled(Shape shape, java.util.function.IntToDoubleFunction f) {
        float[] v = new float[shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) f.applyAsDouble(i);
        }
        return HostTensor.wrap(shape, v);
    }

    @Test
    void equalsTheFormulaWithTheFullOnesKernel() {
        Random r = new Random(5);
        // A strided, asymmetrically padded 3x2 kernel: border windows count fewer cells.
        Geometry2d geometry = new Geometry2d(2, 1, 1, 0, 0, 1, 1, 1);
        Op.Conv2d conv = new Op.Conv2d(filled(Shape.of(4, 3, 3, 2), i -> r.nextGaussian()), null, geometry, 1);
        Op.Conv2d ones = new Op.Conv2d(filled(Shape.of(4, 3, 3, 2), i -> 1), null, geometry, 1);
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(3, 7, 5))),
                List.of(new Node("conv", conv, List.of("x"), "y")), List.of("y"));
        Node node = graph.nodes().get(0);
        Rules rules = new Rules(new ModifiedParameters(), new RuleDefaults(1e-6, 0.25, 0, 1, 2, 1), name -> null);
        try (PreparedModel model = JAVA.prepare(graph); TensorScope sc = model.openScope()) {
            Kernels k = model.kernels();
            Tensor x = k.upload(filled(Shape.of(2, 3, 7, 5), i -> r.nextGaussian()), sc);
            Tensor y = k.forward(conv, List.of(x), sc);
            Tensor upstream = k.upload(filled(y.shape(), i -> r.nextGaussian()), sc);
            float[] rule = rules.create(RuleSpec.parse("flat", "test"), node, "test")
                    .propagate(new NodeStep(node, List.of(x), y, upstream, k, sc)).get(0).toHost().data();

            Tensor one = k.upload(filled(x.shape(), i -> 1), sc);
            Tensor z = k.forward(ones, List.of(one), sc);
            Tensor s = k.divide(upstream, k.stabilize(z, Rules.STABILIZER, sc), sc);
            float[] formula = k.inputGradients(ones, List.of(one), z, s, sc).get(0).toHost().data();
            double scale = 0;
            for (float f : formula) {
                scale = Math.max(scale, Math.abs(f));
            }
            for (int i = 0; i < formula.length; i++) {
                assertEquals(formula[i], rule[i], 1e-6 * scale, "at " + i);
            }
        }
    }
}

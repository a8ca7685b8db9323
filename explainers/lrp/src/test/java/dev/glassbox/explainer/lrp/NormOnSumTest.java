package dev.glassbox.explainer.lrp;

import static dev.glassbox.explainer.lrp.NonNegativeInputTest.random;

import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.NodeStep;
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

/**
 * {@code norm} on an Add, {@code R_i = x_i R / stab(x_1 + x_2)} written out in double: with
 * equal shapes (one fused pass) and with a broadcast input (through the VJP, which sums the
 * ratio over the broadcast axes).
 */
class NormOnSumTest {

    private static final Backend JAVA = new JavaBackend(1);

    @Test
    void eachInputGetsItsShareOfTheSum() {
        Random r = new Random(7);
        Shape full = Shape.of(2, 3, 4, 4);
        HostTensor a = random(r, 2, 3, 4, 4);
        HostTensor relevance = random(r, 2, 3, 4, 4);
        for (HostTensor b : List.of(random(r, 2, 3, 4, 4), random(r, 1, 3, 1, 1))) {
            Node add = new Node("sum", new Op.Add(), List.of("a", "b"), "s");
            Graph graph = new Graph("g", List.of(new ValueInfo("a", full.withoutBatch())),
                    List.of(new Node("b", new Op.Constant(b), List.of(), "b"), add), List.of("s"));
            Rules rules = new Rules(new ModifiedParameters(), new RuleDefaults(1e-6, 0.25, 0, 1, 2, 1), name -> null);
            try (PreparedModel model = JAVA.prepare(graph); TensorScope scope = model.openScope()) {
                Kernels k = model.kernels();
                Tensor ta = k.upload(a, scope);
                Tensor tb = k.upload(b, scope);
                Tensor out = k.forward(add.op(), List.of(ta, tb), scope);
                List<Tensor> got = rules.create(RuleSpec.parse("norm", "test"), add, "test")
                        .propagate(new NodeStep(add, List.of(ta, tb), out, k.upload(relevance, scope), k, scope));
                // the ratio R / stab(z) per output element, and each input's share
                int channels = 3;
                int cells = 16;
                float[] wantA = new float[a.data().length];
                double[] wantB = new double[b.data().length];
                for (int i = 0; i < wantA.length; i++) {
                    int ch = i / cells % channels;
                    int bi = b.data().length == wantA.length ? i : ch;
                    double z = (double) a.data()[i] + b.data()[bi];
                    double ratio = relevance.data()[i] / (z + (z < 0 ? -1e-6 : 1e-6));
                    wantA[i] = (float) (a.data()[i] * ratio);
                    wantB[bi] += b.data()[bi] * ratio;
                }
                float[] wantBFloat = new float[wantB.length];
                for (int i = 0; i < wantB.length; i++) {
                    wantBFloat[i] = (float) wantB[i];
                }
                String what = "norm on an Add of " + a.shape() + " and " + b.shape();
                NonNegativeInputTest.assertClose(wantA, got.get(0).toHost().data(), what + ", first input");
                NonNegativeInputTest.assertClose(wantBFloat, got.get(1).toHost().data(), what + ", second input");
            }
        }
    }
}

package dev.glassbox.explainer.lrp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The sign-split rules leave out their x- terms on inputs that cannot be negative, with no change in result. */
class NonNegativeInputTest {

    private static final Backend JAVA = new JavaBackend(1);

    static HostTensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return HostTensor.wrap(s, v);
    }

    @Test
    void valuesThatCannotBeNegativeAreFoundThroughPoolingShapeOpsAndSums() {
        Random r = new Random(1);
        Geometry2d unit = Geometry2d.UNIT;
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(2, 4, 4))), List.of(
                new Node("conv", new Op.Conv2d(random(r, 3, 2, 1, 1), null, unit, 1), List.of("x"), "c"),
                new Node("relu", new Op.Relu(), List.of("c"), "a"),
                new Node("pool", new Op.MaxPool2d(2, 2, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1)), List.of("a"), "p"),
                new Node("sum", new Op.Add(), List.of("p", "p"), "s"),
                new Node("diff", new Op.Sub(), List.of("p", "p"), "d"),
                new Node("clip", new Op.Clip(0f, 6f), List.of("d"), "k"),
                new Node("flatten", new Op.Flatten(1), List.of("s"), "f")), List.of("f"));
        assertEquals(Set.of("a", "p", "s", "k", "f"), NonNegativeValues.of(graph));
    }

    @Test
    void residualBranchesAreSummedWithAnotherActivationAndABiasIsNot() {
        Random r = new Random(2);
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(2, 4, 4))), List.of(
                new Node("conv", new Op.Conv2d(random(r, 2, 2, 3, 3), null, new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1),
                        List.of("x"), "c"),
                new Node("bias", new Op.Constant(random(r, 2, 4, 4)), List.of(), "b"),
                new Node("biased", new Op.Add(), List.of("c", "b"), "cb"),
                new Node("residual", new Op.Add(), List.of("cb", "x"), "s"),
                new Node("relu", new Op.Relu(), List.of("s"), "a")), List.of("a"));
        assertEquals(Set.of("cb", "x"), RelevancePropagation.summedWithActivations(graph));
    }

    @Test
    void signSplitRulesGiveTheSameRelevanceWithAndWithoutTheXMinusTerms() {
        Random r = new Random(7);
        Op.Conv2d conv = new Op.Conv2d(random(r, 4, 3, 3, 3), random(r, 4),
                new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), 1);
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(3, 6, 6))),
                List.of(new Node("conv", conv, List.of("x"), "y")), List.of("y"));
        Rules rules = new Rules(new ModifiedParameters(), new RuleDefaults(1e-6, 0.25, 0, 1, 2, 1), name -> null);
        HostTensor x = random(r, 2, 3, 6, 6);
        float[] nonNegative = x.data().clone();
        for (int i = 0; i < nonNegative.length; i++) {
            nonNegative[i] = Math.abs(nonNegative[i]) * (i % 5 == 0 ? 0 : 1);
        }
        HostTensor input = HostTensor.wrap(x.shape(), nonNegative);
        Node node = graph.nodes().get(0);
        try (PreparedModel model = JAVA.prepare(graph); TensorScope scope = model.openScope()) {
            Kernels k = model.kernels();
            Tensor in = k.upload(input, scope);
            Tensor out = k.forward(conv, List.of(in), scope);
            Tensor upstream = k.upload(random(r, 2, 4, 3, 3), scope);
            // as above a ReLU, no relevance at negative outputs: gamma's shortcut takes one VJP
            Tensor belowRelu = k.multiply(upstream, k.positiveMask(out, scope), scope);
            assertClose(relevance(rules, RuleSpec.parse("gamma", "test"), node, false, in, out, belowRelu, k, scope),
                    relevance(rules, RuleSpec.parse("gamma", "test"), node, true, in, out, belowRelu, k, scope),
                    "gamma below a ReLU");
            for (String rule : List.of("zplus", "alpha-beta", "gamma")) {
                float[] general = relevance(rules, RuleSpec.parse(rule, "test"), node, false, in, out, upstream, k, scope);
                float[] shortcut = relevance(rules, RuleSpec.parse(rule, "test"), node, true, in, out, upstream, k, scope);
                // equal up to rounding: the stabilizer's + e goes into the bias of the modified
                // layer, and gamma makes one modified pass instead of two (zp = o + v, zn = (1 + g) o - v)
                assertClose(general, shortcut, rule);
            }
        }
    }

    /**
     * Gamma against lrp-rules.md's formula written out in double, on a Dense layer: signed and
     * non-negative inputs, with relevance at negative outputs and without (below a ReLU, where
     * the rule takes its one-VJP shortcut).
     */
    @Test
    void gammaEqualsItsWrittenDefinitionWithAndWithoutRelevanceAtNegativeOutputs() {
        Random r = new Random(11);
        double g = 0.25;
        HostTensor w = random(r, 5, 7);
        HostTensor b = random(r, 5);
        Op.Dense dense = new Op.Dense(w, b);
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(7))),
                List.of(new Node("dense", dense, List.of("x"), "y")), List.of("y"));
        Node node = graph.nodes().get(0);
        Rules rules = new Rules(new ModifiedParameters(), new RuleDefaults(1e-6, g, 0, 1, 2, 1), name -> null);
        try (PreparedModel model = JAVA.prepare(graph); TensorScope scope = model.openScope()) {
            Kernels k = model.kernels();
            for (boolean nonNegative : new boolean[] {false, true}) {
                HostTensor x = random(r, 3, 7);
                if (nonNegative) {
                    float[] v = x.data();
                    for (int i = 0; i < v.length; i++) {
                        v[i] = Math.abs(v[i]);
                    }
                }
                Tensor in = k.upload(x, scope);
                Tensor out = k.forward(dense, List.of(in), scope);
                HostTensor upstream = random(r, 3, 5);
                float[] belowRelu = upstream.data().clone();
                float[] o = out.toHost().data();
                int negatives = 0;
                for (int j = 0; j < o.length; j++) {
                    if (o[j] < 0) {
                        belowRelu[j] = 0f;
                        negatives++;
                    }
                }
                assertTrue(negatives > 0 && negatives < o.length, "outputs of both signs");
                for (HostTensor relevance : List.of(upstream, HostTensor.wrap(upstream.shape(), belowRelu))) {
                    // a summed output skips the check for relevance at negative outputs: same result
                    for (boolean summed : new boolean[] {false, true}) {
                        String what = "gamma, " + (nonNegative ? "x >= 0" : "signed x") + ", "
                                + (relevance == upstream ? "relevance at every output" : "none at negative outputs")
                                + (summed ? ", summed output" : "");
                        float[] actual = rules.create(RuleSpec.parse("gamma", "test"), node, "test", nonNegative, summed)
                                .propagate(new NodeStep(node, List.of(in), out, k.upload(relevance, scope), k, scope))
                                .get(0).toHost().data();
                        assertClose(gammaByDefinition(w, b, g, x, o, relevance.data()), actual, what);
                    }
                }
            }
        }
    }

    /** lrp-rules.md's gamma for {@code y = x W^T + b}, rows of {@code x} independent, in double. */
    private static float[] gammaByDefinition(HostTensor weight, HostTensor bias, double g, HostTensor x, float[] o,
                                             float[] relevance) {
        int out = weight.shape().dim(0);
        int in = weight.shape().dim(1);
        int rows = x.shape().dim(0);
        float[] result = new float[rows * in];
        for (int n = 0; n < rows; n++) {
            double[] sp = new double[out];
            double[] sn = new double[out];
            for (int j = 0; j < out; j++) {
                double b = bias.data()[j];
                double zp = b + g * Math.max(b, 0);
                double zn = b + g * Math.min(b, 0);
                for (int i = 0; i < in; i++) {
                    double xi = x.data()[n * in + i];
                    double wji = weight.data()[j * in + i];
                    double up = wji + g * Math.max(wji, 0);
                    double down = wji + g * Math.min(wji, 0);
                    zp += Math.max(xi, 0) * up + Math.min(xi, 0) * down;
                    zn += Math.max(xi, 0) * down + Math.min(xi, 0) * up;
                }
                double rj = relevance[n * out + j];
                double oj = o[n * out + j];
                sp[j] = oj > 0 ? rj / (zp + (zp < 0 ? -1e-6 : 1e-6)) : 0;
                sn[j] = oj < 0 ? rj / (zn + (zn < 0 ? -1e-6 : 1e-6)) : 0;
            }
            for (int i = 0; i < in; i++) {
                double xi = x.data()[n * in + i];
                double sum = 0;
                for (int j = 0; j < out; j++) {
                    double wji = weight.data()[j * in + i];
                    double up = wji + g * Math.max(wji, 0);
                    double down = wji + g * Math.min(wji, 0);
                    sum += Math.max(xi, 0) * (up * sp[j] + down * sn[j]) + Math.min(xi, 0) * (down * sp[j] + up * sn[j]);
                }
                result[n * in + i] = (float) sum;
            }
        }
        return result;
    }

    /** Equal within 1e-5 of the largest expected magnitude, which must not be zero. */
    static void assertClose(float[] expected, float[] actual, String what) {
        double scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 0, what + ": all zero");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * scale, what + " at " + i);
        }
    }

    private static float[] relevance(Rules rules, RuleSpec spec, Node node, boolean nonNegative, Tensor in, Tensor out,
                                     Tensor upstream, Kernels k, TensorScope scope) {
        return rules.create(spec, node, "test", nonNegative, false)
                .propagate(new NodeStep(node, List.of(in), out, upstream, k, scope)).get(0).toHost().data();
    }
}

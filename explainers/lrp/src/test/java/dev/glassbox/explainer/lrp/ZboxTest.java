package dev.glassbox.explainer.lrp;

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

/** zbox against lrp-rules.md's formula written out in double, at batch 1 and 3. */
class ZboxTest {

    private static final Backend JAVA = new JavaBackend(1);

    @Test
    void zboxEqualsItsWrittenDefinition() {
        Random r = new Random(5);
        float low = -0.5f;
        float high = 2f;
        HostTensor w = random(r, 1, 4, 6);
        HostTensor b = random(r, 1, 4);
        Op.Dense dense = new Op.Dense(w, b);
        Graph graph = new Graph("g", List.of(new ValueInfo("x", Shape.of(6))),
                List.of(new Node("dense", dense, List.of("x"), "y")), List.of("y"));
        Node node = graph.nodes().get(0);
        Rules rules = new Rules(new ModifiedParameters(), new RuleDefaults(1e-6, 0.25, low, high, 2, 1), name -> null);
        try (PreparedModel model = JAVA.prepare(graph); TensorScope scope = model.openScope()) {
            Kernels k = model.kernels();
            for (int batch : new int[] {1, 3}) {
                HostTensor x = random(r, (high - low) / 2, batch, 6);
                for (int i = 0; i < x.data().length; i++) {
                    x.data()[i] += (low + high) / 2;
                }
                Tensor in = k.upload(x, scope);
                Tensor out = k.forward(dense, List.of(in), scope);
                HostTensor relevance = random(r, 1, batch, 4);
                float[] actual = rules.create(RuleSpec.parse("zbox", "test"), node, "test")
                        .propagate(new NodeStep(node, List.of(in), out, k.upload(relevance, scope), k, scope))
                        .get(0).toHost().data();
                NonNegativeInputTest.assertClose(byDefinition(w, b, low, high, x, relevance.data()), actual,
                        "zbox, batch " + batch);
                // The same layer as a 1x1 convolution (bounds computed on the host) and as a 1x1
                // transposed convolution (bounds run by the backend on one item per request).
                float[] transposed = new float[6 * 4];
                for (int o = 0; o < 4; o++) {
                    for (int i = 0; i < 6; i++) {
                        transposed[i * 4 + o] = w.data()[o * 6 + i];
                    }
                }
                List<Op.Linear> sameLayer = List.of(
                        new Op.Conv2d(w.reshape(Shape.of(4, 6, 1, 1)), b, Geometry2d.UNIT, 1),
                        new Op.ConvTranspose2d(HostTensor.wrap(Shape.of(6, 4, 1, 1), transposed), b, Geometry2d.UNIT,
                                1, 0, 0));
                for (Op.Linear layer : sameLayer) {
                    Node image = new Node("layer", layer, List.of("x"), "y");
                    Tensor x4 = k.upload(x.reshape(Shape.of(batch, 6, 1, 1)), scope);
                    float[] asImage = rules.create(RuleSpec.parse("zbox", "test"), image, "test")
                            .propagate(new NodeStep(image, List.of(x4), k.forward(layer, List.of(x4), scope),
                                    k.upload(relevance.reshape(Shape.of(batch, 4, 1, 1)), scope), k, scope))
                            .get(0).toHost().data();
                    NonNegativeInputTest.assertClose(actual, asImage, "zbox on " + layer.type() + ", batch " + batch);
                }
            }
        }
    }

    /** {@code R_in = x W^T s - l W+^T s - h W-^T s}, {@code s = R / stab(x W^T + b - l W+^T - b+ - h W-^T - b-)}. */
    private static float[] byDefinition(HostTensor weight, HostTensor bias, double l, double h, HostTensor x,
                                        float[] relevance) {
        int out = weight.shape().dim(0);
        int in = weight.shape().dim(1);
        int rows = x.shape().dim(0);
        float[] result = new float[rows * in];
        for (int n = 0; n < rows; n++) {
            double[] s = new double[out];
            for (int j = 0; j < out; j++) {
                double bj = bias.data()[j];
                double z = bj - Math.max(bj, 0) - Math.min(bj, 0);
                for (int i = 0; i < in; i++) {
                    double wji = weight.data()[j * in + i];
                    z += x.data()[n * in + i] * wji - l * Math.max(wji, 0) - h * Math.min(wji, 0);
                }
                s[j] = relevance[n * out + j] / (z + (z < 0 ? -1e-6 : 1e-6));
            }
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int j = 0; j < out; j++) {
                    double wji = weight.data()[j * in + i];
                    sum += (x.data()[n * in + i] * wji - l * Math.max(wji, 0) - h * Math.min(wji, 0)) * s[j];
                }
                result[n * in + i] = (float) sum;
            }
        }
        return result;
    }

    private static HostTensor random(Random r, double scale, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return HostTensor.wrap(s, v);
    }
}

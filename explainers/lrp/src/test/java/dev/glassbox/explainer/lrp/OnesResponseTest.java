package dev.glassbox.explainer.lrp;

import static dev.glassbox.explainer.lrp.NonNegativeInputTest.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.java.JavaBackend;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host's {@code layer(1)} against the Java backend running the layer on an all-ones item. */
class OnesResponseTest {

    private static final Backend JAVA = new JavaBackend(1);

    @Test
    void equalsTheLayerRunOnOnes() {
        Random r = new Random(3);
        Shape image = Shape.of(1, 4, 9, 8);
        List<Op.Linear> layers = List.of(
                new Op.Conv2d(random(r, 5, 4, 3, 3), random(r, 5), new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1),
                new Op.Conv2d(random(r, 6, 4, 7, 7), random(r, 6), new Geometry2d(2, 2, 3, 3, 3, 3, 1, 1), 1),
                new Op.Conv2d(random(r, 4, 2, 3, 2), null, new Geometry2d(2, 1, 0, 2, 1, 0, 2, 3), 2),
                new Op.Conv2d(random(r, 3, 4, 1, 1), null, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), 1));
        for (Op.Linear layer : layers) {
            assertEqualsRun(layer, image);
        }
        assertEqualsRun(new Op.Dense(random(r, 3, 5), random(r, 3)), Shape.of(1, 2, 5));
        assertNull(OnesResponse.of(new Op.BatchNorm(random(r, 4), random(r, 4)), image));
    }

    private static void assertEqualsRun(Op.Linear layer, Shape item) {
        Graph graph = new Graph("g", List.of(new ValueInfo("x", item.withoutBatch())),
                List.of(new Node("layer", layer, List.of("x"), "y")), List.of("y"));
        float[] ones = new float[item.size()];
        Arrays.fill(ones, 1f);
        HostTensor expected;
        try (PreparedModel model = JAVA.prepare(graph); TensorScope scope = model.openScope()) {
            expected = model.kernels().forward(layer, List.of(model.kernels().upload(HostTensor.wrap(item, ones), scope)),
                    scope).toHost();
        }
        HostTensor actual = OnesResponse.of(layer, item);
        assertEquals(expected.shape(), actual.shape(), layer.type());
        NonNegativeInputTest.assertClose(expected.data(), actual.data(), layer.toString());
    }
}

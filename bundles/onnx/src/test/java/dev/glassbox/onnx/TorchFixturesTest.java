package dev.glassbox.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch-exported fixtures in {@code testdata/torch/} and the demo model: each loads into
 * the expected ops and shapes, and (where a reference is stored) a plain forward pass of the
 * converted graph reproduces PyTorch's logits, which checks weight layouts and geometry.
 */
class TorchFixturesTest {
    private static final Path ROOT = Path.of(System.getProperty("glassbox.root", "../.."));
    private final OnnxModelLoader loader = new OnnxModelLoader();

    private Graph load(String relative) throws IOException {
        Path file = ROOT.resolve(relative);
        assumeTrue(Files.isRegularFile(file), relative + " is not there");
        return loader.load(Files.readAllBytes(file), file.getFileName().toString());
    }

    private static List<String> types(Graph g) {
        return g.nodes().stream().map(n -> n.op().type()).toList();
    }

    private static void assertMatchesTorch(Graph g, String name) throws IOException {
        Path dir = ROOT.resolve("testdata/torch");
        HostTensor input = ReferenceForward.readNpy(dir.resolve(name + "_input.npy"));
        HostTensor expected = ReferenceForward.readNpy(dir.resolve(name + "_logits.npy"));
        HostTensor actual = ReferenceForward.run(g, input);
        assertEquals(expected.shape(), actual.shape());
        for (int i = 0; i < expected.data().length; i++) {
            assertEquals(expected.data()[i], actual.data()[i], 1e-4, name + " logit " + i);
        }
    }

    @Test
    void mlpGemm() throws IOException {
        Graph g = load("testdata/torch/mlp.onnx");
        assertEquals(List.of("Dense", "Relu", "Dense", "Relu", "Dense"), types(g));
        assertEquals(Shape.of(20), g.input().itemShape());
        assertEquals("input", g.input().name());
        assertEquals("logits", g.output());
        Op.Dense first = (Op.Dense) g.nodes().get(0).op();
        assertEquals(Shape.of(16, 20), first.weight().shape());
        assertEquals(Shape.of(5, 12), ((Op.Dense) g.nodes().get(4).op()).weight().shape());
        assertMatchesTorch(g, "mlp");
    }

    @Test
    void mlpMatMulAddIsFused() throws IOException {
        Graph g = load("testdata/torch/mlp_matmul.onnx");
        assertEquals(List.of("Dense", "Relu", "Dense"), types(g));
        for (Node n : List.of(g.nodes().get(0), g.nodes().get(2))) {
            assertEquals(true, ((Op.Dense) n.op()).bias() != null, n.name() + " has the Add's bias");
        }
        assertEquals(Shape.of(16, 20), ((Op.Dense) g.nodes().get(0).op()).weight().shape());
        assertEquals("logits", g.output());
        assertMatchesTorch(g, "mlp_matmul");
    }

    @Test
    void cnn() throws IOException {
        Graph g = load("testdata/torch/cnn.onnx");
        assertEquals(List.of("Conv2d", "Relu", "Conv2d", "Relu", "Conv2d", "Relu", "Add", "AvgPool2d",
                "Conv2d", "Relu", "MaxPool2d", "GlobalAvgPool", "Flatten", "Dense"), types(g));
        assertEquals(Shape.of(3, 12, 12), g.input().itemShape());
        Op.Conv2d conv2 = (Op.Conv2d) g.nodes().get(2).op();
        assertEquals(2, conv2.groups());
        assertEquals(new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), conv2.geometry());
        assertEquals(Shape.of(8, 4, 3, 3), conv2.weight().shape());
        Op.Conv2d conv3 = (Op.Conv2d) g.nodes().get(4).op();
        assertEquals(new Geometry2d(1, 1, 2, 2, 2, 2, 2, 2), conv3.geometry());
        Node add = g.nodes().get(6);
        assertEquals(List.of(g.nodes().get(5).output(), g.nodes().get(3).output()).stream().sorted().toList(),
                add.inputs().stream().sorted().toList());
        Op.AvgPool2d avg = (Op.AvgPool2d) g.nodes().get(7).op();
        assertEquals(2, avg.kernelH());
        assertEquals(false, avg.countIncludePad());
        assertEquals(new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), avg.geometry());
        Op.MaxPool2d max = (Op.MaxPool2d) g.nodes().get(10).op();
        assertEquals(new Geometry2d(1, 1, 0, 0, 0, 0, 1, 1), max.geometry());
        assertEquals(new Op.Flatten(1), g.nodes().get(12).op());
        assertEquals(Shape.of(6, 16), ((Op.Dense) g.nodes().get(13).op()).weight().shape());
        assertMatchesTorch(g, "cnn");
    }

    @Test
    void cnnReshapeWithFixedBatchCopiesTheBatch() throws IOException {
        Graph g = load("testdata/torch/cnn_reshape.onnx");
        assertEquals(List.of("Conv2d", "Relu", "MaxPool2d", "Reshape", "Dense"), types(g));
        // exported as reshape(3, 64) for the fixed batch of 3: the batch axis becomes "copy" (0)
        assertEquals(List.of(0, 64), ((Op.Reshape) g.nodes().get(3).op()).shape());
        assertMatchesTorch(g, "cnn_reshape");
    }

    @Test
    void fashionMnistDemoModel() throws IOException {
        Graph g = load("models/fashion-mnist-cnn.onnx");
        assertEquals(List.of("Conv2d", "Relu", "MaxPool2d", "Conv2d", "Relu", "MaxPool2d", "Flatten", "Dense",
                "Relu", "Dense"), types(g));
        assertEquals(Shape.of(1, 28, 28), g.input().itemShape());
        assertEquals(Shape.of(16, 1, 3, 3), ((Op.Conv2d) g.nodes().get(0).op()).weight().shape());
        assertEquals(Shape.of(64, 32 * 7 * 7), ((Op.Dense) g.nodes().get(7).op()).weight().shape());
        assertEquals(Shape.of(10, 64), ((Op.Dense) g.nodes().get(9).op()).weight().shape());
        assertNull(g.producer(g.input().name()).orElse(null));
        // dynamic batch: any batch size runs
        HostTensor out = ReferenceForward.run(g, HostTensor.zeros(Shape.of(2, 1, 28, 28)));
        assertEquals(Shape.of(2, 10), out.shape());
    }
}

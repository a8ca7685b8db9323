package dev.glassbox.onnx;

import static dev.glassbox.onnx.OnnxBuilder.dims;
import static dev.glassbox.onnx.OnnxBuilder.iota;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each supported ONNX op, built with the protobuf builders, and what it becomes. */
class OpConversionTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    private Graph load(OnnxBuilder b) {
        return loader.load(b.bytes(), "test.onnx");
    }

    private static Node only(Graph g) {
        assertEquals(1, g.nodes().size(), g.nodes().toString());
        return g.nodes().get(0);
    }

    @Test
    void loaderDescribesItself() {
        assertEquals("onnx", loader.format());
        assertTrue(loader.accepts("model.onnx"));
        assertTrue(loader.accepts("/a/b/MODEL.ONNX"));
        assertFalse(loader.accepts("model.pt"));
        assertFalse(loader.accepts(null));
    }

    @Test
    void gemmWithTransBScalesWeightByAlphaAndBiasByBeta() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6)).init("C", dims(2), 1f, 2f)
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("y"), "transB", 1L, "alpha", 2f, "beta", 0.5f)
                .output("y"));
        Node n = only(g);
        assertEquals("fc", n.name());
        assertEquals(List.of("x"), n.inputs());
        assertEquals("y", n.output());
        Op.Dense d = (Op.Dense) n.op();
        assertEquals(Shape.of(2, 3), d.weight().shape());
        assertArrayEquals(new float[] {0, 2, 4, 6, 8, 10}, d.weight().data());
        assertArrayEquals(new float[] {0.5f, 1f}, d.bias().data());
        assertEquals(Shape.of(3), g.input().itemShape());
    }

    @Test
    void gemmWithoutTransBTransposesAndAcceptsRowBias() {
        // B is [in=3, out=2]; the Dense weight is [out, in] = B^T
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("B", dims(3, 2), iota(6)).init("C", dims(1, 2), 7f, 8f)
                .node("Gemm", "fc", List.of("x", "B", "C"), List.of("y"))
                .output("y"));
        Op.Dense d = (Op.Dense) only(g).op();
        assertEquals(Shape.of(2, 3), d.weight().shape());
        for (int o = 0; o < 2; o++) {
            for (int i = 0; i < 3; i++) {
                assertEquals(i * 2 + o, d.weight().get(o, i));
            }
        }
        assertArrayEquals(new float[] {7, 8}, d.bias().data());
    }

    @Test
    void gemmWithoutBiasAndFloatData() {
        Graph g = load(new OnnxBuilder().input("x", 4, 2)
                .initFloatData("W", dims(1, 2), 3f, 4f)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        Op.Dense d = (Op.Dense) only(g).op();
        assertNull(d.bias());
        assertArrayEquals(new float[] {3, 4}, d.weight().data());
    }

    @Test
    void gemmWithTransAIsUnsupported() {
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6))
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transA", 1L, "transB", 1L)
                .output("y")));
        assertEquals("node fc (Gemm)", e.where());
        assertTrue(e.getMessage().contains("transA"), e.getMessage());
    }

    @Test
    void matMulFollowedByAddOfAConstantVectorIsOneDense() {
        for (boolean constantFirst : new boolean[] {false, true}) {
            Graph g = load(new OnnxBuilder().input("x", 0, 3)
                    .init("W", dims(3, 2), iota(6)).init("b", dims(2), 5f, 6f)
                    .node("MatMul", "mm", List.of("x", "W"), List.of("h"))
                    .node("Add", "plus", constantFirst ? List.of("b", "h") : List.of("h", "b"), List.of("y"))
                    .output("y"));
            Node n = only(g);
            assertEquals("mm", n.name());
            assertEquals("y", n.output());
            Op.Dense d = (Op.Dense) n.op();
            assertArrayEquals(new float[] {0, 2, 4, 1, 3, 5}, d.weight().data());
            assertArrayEquals(new float[] {5, 6}, d.bias().data());
        }
    }

    @Test
    void matMulAloneHasNoBias() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(3, 2), iota(6))
                .node("MatMul", "mm", List.of("x", "W"), List.of("y"))
                .output("y"));
        assertNull(((Op.Dense) only(g).op()).bias());
    }

    @Test
    void matMulFeedingTwoNodesIsNotFused() {
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(3, 2), iota(6)).init("b", dims(2), 5f, 6f)
                .node("MatMul", "mm", List.of("x", "W"), List.of("h"))
                .node("Relu", "r", List.of("h"), List.of("r"))
                .node("Add", "plus", List.of("h", "b"), List.of("y"))
                .output("y").output("r")));
        assertEquals("node plus (Add)", e.where());
    }

    @Test
    void addOfTwoActivations() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 3)
                .node("Relu", "r", List.of("x"), List.of("h"))
                .node("Add", "res", List.of("h", "x"), List.of("y"))
                .output("y"));
        Node add = g.nodes().get(1);
        assertEquals(new Op.Add(), add.op());
        assertEquals(List.of("h", "x"), add.inputs());
    }

    @Test
    void addWithBroadcastingIsUnsupported() {
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder()
                .input("x", 0, 2, 3, 3).input("z", 0, 1, 3, 3)
                .node("Add", "res", List.of("z", "x"), List.of("y"))
                .output("y")));
        assertEquals("node res (Add)", e.where());
    }

    @Test
    void convMapsAttributesToGeometry() {
        // pads are [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right]
        Graph g = load(new OnnxBuilder().input("x", 0, 4, 9, 9)
                .init("W", dims(6, 2, 3, 3), new float[6 * 2 * 9]).init("B", dims(6), iota(6))
                .node("Conv", "conv", List.of("x", "W", "B"), List.of("y"), "group", 2L, "kernel_shape", dims(3, 3),
                        "strides", dims(2, 1), "pads", dims(1, 0, 2, 1), "dilations", dims(1, 2))
                .node("Relu", "r", List.of("y"), List.of("z"))
                .output("z", 0, 6, 5, 6));
        Op.Conv2d c = (Op.Conv2d) g.nodes().get(0).op();
        assertEquals(new Geometry2d(2, 1, 1, 0, 2, 1, 1, 2), c.geometry());
        assertEquals(2, c.groups());
        assertEquals(4, c.inChannels());
        assertArrayEquals(iota(6), c.bias().data());
        // the declared output shape [N, 6, 5, 6] was checked against the inferred one
    }

    @Test
    void convAutoPadIsComputedFromTheInputShape() {
        // in 5, kernel 4, stride 2: SAME output 3, total padding (3-1)*2 + 4 - 5 = 3
        assertEquals(new Geometry2d(2, 2, 1, 1, 2, 2, 1, 1), autoPadConv("SAME_UPPER"));
        assertEquals(new Geometry2d(2, 2, 2, 2, 1, 1, 1, 1), autoPadConv("SAME_LOWER"));
        assertEquals(new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), autoPadConv("VALID"));
        assertArrayEquals(new int[] {2, 2}, OnnxConverter.samePads(5, 3, 1, 2, true)); // dilated kernel spans 5
        assertArrayEquals(new int[] {0, 0}, OnnxConverter.samePads(4, 1, 2, 1, true));
    }

    private Geometry2d autoPadConv(String autoPad) {
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 5, 5)
                .init("W", dims(1, 1, 4, 4), new float[16])
                .node("Conv", "conv", List.of("x", "W"), List.of("y"), "strides", dims(2, 2), "auto_pad", autoPad)
                .output("y", 0, 1, autoPad.equals("VALID") ? 1 : 3, autoPad.equals("VALID") ? 1 : 3));
        return ((Op.Conv2d) only(g).op()).geometry();
    }

    @Test
    void maxPoolAttributes() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 8, 7)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(3, 2),
                        "strides", dims(2, 2), "pads", dims(1, 0, 1, 1))
                .output("y", 0, 3, 4, 4));
        assertEquals(new Op.MaxPool2d(3, 2, new Geometry2d(2, 2, 1, 0, 1, 1, 1, 1)), only(g).op());
        Graph unit = load(new OnnxBuilder().input("x", 0, 3, 8, 7)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2))
                .output("y", 0, 3, 7, 6)); // default strides are 1
        assertEquals(Geometry2d.UNIT, ((Op.MaxPool2d) only(unit).op()).geometry());
    }

    @Test
    void maxPoolCeilModeAndStorageOrderAreUnsupported() {
        for (String attr : List.of("ceil_mode", "storage_order")) {
            var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().input("x", 0, 3, 8, 8)
                    .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2), attr, 1L)
                    .output("y")));
            assertEquals("node pool (MaxPool)", e.where());
            assertTrue(e.getMessage().contains(attr), e.getMessage());
        }
    }

    @Test
    void averagePoolCountIncludePad() {
        for (long include : new long[] {0, 1}) {
            Graph g = load(new OnnxBuilder().input("x", 0, 3, 8, 8)
                    .node("AveragePool", "avg", List.of("x"), List.of("y"), "kernel_shape", dims(3, 3),
                            "pads", dims(1, 1, 1, 1), "count_include_pad", include)
                    .output("y", 0, 3, 8, 8));
            Op.AvgPool2d p = (Op.AvgPool2d) only(g).op();
            assertEquals(include == 1, p.countIncludePad());
            assertEquals(new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), p.geometry());
        }
    }

    @Test
    void globalAveragePoolAndFlatten() {
        Graph g = load(new OnnxBuilder().input("x", 0, 5, 4, 4)
                .node("GlobalAveragePool", "gap", List.of("x"), List.of("p"))
                .node("Flatten", "flat", List.of("p"), List.of("f"))
                .init("W", dims(2, 5), iota(10))
                .node("Gemm", "fc", List.of("f", "W"), List.of("y"), "transB", 1L)
                .output("y", 0, 2));
        assertEquals(List.of(new Op.GlobalAvgPool(), new Op.Flatten(1)), g.nodes().subList(0, 2).stream().map(Node::op).toList());
    }

    @Test
    void flattenWithNegativeAxisAndUnitLeadingDims() {
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 3, 4)
                .node("Flatten", "flat", List.of("x"), List.of("y"), "axis", -2L)
                .output("y", 0, 12));
        assertEquals(new Op.Flatten(2), only(g).op());
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Flatten", "flat", List.of("x"), List.of("y"), "axis", 2L)
                .output("y")));
        assertEquals("node flat (Flatten)", e.where());
    }

    @Test
    void reshapeWithInitializerShape() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .initLongs("shape", -1, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 24));
        assertEquals(new Op.Reshape(new int[] {-1, 24}), only(g).op());
    }

    @Test
    void reshapeWithConstantNodeShape() {
        TensorProto shape = OnnxBuilder.longTensor("", 0, 4, 6);
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Constant", "c", List.of(), List.of("shape"), "value", shape)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 4, 6));
        assertEquals(new Op.Reshape(new int[] {0, 4, 6}), only(g).op());
        Graph ints = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Constant", "c", List.of(), List.of("shape"), "value_ints", dims(0, -1))
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 24));
        assertEquals(new Op.Reshape(new int[] {0, -1}), only(ints).op());
    }

    @Test
    void reshapeFixingTheBatch() {
        // static batch 3: [3, 24] means "keep the batch"
        Graph g = load(new OnnxBuilder().input("x", 3, 2, 3, 4)
                .initLongs("shape", 3, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 3, 24));
        assertEquals(new Op.Reshape(new int[] {0, 24}), only(g).op());
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .initLongs("shape", 1, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y")));
        assertEquals("node rs (Reshape)", e.where());
    }

    @Test
    void softmaxDefaultAxisDependsOnOpset() {
        assertEquals(new Op.Softmax(1), only(softmax(12, "Softmax", 0, 10)).op());
        assertEquals(new Op.Softmax(1), only(softmax(13, "Softmax", 0, 10)).op());
        assertEquals(new Op.LogSoftmax(2), only(softmax(13, "LogSoftmax", 0, 2, 5)).op());
        // opset 11 softmax over [N, 2, 5] with axis 1 flattens axes 1..2: not the same op
        var e = assertThrows(UnsupportedFeatureException.class, () -> softmax(11, "Softmax", 0, 2, 5));
        assertEquals("node sm (Softmax)", e.where());
    }

    private Graph softmax(long opset, String op, long... dims) {
        return load(new OnnxBuilder().opset(opset).input("x", dims)
                .node(op, "sm", List.of("x"), List.of("y"))
                .output("y"));
    }

    @Test
    void identityAndDropoutDisappearAndOutputNamesSurvive() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6))
                .node("Gemm", "fc", List.of("x", "W"), List.of("h"), "transB", 1L)
                .node("Dropout", "drop", List.of("h"), List.of("d", "mask"))
                .node("Relu", "relu", List.of("d"), List.of("r"))
                .node("Identity", "id", List.of("r"), List.of("logits"))
                .output("logits"));
        assertEquals(List.of("fc", "relu"), g.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("h"), g.nodes().get(1).inputs());
        assertEquals("logits", g.nodes().get(1).output());
        assertEquals("logits", g.output());
    }

    @Test
    void nodesOutOfOrderAreSortedAndUnnamedNodesGetOpAndIndex() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "", List.of("h"), List.of("y"))
                .node("Relu", "", List.of("x"), List.of("h"))
                .output("y"));
        assertEquals(List.of("Relu_1", "Relu_0"), g.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("x"), g.nodes().get(0).inputs());
    }

    @Test
    void initializersListedAsInputsAreNotInputs() {
        OnnxBuilder b = new OnnxBuilder().input("x", 0, 3).input("W", 2, 3)
                .init("W", dims(2, 3), iota(6))
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y");
        Graph g = load(b);
        assertEquals(1, g.inputs().size());
        HostTensor w = ((Op.Dense) only(g).op()).weight();
        assertEquals(5f, w.get(1, 2));
    }
}

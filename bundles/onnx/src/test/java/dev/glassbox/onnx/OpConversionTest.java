package dev.glassbox.onnx;

import static dev.glassbox.onnx.OnnxBuilder.dims;
import static dev.glassbox.onnx.OnnxBuilder.iota;
import static dev.glassbox.onnx.OnnxBuilder.scalar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each supported layer, activation and pooling op, built with the protobuf builders, and what it becomes. */
class OpConversionTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    private Graph load(OnnxBuilder b) {
        return loader.load(b.bytes(), "test.onnx");
    }

    private UnsupportedFeatureException unsupported(OnnxBuilder b) {
        var e = assertThrows(UnsupportedFeatureException.class, () -> load(b));
        assertFalse(e.describe().contains("\n"));
        return e;
    }

    private InvalidInputException invalid(OnnxBuilder b) {
        var e = assertThrows(InvalidInputException.class, () -> load(b));
        assertFalse(e.describe().contains("\n"));
        return e;
    }

    static Node only(Graph g) {
        assertEquals(1, g.nodes().size(), g.nodes().toString());
        return g.nodes().get(0);
    }

    static List<String> types(Graph g) {
        return g.nodes().stream().map(n -> n.op().type()).toList();
    }

    static Node node(Graph g, String name) {
        return g.node(name).orElseThrow(() -> new AssertionError(name + " not in " + g.nodes()));
    }

    /** The converted graph's output for {@code x} (see {@link ReferenceForward}). */
    static HostTensor run(Graph g, HostTensor x) {
        return ReferenceForward.run(g, x);
    }

    static void assertContains(String text, String part) {
        assertTrue(text.contains(part), "'" + text + "' should contain '" + part + "'");
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
    void operatorsAreSortedAndCoverEveryMappedOp() {
        List<String> ops = loader.operators();
        List<String> sorted = new ArrayList<>(ops);
        sorted.sort(null);
        assertEquals(sorted, ops);
        assertEquals(ops.size(), ops.stream().distinct().count());
        for (String op : List.of("Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant",
                "ConstantOfShape", "Conv", "ConvTranspose", "Div", "Dropout", "Elu", "Expand", "Flatten", "Gather",
                "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu",
                "LogSoftmax", "MatMul", "MaxPool", "Mul", "PRelu", "Pad", "ReduceMean", "ReduceSum", "Relu", "Reshape",
                "Resize", "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "Sub", "Tanh", "Transpose",
                "Unsqueeze", "Upsample")) {
            assertTrue(ops.contains(op), op);
        }
        assertThrows(UnsupportedOperationException.class, () -> ops.add("Foo"));
    }

    // ================================================================ Gemm and MatMul

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
    void gemmScalarBiasFillsAndBetaZeroIgnoresC() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6)).init(scalar("C", 3f))
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("y"), "transB", 1L, "beta", 2f)
                .output("y"));
        assertArrayEquals(new float[] {6, 6}, ((Op.Dense) only(g).op()).bias().data());
        Graph zero = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6)).init("C", dims(2), Float.NaN, 1f)
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("y"), "transB", 1L, "beta", 0f)
                .output("y"));
        assertNull(((Op.Dense) only(zero).op()).bias());
    }

    @Test
    void gemmMatrixCBecomesAnAddOfAConstant() {
        // C [M, N] with the fixed batch M = 2: Dense, then Add of beta * C
        Graph g = load(new OnnxBuilder().input("x", 2, 3)
                .init("W", dims(2, 3), iota(6)).init("C", dims(2, 2), 1f, 2f, 3f, 4f)
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("y"), "transB", 1L, "beta", 2f)
                .output("y", 2, 2));
        assertEquals(List.of("Dense", "Constant", "Add"), types(g));
        Op.Dense d = (Op.Dense) node(g, "fc").op();
        assertNull(d.bias());
        Node add = g.nodes().get(2);
        assertEquals("y", add.output());
        Op.Constant c = (Op.Constant) g.producer(add.inputs().get(1)).orElseThrow().op();
        assertArrayEquals(new float[] {2, 4, 6, 8}, c.value().data());
        assertEquals(Shape.of(2, 2), c.value().shape());
    }

    @Test
    void gemmCOfShapeOneByOneIsABias() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6)).init("C", dims(1, 1), 5f)
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("y"), "transB", 1L)
                .output("y"));
        assertArrayEquals(new float[] {5, 5}, ((Op.Dense) only(g).op()).bias().data());
    }

    @Test
    void gemmTransAIsATransposeBeforeTheDense() {
        // A is [K=3, M=2] with a fixed batch of 3 (axis 0 of A is contracted)
        Graph g = load(new OnnxBuilder().input("a", 3, 2)
                .init("W", dims(4, 3), iota(12))
                .node("Gemm", "fc", List.of("a", "W"), List.of("y"), "transA", 1L, "transB", 1L)
                .output("y", 2, 4));
        assertEquals(List.of("Transpose", "Dense"), types(g));
        assertEquals(new Op.Transpose(List.of(1, 0)), g.nodes().get(0).op());
        assertEquals("fc/transA", g.nodes().get(0).name());
        assertEquals("fc", g.nodes().get(1).name());
        // with a dynamic batch, contracting axis 0 mixes the items of a batch
        var e = unsupported(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6))
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transA", 1L, "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", e.where());
        assertContains(e.getMessage(), "transA");
    }

    @Test
    void gemmWithComputedBIsAMatMulScaledAndShifted() {
        Graph g = load(new OnnxBuilder().input("a", 3, 4)
                .node("Relu", "r", List.of("a"), List.of("b"))
                .init("C", dims(3), 1f, 2f, 3f)
                .node("Gemm", "g", List.of("a", "b", "C"), List.of("y"), "transB", 1L, "alpha", 0.5f, "beta", 2f)
                .output("y", 3, 3));
        assertEquals(List.of("Relu", "Transpose", "MatMul", "Constant", "Mul", "Constant", "Add"), types(g));
        Node mm = node(g, "g");
        assertInstanceOf(Op.MatMul.class, mm.op());
        Op.Constant alpha = (Op.Constant) g.nodes().get(3).op();
        assertArrayEquals(new float[] {0.5f}, alpha.value().data());
        Op.Constant c = (Op.Constant) g.nodes().get(5).op();
        assertArrayEquals(new float[] {2, 4, 6}, c.value().data());
        assertEquals("y", g.nodes().get(6).output());
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
    void matMulOfARank3ActivationIsADenseOverTheLastAxis() {
        Graph g = load(new OnnxBuilder().input("x", 0, 5, 3)
                .init("W", dims(3, 2), iota(6)).init("b", dims(1, 1, 2), 5f, 6f)
                .node("MatMul", "mm", List.of("x", "W"), List.of("h"))
                .node("Identity", "id", List.of("h"), List.of("h2"))
                .node("Add", "plus", List.of("h2", "b"), List.of("y"))
                .output("y", 0, 5, 2));
        Op.Dense d = (Op.Dense) only(g).op();
        assertArrayEquals(new float[] {5, 6}, d.bias().data());
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
    void matMulFeedingTwoNodesKeepsItsAddSeparate() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(3, 2), iota(6)).init("b", dims(2), 5f, 6f)
                .node("MatMul", "mm", List.of("x", "W"), List.of("h"))
                .node("Relu", "r", List.of("h"), List.of("r"))
                .node("Add", "plus", List.of("h", "b"), List.of("y"))
                .output("y").output("r"));
        assertEquals(List.of("Dense", "Relu", "Constant", "Add"), types(g));
        assertNull(((Op.Dense) node(g, "mm").op()).bias());
        Node add = node(g, "plus");
        assertEquals(List.of("h", "b"), add.inputs());
        assertArrayEquals(new float[] {5, 6}, ((Op.Constant) node(g, "b").op()).value().data());
    }

    @Test
    void matMulWithAConstantOnTheLeftOrTwoActivations() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 4)
                .init("W", dims(2, 3), iota(6))
                .node("MatMul", "mm", List.of("W", "x"), List.of("y"))
                .output("y", 0, 2, 4));
        assertEquals(List.of("Constant", "MatMul"), types(g));
        assertEquals(List.of("W", "x"), node(g, "mm").inputs());
        Graph two = load(new OnnxBuilder().input("x", 0, 3, 4)
                .node("Transpose", "t", List.of("x"), List.of("xt"), "perm", dims(0, 2, 1))
                .node("MatMul", "mm", List.of("x", "xt"), List.of("y"))
                .output("y", 0, 3, 3));
        assertEquals(List.of("Transpose", "MatMul"), types(two));
        // a rank-2 right operand that is an activation contracts the batch axis
        var e = unsupported(new OnnxBuilder().input("x", 0, 1).input("z", 0, 4)
                .node("MatMul", "mm", List.of("x", "z"), List.of("y"))
                .output("y"));
        assertEquals("node mm (MatMul)", e.where());
    }

    // ================================================================ elementwise arithmetic

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
    void arithmeticBroadcastsAndTakesConstantsOnEitherSide() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 3).input("z", 0, 1, 3, 3)
                .init("k", dims(2, 1, 1), 2f, 3f)
                .node("Add", "res", List.of("z", "x"), List.of("a"))
                .node("Sub", "sub", List.of("k", "a"), List.of("b"))
                .node("Mul", "mul", List.of("b", "k"), List.of("c"))
                .node("Div", "div", List.of("c", "z"), List.of("y"))
                .output("y", 0, 2, 3, 3));
        assertEquals(List.of("Add", "Constant", "Sub", "Mul", "Div"), types(g));
        assertEquals(List.of("k", "a"), node(g, "sub").inputs());
        assertEquals(List.of("b", "k"), node(g, "mul").inputs());
        assertEquals(Shape.of(2, 1, 1), ((Op.Constant) node(g, "k").op()).value().shape());
        // shapes that do not broadcast: invalid, naming the node
        var e = invalid(new OnnxBuilder().input("x", 0, 3).input("z", 0, 4)
                .node("Add", "plus", List.of("x", "z"), List.of("y")).output("y"));
        assertEquals("node plus (Add)", e.where());
    }

    @Test
    void arithmeticOnConstantsIsFolded() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3)
                .initLongs("a", 0, 2).initLongs("b", 1, 3).initLongs("one", 1, 1).initLongs("zero", 0, 0)
                .node("Mul", "m", List.of("a", "b"), List.of("ab"))       // [0, 6]
                .node("Div", "d", List.of("ab", "one"), List.of("q"))     // [0, 6]
                .node("Sub", "s", List.of("q", "zero"), List.of("t"))     // [0, 6]
                .node("Add", "p", List.of("t", "zero"), List.of("shape")) // [0, 6]
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 6));
        assertEquals(new Op.Reshape(0, 6), only(g).op());
    }

    // ================================================================ convolutions

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
    }

    @Test
    void convAutoPadIsComputedFromTheInputShape() {
        // in 5, kernel 4, stride 2: SAME output 3, total padding (3-1)*2 + 4 - 5 = 3
        assertEquals(new Geometry2d(2, 2, 1, 1, 2, 2, 1, 1), autoPadConv("SAME_UPPER"));
        assertEquals(new Geometry2d(2, 2, 2, 2, 1, 1, 1, 1), autoPadConv("SAME_LOWER"));
        assertEquals(new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), autoPadConv("VALID"));
        assertArrayEquals(new int[] {2, 2}, OnnxConverter.samePads(5, 3, 1, 2, true)); // dilated kernel spans 5
        assertArrayEquals(new int[] {0, 0}, OnnxConverter.samePads(4, 1, 2, 1, true));
        assertArrayEquals(new int[] {0, 0}, OnnxConverter.samePads(6, 1, 3, 1, false)); // never negative
    }

    private Geometry2d autoPadConv(String autoPad) {
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 5, 5)
                .init("W", dims(1, 1, 4, 4), new float[16])
                .node("Conv", "conv", List.of("x", "W"), List.of("y"), "strides", dims(2, 2), "auto_pad", autoPad)
                .output("y", 0, 1, autoPad.equals("VALID") ? 1 : 3, autoPad.equals("VALID") ? 1 : 3));
        return ((Op.Conv2d) only(g).op()).geometry();
    }

    @Test
    void conv1dRunsAsConv2dOnARowImage() {
        Graph g = load(new OnnxBuilder().input("x", 0, 4, 11)
                .init("W", dims(6, 2, 3), iota(36)).init("B", dims(6), iota(6))
                .node("Conv", "conv", List.of("x", "W", "B"), List.of("y"), "group", 2L, "strides", dims(2),
                        "pads", dims(2, 1), "dilations", dims(2))
                .output("y", 0, 6, 5));
        assertEquals(List.of("Reshape", "Conv2d", "Reshape"), types(g));
        assertEquals(new Op.Reshape(0, 4, 1, 11), g.nodes().get(0).op());
        assertEquals("conv/to2d", g.nodes().get(0).name());
        Op.Conv2d c = (Op.Conv2d) node(g, "conv").op();
        assertEquals(Shape.of(6, 2, 1, 3), c.weight().shape());
        assertEquals(new Geometry2d(1, 2, 0, 2, 0, 1, 1, 2), c.geometry());
        assertEquals(new Op.Reshape(0, 6, 5), g.nodes().get(2).op());
        assertEquals("y", g.nodes().get(2).output());
        assertEquals("y", g.output());
    }

    @Test
    void convOf3dIsUnsupportedAndWeightsMustBeConstants() {
        var e = unsupported(new OnnxBuilder().input("x", 0, 1, 4, 4, 4)
                .init("W", dims(1, 1, 2, 2, 2), new float[8])
                .node("Conv", "conv3", List.of("x", "W"), List.of("y")).output("y"));
        assertEquals("3-D convolution is not supported", e.getMessage());
        assertEquals("node conv3 (Conv)", e.where());
        var w = unsupported(new OnnxBuilder().input("x", 0, 1, 4, 4).input("W", 1, 1, 2, 2)
                .node("Conv", "conv", List.of("x", "W"), List.of("y")).output("y"));
        assertContains(w.getMessage(), "must be a constant");
        var k = invalid(new OnnxBuilder().input("x", 0, 1, 4, 4)
                .init("W", dims(1, 1, 2, 2), new float[4])
                .node("Conv", "conv", List.of("x", "W"), List.of("y"), "kernel_shape", dims(3, 3)).output("y"));
        assertContains(k.getMessage(), "kernel_shape");
        var b = invalid(new OnnxBuilder().input("x", 0, 1, 4, 4)
                .init("W", dims(2, 1, 2, 2), new float[8]).init("B", dims(3), 1f, 2f, 3f)
                .node("Conv", "conv", List.of("x", "W", "B"), List.of("y")).output("y"));
        assertContains(b.getMessage(), "bias");
    }

    @Test
    void depthwiseConv() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 5, 5)
                .init("W", dims(6, 1, 3, 3), new float[54])
                .node("Conv", "dw", List.of("x", "W"), List.of("y"), "group", 3L, "pads", dims(1, 1, 1, 1))
                .output("y", 0, 6, 5, 5));
        Op.Conv2d c = (Op.Conv2d) only(g).op();
        assertEquals(3, c.groups());
        assertNull(c.bias());
    }

    @Test
    void convTransposeAttributes() {
        Graph g = load(new OnnxBuilder().input("x", 0, 4, 3, 5)
                .init("W", dims(4, 3, 3, 2), new float[72]).init("B", dims(6), iota(6))
                .node("ConvTranspose", "up", List.of("x", "W", "B"), List.of("y"), "group", 2L, "strides", dims(2, 3),
                        "pads", dims(1, 0, 2, 1), "output_padding", dims(1, 2), "dilations", dims(1, 2))
                .output("y", 0, 6, 5, 16));
        Op.ConvTranspose2d c = (Op.ConvTranspose2d) only(g).op();
        assertEquals(new Geometry2d(2, 3, 1, 0, 2, 1, 1, 2), c.geometry());
        assertEquals(2, c.groups());
        assertEquals(1, c.outputPadH());
        assertEquals(2, c.outputPadW());
        assertEquals(6, c.outChannels());
    }

    @Test
    void convTransposeOutputShapeGivesThePads() {
        // in 4, stride 2, kernel 3: full output 9; output_shape 8 -> total padding 1
        assertEquals(new Geometry2d(2, 2, 1, 1, 0, 0, 1, 1), convTransposeGeometry("NOTSET", 8));
        assertEquals(new Geometry2d(2, 2, 0, 0, 1, 1, 1, 1), convTransposeGeometry("SAME_UPPER", 8));
        assertEquals(new Geometry2d(2, 2, 1, 1, 0, 0, 1, 1), convTransposeGeometry("SAME_LOWER", 8));
        // auto_pad SAME without output_shape: output in * stride = 8
        assertEquals(new Geometry2d(2, 2, 0, 0, 1, 1, 1, 1), convTransposeGeometry("SAME_UPPER", -1));
        // output_shape larger than the full output: the rest is output padding
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 4, 4)
                .init("W", dims(1, 1, 3, 3), new float[9])
                .node("ConvTranspose", "up", List.of("x", "W"), List.of("y"), "strides", dims(2, 2),
                        "output_shape", dims(10, 9))
                .output("y", 0, 1, 10, 9));
        Op.ConvTranspose2d c = (Op.ConvTranspose2d) only(g).op();
        assertEquals(1, c.outputPadH());
        assertEquals(0, c.outputPadW());
        var e = unsupported(new OnnxBuilder().input("x", 0, 1, 4, 4)
                .init("W", dims(1, 1, 3, 3), new float[9])
                .node("ConvTranspose", "up", List.of("x", "W"), List.of("y"), "strides", dims(2, 2),
                        "output_shape", dims(12, 9))
                .output("y"));
        assertContains(e.getMessage(), "output padding");
    }

    private Geometry2d convTransposeGeometry(String autoPad, long out) {
        OnnxBuilder b = new OnnxBuilder().input("x", 0, 1, 4, 4)
                .init("W", dims(1, 1, 3, 3), new float[9]);
        b = out > 0
                ? b.node("ConvTranspose", "up", List.of("x", "W"), List.of("y"), "strides", dims(2, 2), "auto_pad", autoPad,
                        "output_shape", dims(out, out))
                : b.node("ConvTranspose", "up", List.of("x", "W"), List.of("y"), "strides", dims(2, 2), "auto_pad", autoPad);
        Graph g = load(b.output("y", 0, 1, 8, 8));
        return ((Op.ConvTranspose2d) only(g).op()).geometry();
    }

    @Test
    void convTranspose1dAnd3d() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 6)
                .init("W", dims(3, 2, 4), new float[24])
                .node("ConvTranspose", "up", List.of("x", "W"), List.of("y"), "strides", dims(2), "pads", dims(1, 0),
                        "output_padding", dims(1))
                .output("y", 0, 2, 14));
        assertEquals(List.of("Reshape", "ConvTranspose2d", "Reshape"), types(g));
        Op.ConvTranspose2d c = (Op.ConvTranspose2d) node(g, "up").op();
        assertEquals(new Geometry2d(1, 2, 0, 1, 0, 0, 1, 1), c.geometry());
        assertEquals(0, c.outputPadH());
        assertEquals(1, c.outputPadW());
        var e = unsupported(new OnnxBuilder().input("x", 0, 1, 2, 2, 2)
                .init("W", dims(1, 1, 2, 2, 2), new float[8])
                .node("ConvTranspose", "up", List.of("x", "W"), List.of("y")).output("y"));
        assertEquals("3-D transposed convolution is not supported", e.getMessage());
    }

    // ================================================================ BatchNormalization

    private static OnnxBuilder batchNorm(long opset, Object... attrs) {
        return new OnnxBuilder().opset(opset).input("x", 0, 2, 3, 3)
                .init("s", dims(2), 2f, 0.5f).init("b", dims(2), 1f, -1f)
                .init("m", dims(2), 0.5f, 3f).init("v", dims(2), 4f, 0.25f)
                .node("BatchNormalization", "bn", List.of("x", "s", "b", "m", "v"), List.of("y"), attrs)
                .output("y", 0, 2, 3, 3);
    }

    @Test
    void batchNormalizationIsAPerChannelAffineMapInEveryOpset() {
        for (long opset : new long[] {6, 7, 9, 14, 15}) {
            Graph g = load(batchNorm(opset, "epsilon", 0.0f));
            Op.BatchNorm bn = (Op.BatchNorm) only(g).op();
            // scale = s / sqrt(v + eps), shift = b - m * scale
            assertArrayEquals(new float[] {1f, 1f}, bn.scale().data(), "opset " + opset);
            assertArrayEquals(new float[] {0.5f, -4f}, bn.shift().data(), "opset " + opset);
        }
        Op.BatchNorm eps = (Op.BatchNorm) only(load(batchNorm(15))).op();
        assertEquals((float) (2 / Math.sqrt(4 + (double) 1e-5f)), eps.scale().data()[0]);
        double sc = 0.5 / Math.sqrt(0.25 + (double) 1e-5f);
        assertEquals((float) (-1 - 3 * sc), eps.shift().data()[1]);
    }

    @Test
    void batchNormalizationTrainingAndSpatialAreUnsupported() {
        var spatial = unsupported(batchNorm(7, "spatial", 0L));
        assertContains(spatial.getMessage(), "spatial=0");
        assertEquals("node bn (BatchNormalization)", spatial.where());
        var training = unsupported(batchNorm(14, "training_mode", 1L));
        assertContains(training.getMessage(), "training");
        // unused extra outputs are fine; used ones are not
        Graph g = load(new OnnxBuilder().opset(9).input("x", 0, 2, 3, 3)
                .init("s", dims(2), 2f, 0.5f).init("b", dims(2), 1f, -1f)
                .init("m", dims(2), 0.5f, 3f).init("v", dims(2), 4f, 0.25f)
                .node("BatchNormalization", "bn", List.of("x", "s", "b", "m", "v"), List.of("y", "mean", "var"))
                .output("y"));
        assertEquals(List.of("BatchNorm"), types(g));
        var used = unsupported(new OnnxBuilder().opset(9).input("x", 0, 2, 3, 3)
                .init("s", dims(2), 2f, 0.5f).init("b", dims(2), 1f, -1f)
                .init("m", dims(2), 0.5f, 3f).init("v", dims(2), 4f, 0.25f)
                .node("BatchNormalization", "bn", List.of("x", "s", "b", "m", "v"), List.of("y", "mean"))
                .node("Add", "a", List.of("y", "mean"), List.of("z"))
                .output("z"));
        assertEquals("node a (Add)", used.where());
        assertContains(used.getMessage(), "output 1 ('mean') of node bn (BatchNormalization)");
        var channels = invalid(new OnnxBuilder().input("x", 0, 3, 3, 3)
                .init("s", dims(2), 2f, 0.5f).init("b", dims(2), 1f, -1f)
                .init("m", dims(2), 0.5f, 3f).init("v", dims(2), 4f, 0.25f)
                .node("BatchNormalization", "bn", List.of("x", "s", "b", "m", "v"), List.of("y"))
                .output("y"));
        assertContains(channels.getMessage(), "3 channels");
    }

    // ================================================================ activations

    @Test
    void activationsAndTheirDefaults() {
        Map<String, Op> expected = new java.util.LinkedHashMap<>();
        expected.put("Relu", new Op.Relu());
        expected.put("LeakyRelu", new Op.LeakyRelu(0.01f));
        expected.put("Elu", new Op.Elu(1f));
        expected.put("Sigmoid", new Op.Sigmoid());
        expected.put("Tanh", new Op.Tanh());
        expected.put("HardSigmoid", new Op.HardSigmoid(0.2f, 0.5f));
        expected.put("HardSwish", new Op.HardSwish());
        expected.forEach((type, op) -> {
            Graph g = load(new OnnxBuilder().opset(14).input("x", 0, 3).node(type, "a", List.of("x"), List.of("y"))
                    .output("y", 0, 3));
            assertEquals(op, only(g).op(), type);
        });
        assertEquals(new Op.LeakyRelu(0.2f), only(load(new OnnxBuilder().input("x", 0, 3)
                .node("LeakyRelu", "a", List.of("x"), List.of("y"), "alpha", 0.2f).output("y"))).op());
        assertEquals(new Op.Elu(0.5f), only(load(new OnnxBuilder().input("x", 0, 3)
                .node("Elu", "a", List.of("x"), List.of("y"), "alpha", 0.5f).output("y"))).op());
        assertEquals(new Op.HardSigmoid(0.3f, 0.4f), only(load(new OnnxBuilder().input("x", 0, 3)
                .node("HardSigmoid", "a", List.of("x"), List.of("y"), "alpha", 0.3f, "beta", 0.4f).output("y"))).op());
    }

    @Test
    void preluTakesAConstantSlope() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 2, 2)
                .init("k", dims(3, 1, 1), 0.1f, 0.2f, 0.3f)
                .node("PRelu", "p", List.of("x", "k"), List.of("y")).output("y"));
        assertEquals(Shape.of(3, 1, 1), ((Op.PRelu) only(g).op()).slope().shape());
        // opset 6: a 1-D slope is per channel
        Graph old = load(new OnnxBuilder().opset(6).input("x", 0, 3, 2, 2)
                .init("k", dims(3), 0.1f, 0.2f, 0.3f)
                .node("PRelu", "p", List.of("x", "k"), List.of("y")).output("y"));
        assertEquals(Shape.of(3, 1, 1), ((Op.PRelu) only(old).op()).slope().shape());
        var e = unsupported(new OnnxBuilder().input("x", 0, 3).input("k", 0, 3)
                .node("PRelu", "p", List.of("x", "k"), List.of("y")).output("y"));
        assertContains(e.getMessage(), "slope");
    }

    @Test
    void clipBoundsByOpset() {
        Graph six = load(new OnnxBuilder().opset(6).input("x", 0, 3)
                .node("Clip", "c", List.of("x"), List.of("y"), "min", -1f, "max", 6f).output("y"));
        assertEquals(new Op.Clip(-1f, 6f), only(six).op());
        Graph open = load(new OnnxBuilder().opset(6).input("x", 0, 3)
                .node("Clip", "c", List.of("x"), List.of("y"), "max", 6f).output("y"));
        assertEquals(new Op.Clip(Float.NEGATIVE_INFINITY, 6f), only(open).op());
        Graph eleven = load(new OnnxBuilder().opset(11).input("x", 0, 3)
                .init(scalar("lo", 0f)).init(scalar("hi", 6f))
                .node("Clip", "c", List.of("x", "lo", "hi"), List.of("y")).output("y"));
        assertEquals(new Op.Clip(0f, 6f), only(eleven).op());
        Graph maxOnly = load(new OnnxBuilder().opset(13).input("x", 0, 3)
                .init(scalar("hi", 6f))
                .node("Clip", "c", List.of("x", "", "hi"), List.of("y")).output("y"));
        assertEquals(new Op.Clip(Float.NEGATIVE_INFINITY, 6f), only(maxOnly).op());
        Graph none = load(new OnnxBuilder().opset(13).input("x", 0, 3)
                .node("Clip", "c", List.of("x"), List.of("y")).output("y"));
        assertEquals(new Op.Clip(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY), only(none).op());
        var e = unsupported(new OnnxBuilder().opset(13).input("x", 0, 3).input("m", 0, 3)
                .node("Clip", "c", List.of("x", "m"), List.of("y")).output("y"));
        assertEquals("node c (Clip)", e.where());
    }

    @Test
    void softmaxAxisDependsOnOpset() {
        assertEquals(new Op.Softmax(1, false), only(softmax(12, "Softmax", 0, 10)).op());
        assertEquals(new Op.Softmax(1, false), only(softmax(13, "Softmax", 0, 10)).op());
        assertEquals(new Op.LogSoftmax(2, false), only(softmax(13, "LogSoftmax", 0, 2, 5)).op());
        // before opset 13 the default axis is 1 and the softmax runs over all trailing axes
        assertEquals(new Op.Softmax(1, true), only(softmax(11, "Softmax", 0, 2, 5)).op());
        assertEquals(new Op.LogSoftmax(2, false), only(load(new OnnxBuilder().opset(11).input("x", 0, 2, 5)
                .node("LogSoftmax", "sm", List.of("x"), List.of("y"), "axis", -1L).output("y"))).op());
        assertEquals(new Op.Softmax(1, false), only(load(new OnnxBuilder().input("x", 0, 2, 5)
                .node("Softmax", "sm", List.of("x"), List.of("y"), "axis", -2L).output("y"))).op());
        var e = unsupported(new OnnxBuilder().input("x", 0, 2, 5)
                .node("Softmax", "sm", List.of("x"), List.of("y"), "axis", 0L).output("y"));
        assertEquals("node sm (Softmax)", e.where());
        assertContains(e.getMessage(), "batch");
        var range = invalid(new OnnxBuilder().input("x", 0, 2, 5)
                .node("Softmax", "sm", List.of("x"), List.of("y"), "axis", 3L).output("y"));
        assertContains(range.getMessage(), "out of range");
    }

    private Graph softmax(long opset, String op, long... dims) {
        return load(new OnnxBuilder().opset(opset).input("x", dims)
                .node(op, "sm", List.of("x"), List.of("y"))
                .output("y"));
    }

    // ================================================================ pooling

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
    void maxPoolCeilModeDilationsAndStorageOrder() {
        Graph g = load(new OnnxBuilder().opset(12).input("x", 0, 3, 8, 8)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2), "strides", dims(3, 3),
                        "dilations", dims(1, 2), "ceil_mode", 1L, "storage_order", 1L)
                .output("y", 0, 3, 3, 3));
        assertEquals(new Op.MaxPool2d(2, 2, new Geometry2d(3, 3, 0, 0, 0, 0, 1, 2), true), only(g).op());
        // the Indices output is not computed: used, it is unsupported
        var e = unsupported(new OnnxBuilder().input("x", 0, 3, 8, 8)
                .node("MaxPool", "pool", List.of("x"), List.of("y", "idx"), "kernel_shape", dims(2, 2))
                .output("y").output("idx"));
        assertEquals("output idx", e.where());
        assertContains(e.getMessage(), "output 1 ('idx') of node pool (MaxPool)");
        var same = unsupported(new OnnxBuilder().input("x", 0, 3, 8, 8)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2), "auto_pad", "SAME_UPPER",
                        "dilations", dims(2, 2))
                .output("y"));
        assertContains(same.getMessage(), "dilations");
        var pads = invalid(new OnnxBuilder().input("x", 0, 3, 8, 8)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2), "pads", dims(2, 0, 0, 0))
                .output("y"));
        assertContains(pads.getMessage(), "smaller than the kernel");
    }

    @Test
    void pooling1dRunsAs2dAnd3dIsUnsupported() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 10)
                .node("MaxPool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(3), "strides", dims(2),
                        "pads", dims(1, 1))
                .output("y", 0, 3, 5));
        assertEquals(List.of("Reshape", "MaxPool2d", "Reshape"), types(g));
        assertEquals(new Op.MaxPool2d(1, 3, new Geometry2d(1, 2, 0, 1, 0, 1, 1, 1)), node(g, "pool").op());
        Graph avg = load(new OnnxBuilder().input("x", 0, 3, 10)
                .node("AveragePool", "pool", List.of("x"), List.of("y"), "kernel_shape", dims(2), "ceil_mode", 1L,
                        "strides", dims(3))
                .output("y", 0, 3, 4));
        assertEquals(new Op.AvgPool2d(1, 2, new Geometry2d(1, 3, 0, 0, 0, 0, 1, 1), false, true), node(avg, "pool").op());
        var e = unsupported(new OnnxBuilder().input("x", 0, 3, 4, 4, 4)
                .node("MaxPool", "pool3", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2, 2)).output("y"));
        assertEquals("3-D pooling is not supported", e.getMessage());
        assertEquals("node pool3 (MaxPool)", e.where());
    }

    @Test
    void averagePoolCountIncludePadCeilModeAndAutoPad() {
        for (long include : new long[] {0, 1}) {
            Graph g = load(new OnnxBuilder().input("x", 0, 3, 8, 8)
                    .node("AveragePool", "avg", List.of("x"), List.of("y"), "kernel_shape", dims(3, 3),
                            "pads", dims(1, 1, 1, 1), "count_include_pad", include)
                    .output("y", 0, 3, 8, 8));
            Op.AvgPool2d p = (Op.AvgPool2d) only(g).op();
            assertEquals(include == 1, p.countIncludePad());
            assertEquals(new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), p.geometry());
        }
        Graph ceil = load(new OnnxBuilder().input("x", 0, 3, 8, 8)
                .node("AveragePool", "avg", List.of("x"), List.of("y"), "kernel_shape", dims(3, 3), "strides", dims(2, 2),
                        "ceil_mode", 1L)
                .output("y", 0, 3, 4, 4));
        assertTrue(((Op.AvgPool2d) only(ceil).op()).ceilMode());
        Graph same = load(new OnnxBuilder().input("x", 0, 3, 7, 7)
                .node("AveragePool", "avg", List.of("x"), List.of("y"), "kernel_shape", dims(2, 2), "strides", dims(2, 2),
                        "auto_pad", "SAME_LOWER")
                .output("y", 0, 3, 4, 4));
        assertEquals(new Geometry2d(2, 2, 1, 1, 0, 0, 1, 1), ((Op.AvgPool2d) only(same).op()).geometry());
    }

    @Test
    void globalPoolsAndFlatten() {
        Graph g = load(new OnnxBuilder().input("x", 0, 5, 4, 4)
                .node("GlobalAveragePool", "gap", List.of("x"), List.of("p"))
                .node("GlobalMaxPool", "gmp", List.of("x"), List.of("q"))
                .node("Add", "pq", List.of("p", "q"), List.of("s"))
                .node("Flatten", "flat", List.of("s"), List.of("f"))
                .init("W", dims(2, 5), iota(10))
                .node("Gemm", "fc", List.of("f", "W"), List.of("y"), "transB", 1L)
                .output("y", 0, 2));
        assertEquals(List.of(new Op.GlobalAvgPool(), new Op.GlobalMaxPool(), new Op.Add(), new Op.Flatten(1)),
                g.nodes().subList(0, 4).stream().map(Node::op).toList());
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
        var training = unsupported(new OnnxBuilder().opset(13).input("x", 0, 3)
                .init(TensorProto.newBuilder().setName("t").setDataType(9).addInt32Data(1).build())
                .node("Dropout", "drop", List.of("x", "", "t"), List.of("y")).output("y"));
        assertContains(training.getMessage(), "training");
    }

    @Test
    void twoOutputsOfOneValueAndAnIdentityOfTheInput() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("h"))
                .node("Identity", "a", List.of("h"), List.of("y1"))
                .node("Identity", "b", List.of("h"), List.of("y2"))
                .output("y1").output("y2"));
        // Every output keeps the model's name: the second one through an explicit copy.
        assertEquals(List.of("y1", "y2"), g.outputs());
        assertEquals(new Op.Reshape(0, 0), g.producer("y2").orElseThrow().op());
        Graph id = load(new OnnxBuilder().input("x", 0, 3)
                .node("Identity", "a", List.of("x"), List.of("y")).output("y"));
        assertEquals(List.of("y"), id.outputs());
        assertEquals(List.of("x"), id.producer("y").orElseThrow().inputs());
    }

    @Test
    void nodesOutOfOrderAreSortedAndUnnamedNodesGetOpAndIndex() {
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "", List.of("h"), List.of("y"))
                .node("Relu", "", List.of("x"), List.of("h"))
                .output("y"));
        assertEquals(List.of("Relu_1", "Relu_0"), g.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("x"), g.nodes().get(0).inputs());
        Graph dup = load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "same", List.of("x"), List.of("h"))
                .node("Relu", "same", List.of("h"), List.of("y"))
                .output("y"));
        assertEquals(2, dup.nodes().stream().map(Node::name).distinct().count());
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

package dev.glassbox.onnx;

import static dev.glassbox.onnx.OnnxBuilder.dims;
import static dev.glassbox.onnx.OnnxBuilder.iota;
import static dev.glassbox.onnx.OnnxBuilder.scalar;
import static dev.glassbox.onnx.OpConversionTest.assertContains;
import static dev.glassbox.onnx.OpConversionTest.node;
import static dev.glassbox.onnx.OpConversionTest.only;
import static dev.glassbox.onnx.OpConversionTest.types;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Ops that move values (Reshape, Squeeze, Concat, Slice, Split, Pad, Transpose, Expand, Gather,
 * Resize), the folding of PyTorch's shape arithmetic, and how the batch axis is kept.
 */
class ShapeConversionTest {
    private static final long INT64_MAX = Long.MAX_VALUE;
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

    // ================================================================ Reshape and Flatten

    @Test
    void reshapeWithInitializerShape() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .initLongs("shape", -1, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 24));
        assertEquals(new Op.Reshape(-1, 24), only(g).op());
        assertEquals(List.of(-1, 24), ((Op.Reshape) only(g).op()).shape());
    }

    @Test
    void reshapeWithConstantNodeShape() {
        TensorProto shape = OnnxBuilder.longTensor("", 0, 4, 6);
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Constant", "c", List.of(), List.of("shape"), "value", shape)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 4, 6));
        assertEquals(new Op.Reshape(0, 4, 6), only(g).op());
        Graph ints = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Constant", "c", List.of(), List.of("shape"), "value_ints", dims(0, -1))
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 24));
        assertEquals(new Op.Reshape(0, -1), only(ints).op());
    }

    @Test
    void reshapeFixingTheBatch() {
        // static batch 3: [3, 24] means "keep the batch"
        Graph g = load(new OnnxBuilder().input("x", 3, 2, 3, 4)
                .initLongs("shape", 3, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 3, 24));
        assertEquals(new Op.Reshape(0, 24), only(g).op());
        var e = unsupported(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .initLongs("shape", 1, 24)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y"));
        assertEquals("node rs (Reshape)", e.where());
        assertContains(e.getMessage(), "fixes the batch axis at 1 but the batch is dynamic");
        // -1 in front must come out as the batch
        var fold = unsupported(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .initLongs("shape", -1, 12)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y"));
        assertContains(fold.getMessage(), "folds items of the batch together");
        // with a static batch, reshaping across the batch is exact at that batch
        Graph across = load(new OnnxBuilder().input("x", 2, 3, 4)
                .initLongs("shape", 4, 6)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y", 4, 6));
        assertEquals(new Op.Reshape(4, 6), only(across).op());
    }

    @Test
    void reshapeAllowZero() {
        // allowzero=1 without a 0 (or with a 0 copying an empty dimension) changes nothing
        Graph g = load(new OnnxBuilder().opset(14).input("x", 0, 2, 3)
                .initLongs("shape", -1, 6)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"), "allowzero", 1L)
                .output("y", 0, 6));
        assertEquals(new Op.Reshape(-1, 6), only(g).op());
        var e = unsupported(new OnnxBuilder().opset(14).input("x", 0, 2, 3)
                .initLongs("shape", 0, 6)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"), "allowzero", 1L)
                .output("y"));
        assertContains(e.getMessage(), "allowzero");
        var bad = invalid(new OnnxBuilder().input("x", 0, 2, 3)
                .initLongs("shape", 0, 7)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y"));
        assertEquals("node rs (Reshape)", bad.where());
    }

    @Test
    void pytorchViewOfTheBatchSizeIsFoldedToACopyOfTheBatch() {
        // x.view(x.size(0), -1) as exported: Shape, Gather, Unsqueeze, Concat, Reshape
        for (long opset : new long[] {9, 11, 13}) {
            OnnxBuilder b = new OnnxBuilder().opset(opset).input("x", 0, 2, 3, 4)
                    .node("Shape", "shape", List.of("x"), List.of("s"))
                    .node("Constant", "zero", List.of(), List.of("i"), "value", OnnxBuilder.longTensorShaped("", dims(), 0))
                    .node("Gather", "gather", List.of("s", "i"), List.of("n"), "axis", 0L)
                    .initLongs("minus1", -1);
            b = opset < 13
                    ? b.node("Unsqueeze", "unsq", List.of("n"), List.of("n1"), "axes", dims(0))
                    : b.initLongs("ax", 0).node("Unsqueeze", "unsq", List.of("n", "ax"), List.of("n1"));
            Graph g = load(b.node("Concat", "cat", List.of("n1", "minus1"), List.of("shape2"), "axis", 0L)
                    .node("Reshape", "rs", List.of("x", "shape2"), List.of("y"))
                    .output("y", 0, 24));
            assertEquals(new Op.Reshape(0, -1), only(g).op(), "opset " + opset);
        }
    }

    @Test
    void batchSizeArithmeticIsRejectedWithADynamicBatch() {
        // x.view(x.size(0) * 2, -1): the batch mixed into the rows
        OnnxBuilder b = new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Shape", "shape", List.of("x"), List.of("s"))
                .initLongs("idx", 0).initLongs("two", 2).initLongs("minus1", -1)
                .node("Gather", "gather", List.of("s", "idx"), List.of("n"), "axis", 0L)
                .node("Mul", "twice", List.of("n", "two"), List.of("n2"))
                .node("Concat", "cat", List.of("n2", "minus1"), List.of("shape2"), "axis", 0L)
                .node("Reshape", "rs", List.of("x", "shape2"), List.of("y"))
                .output("y");
        var e = unsupported(b);
        assertEquals("node twice (Mul)", e.where());
        assertContains(e.getMessage(), "mixes the batch size");
        // the batch size on another axis
        var moved = unsupported(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Shape", "shape", List.of("x"), List.of("s"))
                .initLongs("idx", 0).initLongs("six", 6, 4)
                .node("Gather", "gather", List.of("s", "idx"), List.of("n"), "axis", 0L)
                .node("Concat", "cat", List.of("six", "n"), List.of("shape2"), "axis", 0L)
                .node("Reshape", "rs", List.of("x", "shape2"), List.of("y"))
                .output("y"));
        assertEquals("node rs (Reshape)", moved.where());
        assertContains(moved.getMessage(), "batch size on axis 2");
        // with a static batch the same arithmetic is plain numbers
        Graph g = load(new OnnxBuilder().input("x", 2, 2, 3, 4)
                .node("Shape", "shape", List.of("x"), List.of("s"))
                .initLongs("idx", 0).initLongs("two", 2).initLongs("minus1", -1)
                .node("Gather", "gather", List.of("s", "idx"), List.of("n"), "axis", 0L)
                .node("Mul", "twice", List.of("n", "two"), List.of("n2"))
                .node("Concat", "cat", List.of("n2", "minus1"), List.of("shape2"), "axis", 0L)
                .node("Reshape", "rs", List.of("x", "shape2"), List.of("y"))
                .output("y", 4, 12));
        assertEquals(new Op.Reshape(4, -1), only(g).op());
    }

    @Test
    void shapeWithStartAndEndAndOfAConstant() {
        Graph g = load(new OnnxBuilder().opset(15).input("x", 0, 2, 3, 4)
                .node("Shape", "shape", List.of("x"), List.of("s"), "start", 1L, "end", -1L) // [2, 3]
                .initLongs("minus1", -1)
                .node("Concat", "cat", List.of("minus1", "s"), List.of("t"), "axis", 0L)   // [-1, 2, 3]
                .init("k", dims(4, 2), iota(8))
                .node("Shape", "kshape", List.of("k"), List.of("ks"))                      // [4, 2]
                .node("Concat", "cat2", List.of("t", "ks"), List.of("t2"), "axis", 0L)     // [-1, 2, 3, 4, 2]
                .initLongs("one", 1, 1, 1, 1, 2)
                .node("Div", "half", List.of("t2", "one"), List.of("t3"))                // [-1, 2, 3, 4, 1]
                .node("Reshape", "rs", List.of("x", "t3"), List.of("y"))
                .output("y", 0, 2, 3, 4, 1));
        assertEquals(new Op.Reshape(-1, 2, 3, 4, 1), only(g).op());
    }

    @Test
    void constantOfShapeCastAndGatherFold() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3)
                .initLongs("dims", 2, 3)
                .node("ConstantOfShape", "zeros", List.of("dims"), List.of("z"), "value", OnnxBuilder.floatTensor("", dims(1), 1.5f))
                .node("Cast", "toint", List.of("z"), List.of("zi"), "to", 7L)         // [[1, 1, 1], [1, 1, 1]]
                .initLongs("idx", 1)
                .node("Gather", "col", List.of("zi", "idx"), List.of("c"), "axis", 1L) // [[1], [1]]
                .node("Cast", "tofloat", List.of("c"), List.of("cf"), "to", 1L)
                .node("Cast", "same", List.of("x"), List.of("xf"), "to", 1L)
                .node("Mul", "m", List.of("xf", "cf"), List.of("y"))
                .output("y", 0, 2, 3));
        assertEquals(List.of("Constant", "Mul"), types(g));
        HostTensor c = ((Op.Constant) g.nodes().get(0).op()).value();
        assertEquals(Shape.of(2, 1), c.shape());
        assertArrayEquals(new float[] {1, 1}, c.data());
        assertEquals(List.of("x", "cf"), node(g, "m").inputs());
        var e = unsupported(new OnnxBuilder().input("x", 0, 2)
                .node("Cast", "toint", List.of("x"), List.of("y"), "to", 7L).output("y"));
        assertContains(e.getMessage(), "int64");
    }

    @Test
    void flattenWithNegativeAxisAndUnitLeadingDims() {
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 3, 4)
                .node("Flatten", "flat", List.of("x"), List.of("y"), "axis", -2L)
                .output("y", 0, 12));
        assertEquals(new Op.Flatten(2), only(g).op());
        var e = unsupported(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Flatten", "flat", List.of("x"), List.of("y"), "axis", 2L)
                .output("y"));
        assertEquals("node flat (Flatten)", e.where());
        assertContains(e.getMessage(), "merges the batch axis");
        var zero = unsupported(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Flatten", "flat", List.of("x"), List.of("y"), "axis", 0L)
                .output("y"));
        assertEquals("node flat (Flatten)", zero.where());
    }

    // ================================================================ Squeeze, Unsqueeze, Transpose

    @Test
    void squeezeAndUnsqueezeAreReshapesWithAttributesOrInputs() {
        Graph eleven = load(new OnnxBuilder().opset(11).input("x", 0, 3, 1, 4)
                .node("Squeeze", "sq", List.of("x"), List.of("s"), "axes", dims(-2))
                .node("Unsqueeze", "unsq", List.of("s"), List.of("y"), "axes", dims(1, -1))
                .output("y", 0, 1, 3, 4, 1));
        assertEquals(List.of(new Op.Reshape(0, 3, 4), new Op.Reshape(0, 1, 3, 4, 1)),
                eleven.nodes().stream().map(Node::op).toList());
        Graph thirteen = load(new OnnxBuilder().opset(13).input("x", 0, 3, 1, 4, 1)
                .node("Squeeze", "sq", List.of("x"), List.of("s"))
                .initLongs("ax", 2)
                .node("Unsqueeze", "unsq", List.of("s", "ax"), List.of("y"))
                .output("y", 0, 3, 1, 4));
        assertEquals(List.of(new Op.Reshape(0, 3, 4), new Op.Reshape(0, 3, 1, 4)),
                thirteen.nodes().stream().map(Node::op).toList());
        var notOne = invalid(new OnnxBuilder().opset(11).input("x", 0, 3, 1, 4)
                .node("Squeeze", "sq", List.of("x"), List.of("s"), "axes", dims(1)).output("s"));
        assertContains(notOne.getMessage(), "cannot squeeze axis 1 of size 3");
        var front = unsupported(new OnnxBuilder().opset(11).input("x", 0, 3)
                .node("Unsqueeze", "unsq", List.of("x"), List.of("y"), "axes", dims(0)).output("y"));
        assertContains(front.getMessage(), "batch");
    }

    @Test
    void transposeKeepsOrMovesTheBatch() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3, 4)
                .node("Transpose", "t", List.of("x"), List.of("y"), "perm", dims(0, 3, 1, 2))
                .output("y", 0, 4, 2, 3));
        assertEquals(new Op.Transpose(List.of(0, 3, 1, 2)), only(g).op());
        // the default permutation reverses the axes: fine with a static batch
        Graph reverse = load(new OnnxBuilder().input("x", 2, 3, 4)
                .node("Transpose", "t", List.of("x"), List.of("y"))
                .output("y", 4, 3, 2));
        assertEquals(new Op.Transpose(List.of(2, 1, 0)), only(reverse).op());
        var e = unsupported(new OnnxBuilder().input("x", 0, 3, 4)
                .node("Transpose", "t", List.of("x"), List.of("y")).output("y"));
        assertContains(e.getMessage(), "moves the batch axis");
        var perm = invalid(new OnnxBuilder().input("x", 0, 3, 4)
                .node("Transpose", "t", List.of("x"), List.of("y"), "perm", dims(0, 1, 1)).output("y"));
        assertContains(perm.getMessage(), "not a permutation");
        // a transposed constant weight folds (PyTorch's Linear without bias at opset 6)
        Graph w = load(new OnnxBuilder().opset(6).input("x", 0, 3)
                .init("W", dims(2, 3), iota(6))
                .node("Transpose", "t", List.of("W"), List.of("Wt"), "perm", dims(1, 0))
                .node("MatMul", "mm", List.of("x", "Wt"), List.of("y"))
                .output("y", 0, 2));
        assertArrayEquals(iota(6), ((Op.Dense) only(w).op()).weight().data());
    }

    // ================================================================ Concat, Split, Slice, Gather

    @Test
    void concatWithNegativeAxisAndConstantInputs() {
        Graph g = load(new OnnxBuilder().input("x", 0, 2, 3).input("z", 0, 2, 1)
                .init("k", dims(1, 2, 2), iota(4))
                .node("Concat", "cat", List.of("x", "z"), List.of("y"), "axis", -1L)
                .output("y", 0, 2, 4));
        assertEquals(new Op.Concat(2, 2), only(g).op());
        // a constant part ties the batch: fine with a static batch of 1, as an Op.Constant node
        Graph c = load(new OnnxBuilder().input("x", 1, 2, 3)
                .init("k", dims(1, 2, 2), iota(4))
                .node("Concat", "cat", List.of("k", "x"), List.of("y"), "axis", 2L)
                .output("y", 1, 2, 5));
        assertEquals(List.of("Constant", "Concat"), types(c));
        assertEquals(List.of("k", "x"), node(c, "cat").inputs());
        var dyn = unsupported(new OnnxBuilder().input("x", 0, 2, 3)
                .init("k", dims(1, 2, 2), iota(4))
                .node("Concat", "cat", List.of("k", "x"), List.of("y"), "axis", 2L)
                .output("y"));
        assertEquals("node cat (Concat)", dyn.where());
        var batchAxis = unsupported(new OnnxBuilder().input("x", 0, 2, 3)
                .node("Concat", "cat", List.of("x", "x"), List.of("y"), "axis", 0L).output("y"));
        assertContains(batchAxis.getMessage(), "batch axis");
        var mismatch = invalid(new OnnxBuilder().input("x", 0, 2, 3).input("z", 0, 3, 3)
                .node("Concat", "cat", List.of("x", "z"), List.of("y"), "axis", 2L).output("y"));
        assertEquals("node cat (Concat)", mismatch.where());
    }

    @Test
    void splitIsOneSlicePerOutput() {
        OnnxBuilder[] variants = {
            new OnnxBuilder().opset(11).input("x", 0, 6, 2)
                    .node("Split", "sp", List.of("x"), List.of("a", "b"), "axis", 1L, "split", dims(2, 4)),
            new OnnxBuilder().opset(13).input("x", 0, 6, 2).initLongs("s", 2, 4)
                    .node("Split", "sp", List.of("x", "s"), List.of("a", "b"), "axis", -2L),
        };
        for (OnnxBuilder b : variants) {
            Graph g = load(b.output("a", 0, 2, 2).output("b", 0, 4, 2));
            assertEquals(List.of(new Op.Slice(List.of(0), List.of(2), List.of(1), List.of(1)),
                    new Op.Slice(List.of(2), List.of(6), List.of(1), List.of(1))), g.nodes().stream().map(Node::op).toList());
            assertEquals(List.of("sp", "sp/1"), g.nodes().stream().map(Node::name).toList());
            assertEquals(List.of("a", "b"), g.outputs());
        }
        Graph equal = load(new OnnxBuilder().input("x", 0, 6, 2)
                .node("Split", "sp", List.of("x"), List.of("a", "b", "c"), "axis", 1L)
                .output("a").output("c"));
        assertEquals(3, equal.nodes().size());
        var uneven = invalid(new OnnxBuilder().input("x", 0, 5, 2)
                .node("Split", "sp", List.of("x"), List.of("a", "b"), "axis", 1L).output("a"));
        assertContains(uneven.getMessage(), "equal parts");
        var sum = invalid(new OnnxBuilder().opset(11).input("x", 0, 5, 2)
                .node("Split", "sp", List.of("x"), List.of("a", "b"), "axis", 1L, "split", dims(2, 2)).output("a"));
        assertContains(sum.getMessage(), "do not add up to 5");
        var batch = unsupported(new OnnxBuilder().input("x", 0, 5, 2)
                .node("Split", "sp", List.of("x"), List.of("a", "b")).output("a"));
        assertContains(batch.getMessage(), "batch axis");
    }

    @Test
    void sliceParametersByOpset() {
        Graph nine = load(new OnnxBuilder().opset(9).input("x", 0, 5, 6)
                .node("Slice", "sl", List.of("x"), List.of("y"), "starts", dims(1, -3), "ends", dims(INT64_MAX, -1),
                        "axes", dims(1, 2))
                .output("y", 0, 4, 2));
        assertEquals(new Op.Slice(List.of(1, -3), List.of(Integer.MAX_VALUE, -1), List.of(1, 2), List.of(1, 1)),
                only(nine).op());
        Graph thirteen = load(new OnnxBuilder().input("x", 0, 5, 6)
                .initLongs("s", -1, 0).initLongs("e", Long.MIN_VALUE, INT64_MAX).initLongs("a", -2, 2).initLongs("t", -2, 3)
                .node("Slice", "sl", List.of("x", "s", "e", "a", "t"), List.of("y"))
                .output("y", 0, 3, 2));
        assertEquals(new Op.Slice(List.of(-1, 0), List.of(Integer.MIN_VALUE, Integer.MAX_VALUE), List.of(1, 2),
                List.of(-2, 3)), only(thirteen).op());
        // the whole batch axis is no slice at all
        Graph whole = load(new OnnxBuilder().input("x", 0, 5, 6)
                .initLongs("s", 0, 1).initLongs("e", INT64_MAX, 3).initLongs("a", 0, 1)
                .node("Slice", "sl", List.of("x", "s", "e", "a"), List.of("y"))
                .output("y", 0, 2, 6));
        assertEquals(new Op.Slice(List.of(1), List.of(3), List.of(1), List.of(1)), only(whole).op());
        var batch = unsupported(new OnnxBuilder().input("x", 0, 5, 6)
                .initLongs("s", 1).initLongs("e", 2).initLongs("a", 0)
                .node("Slice", "sl", List.of("x", "s", "e", "a"), List.of("y")).output("y"));
        assertContains(batch.getMessage(), "batch axis");
        var step = invalid(new OnnxBuilder().input("x", 0, 5, 6)
                .initLongs("s", 1).initLongs("e", 2).initLongs("a", 1).initLongs("t", 0)
                .node("Slice", "sl", List.of("x", "s", "e", "a", "t"), List.of("y")).output("y"));
        assertContains(step.getMessage(), "step 0");
        // slicing a constant folds
        Graph folded = load(new OnnxBuilder().input("x", 0, 3)
                .init("k", dims(2, 3), iota(6)).initLongs("s", 1).initLongs("e", 2).initLongs("a", 0)
                .node("Slice", "sl", List.of("k", "s", "e", "a"), List.of("k1"))
                .node("Add", "p", List.of("x", "k1"), List.of("y"))
                .output("y", 0, 3));
        assertArrayEquals(new float[] {3, 4, 5}, ((Op.Constant) folded.nodes().get(0).op()).value().data());
    }

    @Test
    void gatherOfConstantIndicesFromAnActivationSlices() {
        // x[:, 1] as exported: Gather with a scalar index
        Graph g = load(new OnnxBuilder().input("x", 0, 3, 4)
                .init(OnnxBuilder.longTensorShaped("i", dims(), 1))
                .node("Gather", "g", List.of("x", "i"), List.of("y"), "axis", 1L)
                .output("y", 0, 4));
        assertEquals(List.of(new Op.Slice(List.of(1), List.of(2), List.of(1), List.of(1)), new Op.Reshape(0, 4)),
                g.nodes().stream().map(Node::op).toList());
        Graph list = load(new OnnxBuilder().input("x", 0, 3, 4)
                .initLongs("i", 3, 1, 2)
                .node("Gather", "g", List.of("x", "i"), List.of("y"), "axis", -1L)
                .output("y", 0, 3, 3));
        assertEquals(List.of("Slice", "Slice", "Slice", "Concat"), types(list));
        Graph range = load(new OnnxBuilder().input("x", 0, 3, 4)
                .initLongs("i", 2, 1, 0)
                .node("Gather", "g", List.of("x", "i"), List.of("y"), "axis", 2L)
                .output("y", 0, 3, 3));
        assertEquals(new Op.Slice(List.of(2), List.of(Integer.MIN_VALUE), List.of(2), List.of(-1)), only(range).op());
        var out = invalid(new OnnxBuilder().input("x", 0, 3, 4)
                .initLongs("i", 4)
                .node("Gather", "g", List.of("x", "i"), List.of("y"), "axis", 2L).output("y"));
        assertContains(out.getMessage(), "out of range");
        var dyn = unsupported(new OnnxBuilder().input("x", 0, 3, 4).input("i", 0, 2)
                .node("Gather", "g", List.of("x", "i"), List.of("y"), "axis", 2L).output("y"));
        assertContains(dyn.getMessage(), "must be a constant");
    }

    // ================================================================ Pad, Expand, Reduce

    @Test
    void padByOpsetAndMode() {
        Graph two = load(new OnnxBuilder().opset(7).input("x", 0, 3, 4)
                .node("Pad", "p", List.of("x"), List.of("y"), "pads", dims(0, 1, 0, 0, 2, 1), "value", 0.5f)
                .output("y", 0, 6, 5));
        assertEquals(new Op.Pad(List.of(0, 1, 0, 0, 2, 1), 0.5f), only(two).op());
        Graph eleven = load(new OnnxBuilder().opset(11).input("x", 0, 3, 4)
                .initLongs("pads", 0, 0, -1, 0, 1, 0).init(scalar("v", -2f))
                .node("Pad", "p", List.of("x", "pads", "v"), List.of("y"))
                .output("y", 0, 4, 3));
        assertEquals(new Op.Pad(List.of(0, 0, -1, 0, 1, 0), -2f), only(eleven).op());
        var reflect = unsupported(new OnnxBuilder().opset(11).input("x", 0, 3, 4)
                .initLongs("pads", 0, 0, 1, 0, 0, 1)
                .node("Pad", "p", List.of("x", "pads"), List.of("y"), "mode", "reflect").output("y"));
        assertEquals("Pad mode 'reflect' is not supported; only constant", reflect.getMessage());
        assertEquals("node p (Pad)", reflect.where());
        var batch = unsupported(new OnnxBuilder().opset(11).input("x", 0, 3, 4)
                .initLongs("pads", 1, 0, 0, 0, 0, 0)
                .node("Pad", "p", List.of("x", "pads"), List.of("y")).output("y"));
        assertContains(batch.getMessage(), "batch axis");
    }

    @Test
    void expandOfActivationsAndConstants() {
        Graph g = load(new OnnxBuilder().input("x", 0, 1, 3)
                .initLongs("shape", 1, 4, 3)
                .node("Expand", "e", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 4, 3));
        assertEquals(new Op.Expand(List.of(1, 4, 3)), only(g).op());
        // the batch size from Shape becomes 1: broadcasting keeps the batch
        Graph fromShape = load(new OnnxBuilder().input("x", 0, 1, 3)
                .node("Shape", "s", List.of("x"), List.of("sx"))
                .initLongs("idx", 0).initLongs("rest", 4, 3)
                .node("Gather", "g", List.of("sx", "idx"), List.of("n"))
                .node("Concat", "c", List.of("n", "rest"), List.of("shape"), "axis", 0L)
                .node("Expand", "e", List.of("x", "shape"), List.of("y"))
                .output("y", 0, 4, 3));
        assertEquals(new Op.Expand(List.of(1, 4, 3)), only(fromShape).op());
        Graph constant = load(new OnnxBuilder().input("x", 0, 2, 3)
                .init("k", dims(3), 1f, 2f, 3f).initLongs("shape", 2, 1)
                .node("Expand", "e", List.of("k", "shape"), List.of("k2"))
                .node("Add", "a", List.of("x", "k2"), List.of("y"))
                .output("y", 0, 2, 3));
        HostTensor k2 = ((Op.Constant) constant.nodes().get(0).op()).value();
        assertEquals(Shape.of(2, 3), k2.shape());
        assertArrayEquals(new float[] {1, 2, 3, 1, 2, 3}, k2.data());
        var batchConst = unsupported(new OnnxBuilder().input("x", 0, 2)
                .init("k", dims(1, 2), 1f, 2f)
                .node("Shape", "s", List.of("x"), List.of("shape"))
                .node("Expand", "e", List.of("k", "shape"), List.of("y")).output("y"));
        assertContains(batchConst.getMessage(), "batch-sized constant");
    }

    @Test
    void reductions() {
        Graph mean = load(new OnnxBuilder().opset(11).input("x", 0, 2, 3, 4)
                .node("ReduceMean", "m", List.of("x"), List.of("y"), "axes", dims(-1, 2), "keepdims", 0L)
                .output("y", 0, 2));
        assertEquals(new Op.ReduceMean(List.of(2, 3), false), only(mean).op());
        Graph sum = load(new OnnxBuilder().opset(13).input("x", 0, 2, 3, 4)
                .initLongs("ax", 1)
                .node("ReduceSum", "s", List.of("x", "ax"), List.of("y"))
                .output("y", 0, 1, 3, 4));
        assertEquals(new Op.ReduceSum(List.of(1), true), only(sum).op());
        Graph noop = load(new OnnxBuilder().opset(13).input("x", 0, 2, 3, 4)
                .node("ReduceSum", "s", List.of("x"), List.of("r"), "noop_with_empty_axes", 1L)
                .node("Relu", "relu", List.of("r"), List.of("y"))
                .output("y", 0, 2, 3, 4));
        assertEquals(List.of("x"), only(noop).inputs());
        var all = unsupported(new OnnxBuilder().opset(13).input("x", 0, 2, 3, 4)
                .node("ReduceSum", "s", List.of("x"), List.of("y")).output("y"));
        assertContains(all.getMessage(), "batch axis");
        Graph allStatic = load(new OnnxBuilder().opset(11).input("x", 2, 3)
                .node("ReduceMean", "m", List.of("x"), List.of("y"), "keepdims", 0L)
                .output("y"));
        assertEquals(new Op.ReduceMean(List.of(0, 1), false), only(allStatic).op());
        var twice = invalid(new OnnxBuilder().opset(11).input("x", 0, 2, 3)
                .node("ReduceMean", "m", List.of("x"), List.of("y"), "axes", dims(1, -2)).output("y"));
        assertContains(twice.getMessage(), "given twice");
    }

    // ================================================================ Upsample and Resize

    @Test
    void upsampleNearestByOpset() {
        Graph seven = load(new OnnxBuilder().opset(7).input("x", 0, 2, 3, 4)
                .node("Upsample", "up", List.of("x"), List.of("y"), "scales", new float[] {1, 1, 2, 3})
                .output("y", 0, 2, 6, 12));
        Op.ResizeNearest r = (Op.ResizeNearest) only(seven).op();
        assertEquals(List.of(1f, 1f, 2f, 3f), r.scales());
        assertEquals(List.of(-1, -1, -1, -1), r.sizes());
        assertEquals(Op.ResizeNearest.CoordinateMode.ASYMMETRIC, r.coordinateMode());
        assertEquals(Op.ResizeNearest.NearestMode.FLOOR, r.nearestMode());
        Graph nine = load(new OnnxBuilder().opset(9).input("x", 0, 2, 3, 4)
                .init("s", dims(4), 1f, 1f, 2f, 2f)
                .node("Upsample", "up", List.of("x", "s"), List.of("y"))
                .output("y", 0, 2, 6, 8));
        assertEquals(List.of(1f, 1f, 2f, 2f), ((Op.ResizeNearest) only(nine).op()).scales());
        var linear = unsupported(new OnnxBuilder().opset(9).input("x", 0, 2, 3, 4)
                .init("s", dims(4), 1f, 1f, 2f, 2f)
                .node("Upsample", "up", List.of("x", "s"), List.of("y"), "mode", "linear").output("y"));
        assertEquals("Upsample mode 'linear' is not supported; only nearest", linear.getMessage());
        var batch = unsupported(new OnnxBuilder().opset(9).input("x", 0, 2, 3, 4)
                .init("s", dims(4), 2f, 1f, 2f, 2f)
                .node("Upsample", "up", List.of("x", "s"), List.of("y")).output("y"));
        assertContains(batch.getMessage(), "batch axis");
    }

    @Test
    void resizeByOpset() {
        // opset 10: asymmetric; shrinking rounds up (as ONNX Runtime)
        Graph ten = load(new OnnxBuilder().opset(10).input("x", 0, 2, 4, 6)
                .init("s", dims(4), 1f, 1f, 0.5f, 0.5f)
                .node("Resize", "rs", List.of("x", "s"), List.of("y"))
                .output("y", 0, 2, 2, 3));
        Op.ResizeNearest r10 = (Op.ResizeNearest) only(ten).op();
        assertEquals(Op.ResizeNearest.CoordinateMode.ASYMMETRIC, r10.coordinateMode());
        assertEquals(Op.ResizeNearest.NearestMode.CEIL, r10.nearestMode());
        // opset 11: sizes (with an empty scales), modes from the attributes
        Graph eleven = load(new OnnxBuilder().opset(11).input("x", 1, 2, 4, 6)
                .init("roi", dims(0)).init("scales", dims(0)).initLongs("sizes", 1, 2, 7, 4)
                .node("Resize", "rs", List.of("x", "roi", "scales", "sizes"), List.of("y"),
                        "coordinate_transformation_mode", "align_corners", "nearest_mode", "floor")
                .output("y", 1, 2, 7, 4));
        Op.ResizeNearest r11 = (Op.ResizeNearest) only(eleven).op();
        assertEquals(List.of(-1, -1, 7, 4), r11.sizes());
        assertEquals(List.of(1f, 1f, 7f / 4, 4f / 6), r11.scales());
        assertEquals(Op.ResizeNearest.CoordinateMode.ALIGN_CORNERS, r11.coordinateMode());
        assertEquals(Op.ResizeNearest.NearestMode.FLOOR, r11.nearestMode());
        // opset 13: scales alone, defaults half_pixel and round_prefer_floor
        Graph thirteen = load(new OnnxBuilder().opset(13).input("x", 0, 2, 4, 6)
                .init("s", dims(4), 1f, 1f, 2f, 1.5f)
                .node("Resize", "rs", List.of("x", "", "s"), List.of("y"))
                .output("y", 0, 2, 8, 9));
        Op.ResizeNearest r13 = (Op.ResizeNearest) only(thirteen).op();
        assertEquals(Op.ResizeNearest.CoordinateMode.HALF_PIXEL, r13.coordinateMode());
        assertEquals(Op.ResizeNearest.NearestMode.ROUND_PREFER_FLOOR, r13.nearestMode());
        for (String mode : List.of("linear", "cubic")) {
            var e = unsupported(new OnnxBuilder().opset(13).input("x", 0, 2, 4, 6)
                    .init("s", dims(4), 1f, 1f, 2f, 1.5f)
                    .node("Resize", "rs", List.of("x", "", "s"), List.of("y"), "mode", mode).output("y"));
            assertEquals("Resize mode '" + mode + "' is not supported; only nearest", e.getMessage());
        }
        var crop = unsupported(new OnnxBuilder().opset(13).input("x", 0, 2, 4, 6)
                .init("s", dims(4), 1f, 1f, 2f, 1.5f)
                .node("Resize", "rs", List.of("x", "", "s"), List.of("y"),
                        "coordinate_transformation_mode", "tf_crop_and_resize").output("y"));
        assertContains(crop.getMessage(), "tf_crop_and_resize");
        var both = invalid(new OnnxBuilder().opset(13).input("x", 0, 2, 4, 6)
                .node("Resize", "rs", List.of("x"), List.of("y")).output("y"));
        assertContains(both.getMessage(), "exactly one of scales and sizes");
    }

    @Test
    void resizeToSizesFromShapeKeepsTheBatch() {
        // F.interpolate(x, size=...) as exported: sizes = Concat(Shape(x)[:2], [8, 12])
        Graph g = load(new OnnxBuilder().opset(13).input("x", 0, 2, 4, 6)
                .node("Shape", "s", List.of("x"), List.of("sx"))
                .initLongs("st", 0).initLongs("en", 2).initLongs("ax", 0).initLongs("hw", 8, 12)
                .node("Slice", "sl", List.of("sx", "st", "en", "ax"), List.of("nc"))
                .node("Concat", "c", List.of("nc", "hw"), List.of("sizes"), "axis", 0L)
                .node("Resize", "rs", List.of("x", "", "", "sizes"), List.of("y"))
                .output("y", 0, 2, 8, 12));
        Op.ResizeNearest r = (Op.ResizeNearest) only(g).op();
        assertEquals(List.of(-1, -1, 8, 12), r.sizes());
        assertEquals(List.of(1f, 1f, 2f, 2f), r.scales());
    }
}

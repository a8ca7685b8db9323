package dev.glassbox.onnx;

import static dev.glassbox.onnx.OnnxBuilder.dims;
import static dev.glassbox.onnx.OnnxBuilder.iota;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import shade.com.google.protobuf.ByteString;

/** Broken, hostile and unsupported models: one clear exception naming the thing at fault. */
class MalformedModelTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    private static OnnxBuilder mlp() {
        return new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 3), iota(6)).init("C", dims(2), 1f, 2f)
                .node("Gemm", "fc", List.of("x", "W", "C"), List.of("h"), "transB", 1L)
                .node("Relu", "relu", List.of("h"), List.of("y"))
                .output("y");
    }

    private <T extends GlassboxException> T fails(Class<T> type, OnnxBuilder b) {
        return assertThrows(type, () -> loader.load(b.bytes(), "bad.onnx"));
    }

    private static void assertOneLine(GlassboxException e) {
        assertTrue(!e.describe().contains("\n"), e.describe());
    }

    @Test
    void theValidBaselineLoads() {
        assertEquals(2, loader.load(mlp().bytes(), "ok.onnx").nodes().size());
    }

    @Test
    void truncatedBytes() {
        byte[] whole = mlp().bytes();
        for (int cut : new int[] {whole.length / 2, whole.length - 1, 3}) {
            byte[] part = Arrays.copyOf(whole, cut);
            var e = assertThrows(InvalidInputException.class, () -> loader.load(part, "cut.onnx"));
            assertTrue(e.getMessage().startsWith("not a valid ONNX model: "), e.getMessage());
            assertEquals("cut.onnx", e.where());
            assertOneLine(e);
        }
    }

    @Test
    void randomAndEmptyBytes() {
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] junk = new byte[1 + random.nextInt(2000)];
            random.nextBytes(junk);
            var e = assertThrows(InvalidInputException.class, () -> loader.load(junk, "junk.onnx"));
            assertOneLine(e);
        }
        var e = assertThrows(InvalidInputException.class, () -> loader.load(new byte[0], "empty.onnx"));
        assertEquals("empty.onnx", e.where());
    }

    @Test
    void unknownOp() {
        var e = fails(UnsupportedFeatureException.class, mlp()
                .node("Foo", "weird", List.of("y"), List.of("z")).output("z"));
        assertEquals("unsupported op Foo", e.getMessage());
        assertEquals("node weird (Foo)", e.where());
        var unnamed = fails(UnsupportedFeatureException.class, mlp()
                .node("Foo", "", List.of("y"), List.of("z")).output("z"));
        assertEquals("node Foo_2 (Foo)", unnamed.where());
        var domain = fails(UnsupportedFeatureException.class, mlp().node(NodeProto.newBuilder().setOpType("Relu")
                .setDomain("com.example").setName("custom").addInput("y").addOutput("z")).output("z"));
        assertEquals("node custom (com.example.Relu)", domain.where());
    }

    @Test
    void missingInitializer() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", e.where());
        assertTrue(e.getMessage().contains("'W'") && e.getMessage().contains("missing initializer"), e.getMessage());
        // a weight fed as a graph input instead of stored in the file
        var fed = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3).input("W", 0, 3)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", fed.where());
        assertTrue(fed.getMessage().contains("missing initializer"), fed.getMessage());
    }

    @Test
    void cycle() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "a", List.of("x"), List.of("p"))
                .node("Add", "b", List.of("p", "r"), List.of("q"))
                .node("Relu", "c", List.of("q"), List.of("r"))
                .output("r"));
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
        assertTrue(e.where().equals("node b (Add)") || e.where().equals("node c (Relu)"), e.where());
    }

    @Test
    void valueDefinedTwice() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "a", List.of("x"), List.of("y"))
                .node("Relu", "b", List.of("x"), List.of("y"))
                .output("y"));
        assertEquals("node b (Relu)", e.where());
    }

    @Test
    void gemmWeightDisagreesWithIncomingFeatures() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(2, 4), iota(8))
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", e.where());
        assertTrue(e.getMessage().contains("expects 4 input features, got 3"), e.getMessage());
        assertOneLine(e);
    }

    @Test
    void convChannelsDisagreeWithWeight() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3, 8, 8)
                .init("W", dims(4, 2, 3, 3), new float[4 * 2 * 9])
                .node("Conv", "conv1", List.of("x", "W"), List.of("y"))
                .output("y"));
        assertEquals("node conv1 (Conv)", e.where());
        assertTrue(e.getMessage().contains("expects 2 input channels, got 3"), e.getMessage());
    }

    @Test
    void convWindowLargerThanInput() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 1, 2, 2)
                .init("W", dims(1, 1, 3, 3), new float[9])
                .node("Conv", "conv1", List.of("x", "W"), List.of("y"))
                .output("y"));
        assertEquals("node conv1 (Conv)", e.where());
    }

    @Test
    void declaredOutputShapeDisagrees() {
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("y"))
                .output("y", 0, 4));
        assertEquals("output y", e.where());
    }

    @Test
    void initializerDeclaringFarMoreThanItHolds() {
        // 100000 x 100000 floats declared (40 GB), 4 bytes present: rejected without allocating
        var raw = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 100000)
                .init("W", dims(100000, 100000), 1f)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", raw.where());
        assertTrue(raw.getMessage().contains("'W'"), raw.getMessage());
        var typed = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 30000)
                .initFloatData("W", dims(30000, 30000), 1f, 2f)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", typed.where());
        var huge = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(1L << 40, 3), 1f)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", huge.where());
    }

    @Test
    void reshapeShapeTensorShorterThanDeclared() {
        TensorProto shape = TensorProto.newBuilder().setName("shape").setDataType(7).addDims(1000000)
                .setRawData(ByteString.copyFrom(new byte[16])).build();
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 2, 3)
                .init(shape)
                .node("Reshape", "rs", List.of("x", "shape"), List.of("y"))
                .output("y"));
        assertEquals("node rs (Reshape)", e.where());
    }

    @Test
    void oldOpsetAndMissingGraphParts() {
        var old = fails(UnsupportedFeatureException.class, mlp().opset(6));
        assertEquals("bad.onnx", old.where());
        var noInputs = fails(InvalidInputException.class, new OnnxBuilder()
                .node("Constant", "c", List.of(), List.of("y"), "value", OnnxBuilder.floatTensor("", dims(1), 1f))
                .output("y"));
        assertEquals("bad.onnx", noInputs.where());
        var symbolic = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, -1)
                .node("Relu", "r", List.of("x"), List.of("y")).output("y"));
        assertEquals("input x", symbolic.where());
    }

    @Test
    void secondOutputsAreNotComputed() {
        var e = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Dropout", "drop", List.of("x"), List.of("d", "mask"))
                .node("Relu", "r", List.of("mask"), List.of("y"))
                .output("y"));
        assertEquals("node r (Relu)", e.where());
        assertTrue(e.getMessage().contains("mask"), e.getMessage());
    }
}

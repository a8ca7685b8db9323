package dev.glassbox.onnx;

import static dev.glassbox.onnx.OnnxBuilder.dims;
import static dev.glassbox.onnx.OnnxBuilder.iota;
import static dev.glassbox.onnx.OpConversionTest.assertContains;
import static dev.glassbox.onnx.OpConversionTest.only;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Op;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import shade.com.google.protobuf.ByteString;

/** Initializer encodings, external data, operator set imports and declared shapes. */
class ModelFileTest {
    private final OnnxModelLoader loader = new OnnxModelLoader();

    private Graph load(OnnxBuilder b) {
        return loader.load(b.bytes(), "test.onnx");
    }

    /** A Gemm whose weight W [2, 3] is the given tensor. */
    private static OnnxBuilder gemmWith(TensorProto w) {
        return new OnnxBuilder().input("x", 0, 3).init(w)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L).output("y", 0, 2);
    }

    private float[] weight(TensorProto w) {
        return ((Op.Dense) only(load(gemmWith(w))).op()).weight().data();
    }

    private static TensorProto.Builder tensor(int type) {
        return TensorProto.newBuilder().setName("W").setDataType(type).addDims(2).addDims(3);
    }

    private static ByteString raw(int width, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (width) {
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return ByteString.copyFrom(b.array());
    }

    @Test
    void floatingPointInitializersInEveryEncoding() {
        float[] expected = {0, 1, 2, 3, 4, 5};
        // float16 of 0..5: 0x0000, 0x3C00, 0x4000, 0x4200, 0x4400, 0x4500
        long[] half = {0x0000, 0x3C00, 0x4000, 0x4200, 0x4400, 0x4500};
        assertArrayEquals(expected, weight(tensor(10).setRawData(raw(2, half)).build()));
        TensorProto.Builder halfTyped = tensor(10);
        for (long h : half) {
            halfTyped.addInt32Data((int) h);
        }
        assertArrayEquals(expected, weight(halfTyped.build()));
        // bfloat16: the upper half of the float bits
        long[] bf = new long[6];
        for (int i = 0; i < 6; i++) {
            bf[i] = Float.floatToIntBits(i) >>> 16;
        }
        assertArrayEquals(expected, weight(tensor(16).setRawData(raw(2, bf)).build()));
        long[] dbl = new long[6];
        for (int i = 0; i < 6; i++) {
            dbl[i] = Double.doubleToLongBits(i);
        }
        assertArrayEquals(expected, weight(tensor(11).setRawData(raw(8, dbl)).build()));
        TensorProto.Builder dblTyped = tensor(11);
        for (int i = 0; i < 6; i++) {
            dblTyped.addDoubleData(i);
        }
        assertArrayEquals(expected, weight(dblTyped.build()));
        var str = assertThrows(UnsupportedFeatureException.class, () -> weight(tensor(8).addStringData(ByteString.EMPTY).build()));
        assertContains(str.getMessage(), "string");
    }

    @Test
    void integerInitializersServeAsShapesAndAsConstants() {
        for (TensorProto shape : List.of(
                TensorProto.newBuilder().setName("s").setDataType(6).addDims(2).addInt32Data(0).addInt32Data(-1).build(),
                TensorProto.newBuilder().setName("s").setDataType(6).addDims(2).setRawData(raw(4, 0, -1)).build(),
                TensorProto.newBuilder().setName("s").setDataType(7).addDims(2).setRawData(raw(8, 0, -1)).build())) {
            Graph g = load(new OnnxBuilder().input("x", 0, 2, 3).init(shape)
                    .node("Reshape", "rs", List.of("x", "s"), List.of("y")).output("y", 0, 6));
            assertEquals(new Op.Reshape(0, -1), only(g).op());
        }
        Graph g = load(new OnnxBuilder().input("x", 0, 3)
                .init(TensorProto.newBuilder().setName("k").setDataType(3).addDims(3).setRawData(
                        ByteString.copyFrom(new byte[] {-1, 2, 127})).build())
                .node("Mul", "m", List.of("x", "k"), List.of("y")).output("y", 0, 3));
        assertArrayEquals(new float[] {-1, 2, 127}, ((Op.Constant) g.nodes().get(0).op()).value().data());
    }

    private static TensorProto external(String location, long offset, long length) {
        TensorProto.Builder t = TensorProto.newBuilder().setName("W").setDataType(1).addDims(2).addDims(3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
        if (offset >= 0) {
            t.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)));
        }
        if (length >= 0) {
            t.addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(length)));
        }
        return t.build();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private Graph loadFile(Path dir, TensorProto w) throws IOException {
        Path model = dir.resolve("model.onnx");
        Files.write(model, gemmWith(w).bytes());
        return loader.load(Files.readAllBytes(model), model.toString());
    }

    @Test
    void externalDataIsReadNextToTheModel(@TempDir Path dir) throws IOException {
        byte[] data = new byte[8 + 24];
        System.arraycopy(floats(iota(6)), 0, data, 8, 24);
        Files.createDirectories(dir.resolve("data"));
        Files.write(dir.resolve("data/weights.bin"), data);
        Graph g = loadFile(dir, external("data/weights.bin", 8, 24));
        assertArrayEquals(iota(6), ((Op.Dense) only(g).op()).weight().data());
        Files.write(dir.resolve("w.bin"), floats(iota(6)));
        Graph whole = loadFile(dir, external("w.bin", -1, -1));
        assertArrayEquals(iota(6), ((Op.Dense) only(whole).op()).weight().data());
    }

    @Test
    void externalDataMustStayInsideTheModelDirectoryAndTheFile(@TempDir Path root) throws IOException {
        Path dir = Files.createDirectories(root.resolve("model"));
        Files.write(root.resolve("outside.bin"), floats(iota(6)));
        Files.write(dir.resolve("w.bin"), floats(iota(6)));
        for (TensorProto bad : List.of(
                external("../outside.bin", 0, 24),
                external(root.resolve("outside.bin").toString(), 0, 24),
                external("missing.bin", 0, 24),
                external("w.bin", 4, 24),           // runs past the end of the file
                external("w.bin", 1L << 40, 24),    // offset beyond the file
                external("w.bin", 0, 1L << 40),     // length beyond the file (and not the tensor's)
                external("w.bin", 0, 20),           // length short of the tensor
                external("", 0, 24))) {
            var e = assertThrows(InvalidInputException.class, () -> loadFile(dir, bad), bad.toString());
            assertEquals("node fc (Gemm)", e.where());
            assertFalse(e.describe().contains("\n"));
        }
        try {
            Files.createSymbolicLink(dir.resolve("link.bin"), root.resolve("outside.bin"));
            var e = assertThrows(InvalidInputException.class, () -> loadFile(dir, external("link.bin", 0, 24)));
            assertContains(e.getMessage(), "outside the model's directory");
        } catch (UnsupportedOperationException | IOException e) {
            // no symbolic links here
        }
        // loaded from bytes alone, there is no directory to read from
        var e = assertThrows(InvalidInputException.class, () -> load(gemmWith(external("w.bin", 0, 24))));
        assertContains(e.getMessage(), "directory is unknown");
    }

    @Test
    void operatorSetImports() {
        OnnxBuilder base = new OnnxBuilder().input("x", 0, 3).node("Relu", "r", List.of("x"), List.of("y")).output("y");
        // another domain imported but not used is fine; used, it is unsupported, naming the op
        load(base.domain("ai.onnx.ml", 2));
        var ml = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().domain("ai.onnx.ml", 2)
                .input("x", 0, 3)
                .node(NodeProto.newBuilder().setOpType("Normalizer").setDomain("ai.onnx.ml").setName("norm")
                        .addInput("x").addOutput("y"))
                .output("y")));
        assertEquals("node norm (ai.onnx.ml.Normalizer)", ml.where());
        assertEquals("unsupported op ai.onnx.ml.Normalizer", ml.getMessage());
        var future = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().opset(99)
                .input("x", 0, 3).node("Relu", "r", List.of("x"), List.of("y")).output("y")));
        assertContains(future.getMessage(), "opset 99");
        // opset 1 models of ops that did not change load
        Graph one = load(new OnnxBuilder().opset(1).input("x", 0, 3, 4, 4)
                .node("GlobalAveragePool", "gap", List.of("x"), List.of("y")).output("y", 0, 3, 1, 1));
        assertEquals(new Op.GlobalAvgPool(), only(one).op());
        var upsample = assertThrows(UnsupportedFeatureException.class, () -> load(new OnnxBuilder().opset(6)
                .input("x", 0, 3, 4, 4).node("Upsample", "up", List.of("x"), List.of("y"), "height_scale", 2f)
                .output("y")));
        assertContains(upsample.getMessage(), "before opset 7");
    }

    @Test
    void declaredIntermediateShapesAreChecked() {
        Graph ok = load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("h")).declare("h", 0, 3)
                .node("Relu", "s", List.of("h"), List.of("y")).output("y", 0, 3));
        assertEquals(2, ok.nodes().size());
        var e = assertThrows(InvalidInputException.class, () -> load(new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("h")).declare("h", 0, 4)
                .node("Relu", "s", List.of("h"), List.of("y")).output("y", 0, 3)));
        assertEquals("node r (Relu)", e.where());
        assertEquals("value h is declared as [N, 4] but the graph computes [N, 3]", e.getMessage());
        var rank = assertThrows(InvalidInputException.class, () -> load(new OnnxBuilder().input("x", 2, 3)
                .node("Relu", "r", List.of("x"), List.of("h")).declare("h", 2, 3, 1)
                .node("Relu", "s", List.of("h"), List.of("y")).output("y")));
        assertContains(rank.getMessage(), "rank 3");
        // with a static batch, the batch dimension is checked too
        var batch = assertThrows(InvalidInputException.class, () -> load(new OnnxBuilder().input("x", 2, 3)
                .node("Relu", "r", List.of("x"), List.of("y")).output("y", 3, 3)));
        assertEquals("output y", batch.where());
    }
}

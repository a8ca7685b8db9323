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
        // a weight fed as a graph input instead of stored in the file: a MatMul of activations,
        // which with W's axis 0 being a batch axis mixes the batch
        var fed = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 3).input("W", 0, 3)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L)
                .output("y"));
        assertEquals("node fc (Gemm)", fed.where());
        var conv = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 1, 4, 4).input("W", 1, 1, 2, 2)
                .node("Conv", "c", List.of("x", "W"), List.of("y"))
                .output("y"));
        assertEquals("weight W 'W' must be a constant (an initializer), but it is computed by the graph", conv.getMessage());
        // an undefined input anywhere
        var undefined = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("h"))
                .node("Add", "a", List.of("h", "ghost"), List.of("y"))
                .output("y"));
        assertEquals("node a (Add)", undefined.where());
        assertTrue(undefined.getMessage().contains("'ghost'"), undefined.getMessage());
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
        var future = fails(UnsupportedFeatureException.class, mlp().opset(24));
        assertEquals("bad.onnx", future.where());
        var none = fails(UnsupportedFeatureException.class, mlp().opset(0));
        assertEquals("bad.onnx", none.where());
        var noInputs = fails(UnsupportedFeatureException.class, new OnnxBuilder()
                .node("Constant", "c", List.of(), List.of("y"), "value", OnnxBuilder.floatTensor("", dims(1), 1f))
                .output("y"));
        assertEquals("bad.onnx", noInputs.where());
        var symbolic = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, -1)
                .node("Relu", "r", List.of("x"), List.of("y")).output("y"));
        assertEquals("input x", symbolic.where());
    }

    @Test
    void initializerDeclaringTeraElements() {
        // dims claiming 10^12 elements with a few bytes present: rejected before allocating
        for (long[] d : new long[][] {dims(1_000_000, 1_000_000), dims(1L << 31), dims(-1, 3), dims(1 << 20, 1 << 20, 0)}) {
            TensorProto t = TensorProto.newBuilder().setName("W").setDataType(1).addAllDims(
                    Arrays.stream(d).boxed().toList()).setRawData(ByteString.copyFrom(new byte[12])).build();
            var e = assertThrows(InvalidInputException.class, () -> loader.load(new OnnxBuilder().input("x", 0, 3).init(t)
                    .node("Gemm", "fc", List.of("x", "W"), List.of("y"), "transB", 1L).output("y").bytes(), "bad.onnx"),
                    Arrays.toString(d));
            assertEquals("node fc (Gemm)", e.where());
            assertTrue(e.getMessage().contains("'W'"), e.getMessage());
        }
        // a Constant node's tensor likewise
        TensorProto c = TensorProto.newBuilder().setDataType(7).addDims(1_000_000_000L).addDims(1000)
                .addInt64Data(1).build();
        var e = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Constant", "k", List.of(), List.of("s"), "value", c)
                .node("Reshape", "rs", List.of("x", "s"), List.of("y")).output("y"));
        assertEquals("node k (Constant)", e.where());
    }

    @Test
    void foldingCannotAllocateUnboundedMemory() {
        // ConstantOfShape and Expand of constants to absurd shapes
        var zeros = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 3)
                .initLongs("dims", 100_000, 100_000)
                .node("ConstantOfShape", "zeros", List.of("dims"), List.of("z"))
                .node("Add", "a", List.of("x", "z"), List.of("y")).output("y"));
        assertEquals("node zeros (ConstantOfShape)", zeros.where());
        var expand = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 3)
                .init("k", dims(1), 1f).initLongs("shape", 1 << 30, 1 << 30)
                .node("Expand", "e", List.of("k", "shape"), List.of("z"))
                .node("Add", "a", List.of("x", "z"), List.of("y")).output("y"));
        assertEquals("node e (Expand)", expand.where());
        // many folds that are each small enough but together too much
        OnnxBuilder many = new OnnxBuilder().input("x", 0, 3).initLongs("dims", 1 << 11, 1 << 11);
        for (int i = 0; i < 8; i++) {
            many.node("ConstantOfShape", "z" + i, List.of("dims"), List.of("z" + i));
        }
        var total = fails(UnsupportedFeatureException.class, many.node("Relu", "r", List.of("x"), List.of("y")).output("y"));
        assertTrue(total.getMessage().contains("constant folding"), total.getMessage());
        // a negative dimension
        var negative = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .initLongs("dims", 2, -3)
                .node("ConstantOfShape", "zeros", List.of("dims"), List.of("z"))
                .node("Add", "a", List.of("x", "z"), List.of("y")).output("y"));
        assertEquals("node zeros (ConstantOfShape)", negative.where());
    }

    @Test
    void inconsistentShapesNameTheNode() {
        var add = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3).input("z", 0, 4)
                .node("Add", "plus", List.of("x", "z"), List.of("y")).output("y"));
        assertEquals("node plus (Add)", add.where());
        assertTrue(add.getMessage().startsWith("Add: "), add.getMessage());
        var reshape = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .initLongs("s", 0, 2)
                .node("Reshape", "rs", List.of("x", "s"), List.of("y")).output("y"));
        assertEquals("node rs (Reshape)", reshape.where());
        var pool = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3, 2, 2)
                .node("MaxPool", "p", List.of("x"), List.of("y"), "kernel_shape", dims(3, 3)).output("y"));
        assertEquals("node p (MaxPool)", pool.where());
        var attr = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("LeakyRelu", "l", List.of("x"), List.of("y"), "alpha", "high").output("y"));
        assertEquals("node l (LeakyRelu)", attr.where());
        var rank = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .init("W", dims(3), 1f, 2f, 3f)
                .node("Gemm", "fc", List.of("x", "W"), List.of("y")).output("y"));
        assertEquals("node fc (Gemm)", rank.where());
    }

    @Test
    void graphLevelDefects() {
        var twice = fails(InvalidInputException.class, mlp().init("W", dims(2, 3), iota(6)));
        assertTrue(twice.getMessage().contains("'W' is defined twice"), twice.getMessage());
        var inputTwice = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3).input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("y")).output("y"));
        assertEquals("input x", inputTwice.where());
        var noOutput = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of()).output("x"));
        assertEquals("node r (Relu)", noOutput.where());
        var notProduced = fails(InvalidInputException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Relu", "r", List.of("x"), List.of("y")).output("z"));
        assertEquals("output z", notProduced.where());
        var constantOut = fails(UnsupportedFeatureException.class, new OnnxBuilder().input("x", 0, 3)
                .node("Shape", "s", List.of("x"), List.of("y")).output("y"));
        assertEquals("output y", constantOut.where());
    }

    @Test
    void mutatedModelsNeverCrash() throws Exception {
        // flip bytes of valid models: every outcome is a graph or a Glassbox exception
        List<byte[]> seeds = new java.util.ArrayList<>();
        seeds.add(mlp().bytes());
        java.nio.file.Path ort = OrtFixturesTest.root();
        for (String name : List.of("torch_cnn_view_op13", "torch_unet_op11", "torch_shapes_op13", "convT_1d",
                "resize13_half_pixel_round_prefer_floor", "torch_conv1d_op10")) {
            seeds.add(java.nio.file.Files.readAllBytes(ort.resolve(name).resolve("model.onnx")));
        }
        Random random = new Random(1234);
        int loaded = 0;
        String env = System.getenv("GLASSBOX_FUZZ_ROUNDS");
        int rounds = env == null ? 3000 : Integer.parseInt(env);
        for (int round = 0; round < rounds; round++) {
            byte[] seed = seeds.get(round % seeds.size());
            byte[] bytes = seed.clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                int at = random.nextInt(bytes.length);
                bytes[at] = switch (random.nextInt(3)) {
                    case 0 -> (byte) random.nextInt(256);
                    case 1 -> (byte) (bytes[at] ^ (1 << random.nextInt(8)));
                    default -> (byte) (bytes[at] + 1);
                };
            }
            if (random.nextInt(10) == 0) {
                bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length));
            }
            try {
                loader.load(bytes, "mutant.onnx");
                loaded++;
            } catch (GlassboxException e) {
                assertOneLine(e);
            }
        }
        System.out.println("mutated models: " + rounds + ", loaded " + loaded);
        assertTrue(loaded > 0);
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

package dev.glassbox.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The reference files under {@code src/test/resources/npy} were written by numpy 1.24 ({@code np.save}). */
class NpyTest {
    private static final float[] F4_2X3 = {-0.625f, -0.375f, -0.125f, 0.125f, 0.375f, 0.625f};
    private static final double[] F8_2X3 = {-0.20833333333333334, -0.125, -0.041666666666666664,
            0.041666666666666664, 0.125, 0.20833333333333334};
    private static final Shape[] REF_SHAPES = {
            Shape.of(), Shape.of(5), Shape.of(2, 3), Shape.of(2, 1, 3), Shape.of(1, 2, 3, 2)};

    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(NpyTest.class.getResource("/npy/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------- the header numpy writes

    @Test
    void headerIsByteExactForShape2x3() {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 'v', 0});
        expected.writeBytes(dict.getBytes(StandardCharsets.ISO_8859_1));
        expected.writeBytes(" ".repeat(128 - 10 - dict.length() - 1).getBytes(StandardCharsets.ISO_8859_1));
        expected.write('\n');
        assertEquals(128, expected.size());
        assertArrayEquals(expected.toByteArray(), Npy.header(Shape.of(2, 3)));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void writtenFileIsByteIdenticalToNumpy(int rank) throws IOException {
        Shape shape = REF_SHAPES[rank];
        float[] data = new float[shape.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.5f - 1;
        }
        Path out = dir.resolve("out.npy");
        Npy.write(out, HostTensor.wrap(shape, data));
        byte[] numpy = Files.readAllBytes(resource("ref_f4_rank" + rank + ".npy"));
        assertArrayEquals(numpy, Files.readAllBytes(out));
        assertEquals(0, (Files.size(out) - 4L * data.length) % 64, "header padded to 64 bytes");
    }

    @Test
    void headerKeepsNumpysSpareSpaceForGrowth() throws IOException {
        // 15 axes: numpy's 20 spare spaces push this header from 128 to 192 bytes
        int[] ones = new int[15];
        Arrays.fill(ones, 1);
        Path out = dir.resolve("r15.npy");
        Npy.write(out, HostTensor.wrap(Shape.of(ones), new float[] {0.5f}));
        byte[] numpy = Files.readAllBytes(resource("ref_f4_rank15.npy"));
        assertEquals(192 + 4, numpy.length);
        assertArrayEquals(numpy, Files.readAllBytes(out));
    }

    @Test
    void headerForLongShapesStaysAligned() {
        for (Shape s : new Shape[] {Shape.of(123456789, 0), Shape.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)}) {
            byte[] h = Npy.header(s);
            assertEquals(0, h.length % 64);
            assertEquals('\n', h[h.length - 1]);
            assertEquals(h.length - 10, (h[8] & 0xFF) | (h[9] & 0xFF) << 8);
        }
    }

    // ------------------------------------------------------------- reading and round trips

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void roundTripsEveryRankBitExactly(int rank) throws IOException {
        int[] dims = {3, 4, 2, 5};
        Shape shape = Shape.of(Arrays.copyOf(dims, rank));
        Random rnd = new Random(rank);
        float[] data = new float[shape.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextGaussian();
        }
        data[0] = rank % 2 == 0 ? Float.NaN : -0.0f;
        Path f = dir.resolve("t" + rank + ".npy");
        Npy.write(f, HostTensor.wrap(shape, data));
        HostTensor back = Npy.read(f);
        assertEquals(shape, back.shape());
        assertBitsEqual(data, back.data());
    }

    @Test
    void roundTripsDataLongerThanOneChunk() throws IOException {
        float[] data = new float[3 * 40_001];
        for (int i = 0; i < data.length; i++) {
            data[i] = i * 0.25f - 7;
        }
        Path f = dir.resolve("big.npy");
        Npy.write(f, HostTensor.wrap(Shape.of(3, 40_001), data));
        assertBitsEqual(data, Npy.read(f).data());
    }

    @Test
    void readsFloat32AndFloat64InBothByteOrders() {
        float[] f8 = new float[6];
        for (int i = 0; i < 6; i++) {
            f8[i] = (float) F8_2X3[i];
        }
        for (String name : new String[] {"f4_2x3.npy", "be_f4_2x3.npy", "v2_f4_2x3.npy", "v3_f4_2x3.npy"}) {
            HostTensor t = Npy.read(resource(name));
            assertEquals(Shape.of(2, 3), t.shape(), name);
            assertArrayEquals(F4_2X3, t.data(), name);
        }
        for (String name : new String[] {"f8_2x3.npy", "be_f8_2x3.npy"}) {
            HostTensor t = Npy.read(resource(name));
            assertEquals(Shape.of(2, 3), t.shape(), name);
            assertArrayEquals(f8, t.data(), name);
        }
        assertEquals((float) (-0.125 / 3), Npy.read(resource("f8_2x3.npy")).get(0, 2));
    }

    @Test
    void readsRank0Float64() {
        HostTensor t = Npy.read(resource("f8_scalar.npy"));
        assertEquals(0, t.shape().rank());
        assertArrayEquals(new float[] {2.75f}, t.data());
    }

    @Test
    void readsIntegersAsFloats() {
        assertArrayEquals(new float[] {0, 1, 128, 255}, Npy.read(resource("u1_2x2.npy")).data());
        assertArrayEquals(new float[] {1, 2, -3, 4}, Npy.read(resource("i4_labels.npy")).data());
        assertArrayEquals(new float[] {3, 0, 9, 2147483647f}, Npy.read(resource("i8_labels.npy")).data());
    }

    @Test
    void readsLittleEndianU1Descr() throws IOException {
        Path f = write("u1.npy", npy("{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", 1,
                new byte[] {7, (byte) 200, 0}));
        assertArrayEquals(new float[] {7, 200, 0}, Npy.read(f).data());
        assertArrayEquals(new int[] {7, 200, 0}, Npy.readInts(f));
    }

    @Test
    void readsFloat64LongerThanOneChunk() throws IOException {
        int n = 20_000;
        ByteBuffer b = ByteBuffer.allocate(8 * n).order(ByteOrder.BIG_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putDouble(i / 3.0);
        }
        Path f = write("f8.npy", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (" + n + ",), }", 1, b.array()));
        float[] got = Npy.read(f).data();
        for (int i = 0; i < n; i++) {
            assertEquals((float) (i / 3.0), got[i]);
        }
    }

    @Test
    void readIntsReadsInt64AndInt32Labels() {
        assertArrayEquals(new int[] {3, 0, 9, Integer.MAX_VALUE}, Npy.readInts(resource("i8_labels.npy")));
        assertArrayEquals(new int[] {1, 2, -3, 4}, Npy.readInts(resource("i4_labels.npy")));
    }

    @Test
    void readIntsRejectsFloatsAndValuesBeyondInt() {
        expectInvalid(resource("f4_2x3.npy"), "integers", Npy::readInts);
        expectInvalid(resource("i8_big.npy"), "1099511627776", Npy::readInts);
    }

    @Test
    void toleratesLegacyLongSuffixAndDoubleQuotes() throws IOException {
        Path f = write("legacy.npy", npy("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2L,)}", 1,
                le(5, -6)));
        assertArrayEquals(new int[] {5, -6}, Npy.readInts(f));
    }

    // ------------------------------------------------------------- errors name the file

    @Test
    void missingFile() {
        expectInvalid(dir.resolve("nope.npy"), "no such file", Npy::read);
    }

    @Test
    void truncatedData() throws IOException {
        byte[] whole = Files.readAllBytes(resource("f4_2x3.npy"));
        Path f = write("trunc.npy", Arrays.copyOf(whole, whole.length - 3));
        expectInvalid(f, "truncated", Npy::read);
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] whole = Files.readAllBytes(resource("f4_2x3.npy"));
        expectInvalid(write("h.npy", Arrays.copyOf(whole, 60)), "truncated", Npy::read);
        expectInvalid(write("h2.npy", Arrays.copyOf(whole, 4)), "magic", Npy::read);
        expectInvalid(write("empty.npy", new byte[0]), "magic", Npy::read);
    }

    @Test
    void badMagic() throws IOException {
        byte[] whole = Files.readAllBytes(resource("f4_2x3.npy"));
        whole[1] = 'X';
        expectInvalid(write("magic.npy", whole), "magic", Npy::read);
        expectInvalid(write("text.npy", "hello, this is not numpy at all".getBytes(StandardCharsets.US_ASCII)),
                "magic", Npy::read);
    }

    @Test
    void fortranOrder() {
        expectInvalid(resource("fortran_2x3.npy"), "Fortran", Npy::read);
    }

    @Test
    void unsupportedDtype() throws IOException {
        expectInvalid(resource("f2_unsupported.npy"), "<f2", Npy::read);
        expectInvalid(write("s.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                1, new byte[4])), "structured", Npy::read);
        expectInvalid(write("c.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                1, new byte[8])), "dtype", Npy::read);
    }

    @Test
    void unsupportedVersionAndMalformedHeader() throws IOException {
        expectInvalid(write("v9.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 9,
                new byte[4])), "version 9.0", Npy::read);
        expectInvalid(write("bad.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 1,
                new byte[4])), "malformed", Npy::read);
        expectInvalid(write("noshape.npy", npy("{'descr': '<f4', 'fortran_order': False}", 1,
                new byte[4])), "malformed", Npy::read);
        expectInvalid(write("neg.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 1,
                new byte[4])), "bad dimension", Npy::read);
    }

    @Test
    void hugeDeclaredShapeWithTinyFileFailsBeforeAllocating() throws IOException {
        // 2^31 - 1 floats would need 8 GiB, more than the test JVM's heap: an attempt to allocate
        // before checking would die with OutOfMemoryError rather than this exception.
        Path f = write("huge.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647,), }", 1,
                new byte[16]));
        expectInvalid(f, "truncated", Npy::read);
        expectInvalid(f, "truncated", Npy::readInts);
        Path g = write("huger.npy", npy("{'descr': '<f8', 'fortran_order': False, "
                + "'shape': (2147483647, 2147483647, 2147483647), }", 1, new byte[16]));
        expectInvalid(g, "truncated", Npy::read);
    }

    @Test
    void zeroSizedArrayWithHugeOtherDimension() throws IOException {
        Path f = write("zero.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2147483647), }", 1,
                new byte[0]));
        HostTensor t = Npy.read(f);
        assertEquals(Shape.of(0, Integer.MAX_VALUE), t.shape());
        assertEquals(0, t.data().length);
    }

    // ------------------------------------------------------------- helpers

    private static void expectInvalid(Path file, String fragment, Consumer<Path> reader) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> reader.accept(file));
        assertEquals(file.toString(), e.where());
        assertTrue(e.describe().contains(file.getFileName().toString()), e.describe());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention " + fragment);
    }

    private Path write(String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A .npy file with the given header dict (padded as numpy does) and raw data. */
    static byte[] npy(String dict, int major, byte[] data) {
        int prefix = major == 1 || major > 3 ? 10 : 12;
        int hlen = dict.length() + 1;
        int pad = 64 - (prefix + hlen) % 64;
        ByteBuffer b = ByteBuffer.allocate(prefix + hlen + pad + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (prefix == 10) {
            b.putShort((short) (hlen + pad));
        } else {
            b.putInt(hlen + pad);
        }
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1)).put(" ".repeat(pad).getBytes(StandardCharsets.ISO_8859_1));
        b.put((byte) '\n').put(data);
        return b.array();
    }

    private static byte[] le(int... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }

    private static void assertBitsEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), "at " + i);
        }
    }
}

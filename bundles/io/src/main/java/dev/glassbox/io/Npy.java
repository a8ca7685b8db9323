package dev.glassbox.io;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0).
 *
 * <p>Reads C-ordered arrays of any rank (0 included) whose dtype is float32 or float64 (either
 * byte order), int64, int32 or uint8; {@link #read} converts to float32, {@link #readInts} reads
 * integer label files. Writes float32 arrays exactly as {@code numpy.save} does (version 1.0,
 * {@code '<f4'}, C order, header padded to a multiple of 64 bytes). Every problem with a file
 * is an {@link InvalidInputException} whose {@code where()} is the file; the declared shape is
 * checked against the bytes present before anything is allocated.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy's ARRAY_ALIGN: magic, length field and header together are a multiple of this. */
    private static final int ALIGN = 64;
    /** numpy's GROWTH_AXIS_MAX_DIGITS: spare spaces so the first dimension can grow in place. */
    private static final int GROWTH_DIGITS = 21;
    /** Largest header read; numpy itself refuses more than 10,000 bytes by default. */
    private static final int MAX_HEADER = 1 << 20;
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;
    private static final int CHUNK = 1 << 16;

    private Npy() {}

    /** Reads a float or integer array, converted to float32. */
    public static HostTensor read(Path file) {
        String where = file.toString();
        try (FileChannel ch = open(file)) {
            Header h = readHeader(ch, where);
            float[] out = new float[h.count()];
            Dtype d = h.dtype();
            readData(ch, h, where, (buf, at, n) -> {
                switch (d.kind()) {
                    case 'f' -> {
                        if (d.size() == 4) {
                            buf.asFloatBuffer().get(out, at, n);
                        } else {
                            for (int i = 0; i < n; i++) {
                                out[at + i] = (float) buf.getDouble(i * 8);
                            }
                        }
                    }
                    case 'i' -> {
                        for (int i = 0; i < n; i++) {
                            out[at + i] = d.size() == 8 ? (float) buf.getLong(i * 8) : (float) buf.getInt(i * 4);
                        }
                    }
                    default -> {
                        for (int i = 0; i < n; i++) {
                            out[at + i] = buf.get(i) & 0xFF;
                        }
                    }
                }
            });
            return HostTensor.wrap(Shape.of(h.shape()), out);
        } catch (IOException e) {
            throw ioFailure(e, where);
        }
    }

    /**
     * Reads an integer array (int64, int32 or uint8; any shape) as a flat {@code int[]} in C
     * order, e.g. a file of class labels. Float data, or an int64 value outside the int range,
     * is an {@link InvalidInputException}.
     */
    public static int[] readInts(Path file) {
        String where = file.toString();
        try (FileChannel ch = open(file)) {
            Header h = readHeader(ch, where);
            Dtype d = h.dtype();
            if (d.kind() == 'f') {
                throw new InvalidInputException(
                        "expected integers (int64, int32 or uint8) in .npy file, found " + d, where);
            }
            int[] out = new int[h.count()];
            readData(ch, h, where, (buf, at, n) -> {
                for (int i = 0; i < n; i++) {
                    if (d.kind() == 'u') {
                        out[at + i] = buf.get(i) & 0xFF;
                    } else if (d.size() == 4) {
                        out[at + i] = buf.getInt(i * 4);
                    } else {
                        long v = buf.getLong(i * 8);
                        if (v != (int) v) {
                            throw new InvalidInputException("value " + v + " at flat index " + (at + i)
                                    + " does not fit a 32-bit int", where);
                        }
                        out[at + i] = (int) v;
                    }
                }
            });
            return out;
        } catch (IOException e) {
            throw ioFailure(e, where);
        }
    }

    /** Writes {@code tensor} as a float32 {@code .npy} file, atomically (see {@link AtomicFiles}). */
    public static void write(Path file, HostTensor tensor) throws IOException {
        byte[] header = header(tensor.shape());
        float[] data = tensor.data();
        AtomicFiles.write(file, out -> {
            out.write(header);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (int at = 0; at < data.length; ) {
                int n = Math.min(CHUNK / 4, data.length - at);
                buf.clear();
                buf.asFloatBuffer().put(data, at, n);
                out.write(buf.array(), 0, n * 4);
                at += n;
            }
        });
    }

    /** The header numpy writes for a C-ordered float32 array of this shape (magic to newline). */
    static byte[] header(Shape shape) {
        int[] dims = shape.dims();
        StringBuilder dict = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < dims.length; i++) {
            dict.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        dict.append(dims.length == 1 ? ",), }" : "), }");
        if (dims.length > 0) {
            dict.append(" ".repeat(GROWTH_DIGITS - Integer.toString(dims[0]).length()));
        }
        byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        int hlen = text.length + 1;
        int major = 1;
        int lengthField = 2;
        int pad = ALIGN - (MAGIC.length + 2 + lengthField + hlen) % ALIGN;
        if (hlen + pad > 0xFFFF) {
            major = 2;
            lengthField = 4;
            pad = ALIGN - (MAGIC.length + 2 + lengthField + hlen) % ALIGN;
        }
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 2 + lengthField + hlen + pad)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) major).put((byte) 0);
        if (lengthField == 2) {
            b.putShort((short) (hlen + pad));
        } else {
            b.putInt(hlen + pad);
        }
        b.put(text);
        for (int i = 0; i < pad; i++) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    // ---------------------------------------------------------------- reading

    /** An element type: kind 'f', 'i' or 'u', its size in bytes and byte order. */
    private record Dtype(String descr, char kind, int size, ByteOrder order) {
        static Dtype parse(String descr, String where) {
            if (descr.length() == 3) {
                char bo = descr.charAt(0);
                String t = descr.substring(1);
                boolean one = t.equals("u1");
                ByteOrder order = bo == '<' ? ByteOrder.LITTLE_ENDIAN : bo == '>' ? ByteOrder.BIG_ENDIAN : null;
                boolean orderOk = one ? bo == '|' || bo == '<' || bo == '>' : order != null;
                if (orderOk && (one || t.equals("f4") || t.equals("f8") || t.equals("i4") || t.equals("i8"))) {
                    return new Dtype(descr, t.charAt(0), t.charAt(1) - '0',
                            order == null ? ByteOrder.LITTLE_ENDIAN : order);
                }
            }
            throw new InvalidInputException("unsupported .npy dtype '" + descr
                    + "' (supported: <f4, <f8, >f4, >f8, <i8, <i4, |u1)", where);
        }

        @Override
        public String toString() {
            return descr;
        }
    }

    private record Header(Dtype dtype, int[] shape, int count, long dataOffset) {}

    @FunctionalInterface
    private interface Sink {
        /** Consumes {@code n} elements from {@code buf} (positioned at 0, in file byte order) into {@code at}. */
        void accept(ByteBuffer buf, int at, int n);
    }

    private static FileChannel open(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    private static InvalidInputException ioFailure(IOException e, String where) {
        if (e instanceof NoSuchFileException) {
            return new InvalidInputException("no such file", where, e);
        }
        if (e instanceof AccessDeniedException) {
            return new InvalidInputException("permission denied", where, e);
        }
        if (e instanceof EOFException) {
            return new InvalidInputException("truncated .npy file", where, e);
        }
        return new InvalidInputException("cannot read .npy file: " + e.getMessage(), where, e);
    }

    private static Header readHeader(FileChannel ch, String where) throws IOException {
        long fileSize = ch.size();
        ByteBuffer pre = readFully(ch, 0, (int) Math.min(12, fileSize));
        if (pre.remaining() < 10 || !Arrays.equals(Arrays.copyOf(pre.array(), 6), MAGIC)) {
            throw new InvalidInputException("not a .npy file (bad magic)", where);
        }
        int major = pre.get(6) & 0xFF;
        int minor = pre.get(7) & 0xFF;
        long headerLen;
        int prefix;
        if (major == 1 && minor == 0) {
            headerLen = pre.order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xFFFF;
            prefix = 10;
        } else if ((major == 2 || major == 3) && minor == 0) {
            if (pre.remaining() < 12) {
                throw new InvalidInputException("truncated .npy header", where);
            }
            headerLen = pre.order(ByteOrder.LITTLE_ENDIAN).getInt(8) & 0xFFFFFFFFL;
            prefix = 12;
        } else {
            throw new InvalidInputException("unsupported .npy format version " + major + "." + minor, where);
        }
        if (headerLen > MAX_HEADER) {
            throw new InvalidInputException("implausibly long .npy header (" + headerLen + " bytes)", where);
        }
        if (prefix + headerLen > fileSize) {
            throw new InvalidInputException("truncated .npy header: " + headerLen + " bytes declared, "
                    + (fileSize - prefix) + " present", where);
        }
        byte[] raw = readFully(ch, prefix, (int) headerLen).array();
        String text = new String(raw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);

        Map<?, ?> dict;
        try {
            if (!(new Literal(text).parseAll() instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("not a dict");
            }
            dict = m;
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("malformed .npy header (" + e.getMessage() + "): " + text.strip(), where);
        }
        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shapeValue = dict.get("shape");
        if (descr == null || !(fortran instanceof Boolean) || !(shapeValue instanceof List<?> shapeList)) {
            throw new InvalidInputException("malformed .npy header (needs descr, fortran_order, shape): "
                    + text.strip(), where);
        }
        if (!(descr instanceof String descrText)) {
            throw new InvalidInputException("unsupported .npy dtype (structured array): " + descr, where);
        }
        Dtype dtype = Dtype.parse(descrText, where);
        if ((Boolean) fortran) {
            throw new InvalidInputException("Fortran-ordered .npy arrays are not supported (save with C order)", where);
        }
        int[] shape = new int[shapeList.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw new InvalidInputException("bad dimension in .npy shape " + shapeList, where);
            }
            shape[i] = (int) (long) d;
        }
        long count = elementCount(shape);
        long dataOffset = prefix + headerLen;
        long present = fileSize - dataOffset;
        if (count > present / dtype.size()) {
            throw new InvalidInputException("truncated .npy data: shape " + Arrays.toString(shape) + " of "
                    + dtype + " needs " + (count == Long.MAX_VALUE ? "more than 2^63" : Long.toString(count))
                    + " elements of " + dtype.size() + " bytes, only " + present + " bytes present", where);
        }
        if (count > MAX_ARRAY) {
            throw new InvalidInputException(".npy shape " + Arrays.toString(shape)
                    + " has too many elements for one array", where);
        }
        return new Header(dtype, shape, (int) count, dataOffset);
    }

    /** The product of the dimensions, saturated at {@code Long.MAX_VALUE}. */
    private static long elementCount(int[] shape) {
        long count = 1;
        for (int d : shape) {
            if (d == 0) {
                return 0;
            }
        }
        for (int d : shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
        return count;
    }

    /** Streams the data in chunks to {@code sink}; the header has checked that the bytes exist. */
    private static void readData(FileChannel ch, Header h, String where, Sink sink) throws IOException {
        int size = h.dtype().size();
        int perChunk = CHUNK / size;
        ByteBuffer buf = ByteBuffer.allocate(perChunk * size).order(h.dtype().order());
        long pos = h.dataOffset();
        for (int at = 0; at < h.count(); ) {
            int n = Math.min(perChunk, h.count() - at);
            buf.clear().limit(n * size);
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos + buf.position());
                if (r < 0) {
                    throw new InvalidInputException("truncated .npy data", where);
                }
            }
            buf.flip();
            sink.accept(buf, at, n);
            pos += (long) n * size;
            at += n;
        }
    }

    private static ByteBuffer readFully(FileChannel ch, long pos, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) {
                throw new EOFException();
            }
        }
        return b.flip();
    }

    /**
     * The subset of Python literal syntax numpy headers use: dicts, tuples, lists, strings,
     * integers (with an optional legacy {@code L}), True, False and None.
     */
    private static final class Literal {
        private final String s;
        private int i;

        Literal(String s) {
            this.s = s;
        }

        Object parseAll() {
            Object v = value();
            ws();
            if (i != s.length()) {
                throw new IllegalArgumentException("unexpected '" + s.charAt(i) + "' at " + i);
            }
            return v;
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private Object value() {
            ws();
            if (i >= s.length()) {
                throw new IllegalArgumentException("unexpected end");
            }
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    Map<Object, Object> m = new HashMap<>();
                    while (true) {
                        ws();
                        if (peek('}')) {
                            return m;
                        }
                        Object k = value();
                        ws();
                        expect(':');
                        m.put(k, value());
                        ws();
                        if (!peek(',')) {
                            expect('}');
                            return m;
                        }
                    }
                }
                case '(', '[' -> {
                    char close = c == '(' ? ')' : ']';
                    i++;
                    List<Object> items = new ArrayList<>();
                    while (true) {
                        ws();
                        if (peek(close)) {
                            return items;
                        }
                        items.add(value());
                        ws();
                        if (!peek(',')) {
                            expect(close);
                            return items;
                        }
                    }
                }
                case '\'', '"' -> {
                    int end = s.indexOf(c, i + 1);
                    if (end < 0) {
                        throw new IllegalArgumentException("unterminated string");
                    }
                    String v = s.substring(i + 1, end);
                    i = end + 1;
                    return v;
                }
                default -> {
                    if (word("True")) {
                        return Boolean.TRUE;
                    }
                    if (word("False")) {
                        return Boolean.FALSE;
                    }
                    if (word("None")) {
                        return null;
                    }
                    int start = i;
                    if (c == '-' || c == '+') {
                        i++;
                    }
                    while (i < s.length() && Character.isDigit(s.charAt(i))) {
                        i++;
                    }
                    if (i == start || !Character.isDigit(s.charAt(i - 1))) {
                        throw new IllegalArgumentException("unexpected '" + c + "' at " + start);
                    }
                    String digits = s.substring(start, i);
                    if (i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l')) {
                        i++;
                    }
                    try {
                        return Long.parseLong(digits);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("integer out of range: " + digits);
                    }
                }
            }
        }

        private boolean peek(char c) {
            if (i < s.length() && s.charAt(i) == c) {
                i++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i);
            }
        }

        private boolean word(String w) {
            if (s.startsWith(w, i)) {
                i += w.length();
                return true;
            }
            return false;
        }
    }
}

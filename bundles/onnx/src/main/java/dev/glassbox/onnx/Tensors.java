package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Decodes ONNX {@code TensorProto}s (initializers and {@code Constant} values) into
 * {@link Const}s: float, double, float16 and bfloat16 as float32; all integer types and bool
 * as longs; from {@code raw_data}, the typed fields, or an external file next to the model.
 * The element count the dimensions declare is checked against the data actually present
 * (in the message or the external file) before anything is allocated, so a hostile file
 * cannot make us allocate more than it holds.
 */
final class Tensors {
    static final int UNDEFINED = 0;
    static final int FLOAT = 1;
    static final int UINT8 = 2;
    static final int INT8 = 3;
    static final int UINT16 = 4;
    static final int INT16 = 5;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int STRING = 8;
    static final int BOOL = 9;
    static final int FLOAT16 = 10;
    static final int DOUBLE = 11;
    static final int UINT32 = 12;
    static final int UINT64 = 13;
    static final int BFLOAT16 = 16;

    /** Bytes read from an external file per chunk. */
    private static final int CHUNK = 1 << 20;

    private Tensors() {
    }

    static boolean isFloating(int type) {
        return type == FLOAT || type == DOUBLE || type == FLOAT16 || type == BFLOAT16;
    }

    static boolean isInteger(int type) {
        return switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, BOOL, UINT32, UINT64 -> true;
            default -> false;
        };
    }

    static String typeName(int type) {
        return switch (type) {
            case FLOAT -> "float";
            case UINT8 -> "uint8";
            case INT8 -> "int8";
            case UINT16 -> "uint16";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case STRING -> "string";
            case BOOL -> "bool";
            case FLOAT16 -> "float16";
            case DOUBLE -> "double";
            case UINT32 -> "uint32";
            case UINT64 -> "uint64";
            case 14 -> "complex64";
            case 15 -> "complex128";
            case BFLOAT16 -> "bfloat16";
            default -> "type " + type;
        };
    }

    /** Bytes per element in raw_data, or 0 for types we do not read. */
    private static int width(int type) {
        return switch (type) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16, FLOAT16, BFLOAT16 -> 2;
            case FLOAT, INT32, UINT32 -> 4;
            case INT64, DOUBLE, UINT64 -> 8;
            default -> 0;
        };
    }

    /** The dimensions as ints; each must fit an int and so must the element count. */
    static int[] dims(TensorProto t, String where) {
        int[] dims = new int[t.getDimsCount()];
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            long d = t.getDims(i);
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw new InvalidInputException("tensor " + label(t) + " has invalid dimension " + d, where);
            }
            dims[i] = (int) d;
            n *= d; // d <= 2^31 and n is checked below: no overflow before the check
            if (n > Integer.MAX_VALUE) {
                throw new InvalidInputException("tensor " + label(t) + " " + t.getDimsList() + " is too large", where);
            }
        }
        return dims;
    }

    static int count(TensorProto t, String where) {
        long n = 1;
        for (int d : dims(t, where)) {
            n *= d;
        }
        return (int) n;
    }

    /** Decodes {@code t}; {@code modelDir} is where external data lives (null when unknown). */
    static Const decode(TensorProto t, Path modelDir, String where) {
        int[] dims = dims(t, where);
        int n = count(t, where);
        int type = t.getDataType();
        int width = width(type);
        if (width == 0) {
            throw new UnsupportedFeatureException("tensor " + label(t) + " has element type " + typeName(type)
                    + "; only float, double, float16, bfloat16, integer and bool tensors are supported", where);
        }
        if (t.hasSegment()) {
            throw new UnsupportedFeatureException("tensor " + label(t) + " is segmented", where);
        }
        ByteBuffer raw = null;
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            raw = external(t, modelDir, (long) n * width, where);
        } else if (t.getExternalDataCount() > 0) {
            throw new InvalidInputException("tensor " + label(t) + " lists external data but its data_location is not EXTERNAL",
                    where);
        } else if (t.hasRawData()) {
            long need = (long) n * width;
            int have = t.getRawData().size();
            if (have != need) {
                throw new InvalidInputException("tensor " + label(t) + " declares dims " + t.getDimsList() + " (" + n
                        + " values, " + need + " bytes) but holds " + have + " bytes", where);
            }
            raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (raw != null) {
            return fromRaw(dims, type, n, raw);
        }
        return fromTyped(t, dims, type, n, where);
    }

    private static Const fromRaw(int[] dims, int type, int n, ByteBuffer raw) {
        switch (type) {
            case FLOAT -> {
                float[] out = new float[n];
                raw.asFloatBuffer().get(out);
                return Const.floats(dims, type, out);
            }
            case DOUBLE -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) raw.getDouble();
                }
                return Const.floats(dims, type, out);
            }
            case FLOAT16, BFLOAT16 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = halfToFloat(raw.getShort(), type);
                }
                return Const.floats(dims, type, out);
            }
            default -> {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = switch (type) {
                        case UINT8 -> raw.get() & 0xFF;
                        case INT8 -> raw.get();
                        case BOOL -> raw.get() != 0 ? 1 : 0;
                        case UINT16 -> raw.getShort() & 0xFFFF;
                        case INT16 -> raw.getShort();
                        case INT32 -> raw.getInt();
                        case UINT32 -> raw.getInt() & 0xFFFFFFFFL;
                        default -> raw.getLong(); // INT64, UINT64
                    };
                }
                return Const.longs(dims, type, out, null);
            }
        }
    }

    private static Const fromTyped(TensorProto t, int[] dims, int type, int n, String where) {
        switch (type) {
            case FLOAT -> {
                requireCount(t, n, t.getFloatDataCount(), "float_data", where);
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = t.getFloatData(i);
                }
                return Const.floats(dims, type, out);
            }
            case DOUBLE -> {
                requireCount(t, n, t.getDoubleDataCount(), "double_data", where);
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) t.getDoubleData(i);
                }
                return Const.floats(dims, type, out);
            }
            case FLOAT16, BFLOAT16 -> {
                requireCount(t, n, t.getInt32DataCount(), "int32_data", where);
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = halfToFloat((short) t.getInt32Data(i), type);
                }
                return Const.floats(dims, type, out);
            }
            case INT64 -> {
                requireCount(t, n, t.getInt64DataCount(), "int64_data", where);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = t.getInt64Data(i);
                }
                return Const.longs(dims, type, out, null);
            }
            case UINT32, UINT64 -> {
                requireCount(t, n, t.getUint64DataCount(), "uint64_data", where);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = wrap(t.getUint64Data(i), type);
                }
                return Const.longs(dims, type, out, null);
            }
            default -> { // INT32, INT16, INT8, UINT16, UINT8, BOOL in int32_data
                requireCount(t, n, t.getInt32DataCount(), "int32_data", where);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = type == BOOL ? (t.getInt32Data(i) != 0 ? 1 : 0) : wrap(t.getInt32Data(i), type);
                }
                return Const.longs(dims, type, out, null);
            }
        }
    }

    private static ByteBuffer external(TensorProto t, Path modelDir, long need, String where) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseSize(t, "offset", e.getValue(), where);
                case "length" -> length = parseSize(t, "length", e.getValue(), where);
                default -> {
                    // checksum and unknown keys do not change the data
                }
            }
        }
        if (location == null || location.isEmpty()) {
            throw new InvalidInputException("tensor " + label(t) + " keeps its data externally but names no location", where);
        }
        if (modelDir == null) {
            throw new InvalidInputException("tensor " + label(t) + " keeps its data in external file '" + location
                    + "', but the model's directory is unknown (load the model from a file)", where);
        }
        Path file;
        try {
            Path rel = Path.of(location);
            if (rel.isAbsolute() || rel.getRoot() != null) {
                throw new InvalidInputException("tensor " + label(t) + " names external file '" + location
                        + "' by an absolute path; it must be relative to the model's directory", where);
            }
            Path base = modelDir.toAbsolutePath().normalize();
            file = base.resolve(rel).normalize();
            if (!file.startsWith(base) || file.equals(base)) {
                throw new InvalidInputException("tensor " + label(t) + " names external file '" + location
                        + "', which is outside the model's directory", where);
            }
            if (!Files.isRegularFile(file)) {
                throw new InvalidInputException("tensor " + label(t) + " keeps its data in external file '" + location
                        + "', which does not exist", where);
            }
            if (!file.toRealPath().startsWith(base.toRealPath())) {
                throw new InvalidInputException("tensor " + label(t) + " names external file '" + location
                        + "', which links outside the model's directory", where);
            }
        } catch (InvalidPathException | IOException e) {
            throw new InvalidInputException("tensor " + label(t) + " names an unusable external file '" + location + "': "
                    + e.getMessage(), where, e);
        }
        if (length >= 0 && length != need) {
            throw new InvalidInputException("tensor " + label(t) + " declares dims " + t.getDimsList() + " (" + need
                    + " bytes) but its external data has length " + length, where);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            if (offset > size || need > size - offset) {
                throw new InvalidInputException("tensor " + label(t) + " needs " + need + " bytes at offset " + offset
                        + " of external file '" + location + "', which has " + size + " bytes", where);
            }
            if (need > Integer.MAX_VALUE - 8) {
                throw new UnsupportedFeatureException("tensor " + label(t) + " has more than 2 GB of data", where);
            }
            ByteBuffer buf = ByteBuffer.allocate((int) need).order(ByteOrder.LITTLE_ENDIAN);
            long pos = offset;
            while (buf.hasRemaining()) {
                int lim = Math.min(buf.capacity(), buf.position() + CHUNK);
                buf.limit(lim);
                int read = ch.read(buf, pos);
                if (read < 0) {
                    throw new InvalidInputException("external file '" + location + "' ended early", where);
                }
                pos += read;
            }
            buf.clear();
            return buf;
        } catch (IOException e) {
            throw new InvalidInputException("cannot read external file '" + location + "' of tensor " + label(t) + ": "
                    + e.getMessage(), where, e);
        }
    }

    private static long parseSize(TensorProto t, String key, String value, String where) {
        try {
            long v = Long.parseLong(value.trim());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new InvalidInputException("tensor " + label(t) + " has invalid external data " + key + " '" + value + "'",
                    where);
        }
    }

    private static void requireCount(TensorProto t, int n, int have, String field, String where) {
        if (have != n) {
            throw new InvalidInputException("tensor " + label(t) + " declares dims " + t.getDimsList() + " (" + n
                    + " values) but holds " + have + " values in " + field, where);
        }
    }

    static float halfToFloat(short bits, int type) {
        return type == BFLOAT16 ? Float.intBitsToFloat((bits & 0xFFFF) << 16) : Float.float16ToFloat(bits);
    }

    /** Rounds to the nearest bfloat16 (ties to even), as a float. */
    static float roundToBfloat16(float v) {
        if (Float.isNaN(v)) {
            return v;
        }
        int bits = Float.floatToRawIntBits(v);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xFFFF0000);
    }

    /** An integer converted to {@code type} by C rules (two's complement truncation). */
    static long wrap(long v, int type) {
        return switch (type) {
            case INT8 -> (byte) v;
            case UINT8 -> v & 0xFF;
            case INT16 -> (short) v;
            case UINT16 -> v & 0xFFFF;
            case INT32 -> (int) v;
            case UINT32 -> v & 0xFFFFFFFFL;
            case BOOL -> v != 0 ? 1 : 0;
            default -> v;
        };
    }

    static String label(TensorProto t) {
        return t.getName().isEmpty() ? "(unnamed)" : "'" + t.getName() + "'";
    }

    static String shapeString(int[] dims) {
        return Arrays.toString(dims);
    }
}

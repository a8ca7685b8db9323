package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Decodes ONNX {@code TensorProto}s (initializers and {@code Constant} values). The element
 * count the dimensions declare is checked against the data actually present before anything
 * is allocated, so a hostile file cannot make us allocate more than it holds.
 */
final class Tensors {
    static final int FLOAT = 1;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int DOUBLE = 11;

    private Tensors() {
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

    /** The values as float32 (float and double tensors). */
    static float[] floats(TensorProto t, String where) {
        int n = count(t, where);
        checkLocation(t, where);
        switch (t.getDataType()) {
            case FLOAT -> {
                if (t.hasRawData()) {
                    ByteBuffer raw = raw(t, n, 4, where);
                    float[] out = new float[n];
                    raw.asFloatBuffer().get(out);
                    return out;
                }
                requireCount(t, n, t.getFloatDataCount(), where);
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = t.getFloatData(i);
                }
                return out;
            }
            case DOUBLE -> {
                if (t.hasRawData()) {
                    ByteBuffer raw = raw(t, n, 8, where);
                    float[] out = new float[n];
                    for (int i = 0; i < n; i++) {
                        out[i] = (float) raw.getDouble();
                    }
                    return out;
                }
                requireCount(t, n, t.getDoubleDataCount(), where);
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) t.getDoubleData(i);
                }
                return out;
            }
            default -> throw new UnsupportedFeatureException(
                    "tensor " + label(t) + " has data type " + t.getDataType() + "; parameters must be float32 or float64", where);
        }
    }

    /** The values as longs (int64 and int32 tensors), e.g. a Reshape's target shape. */
    static long[] longs(TensorProto t, String where) {
        int n = count(t, where);
        checkLocation(t, where);
        switch (t.getDataType()) {
            case INT64 -> {
                if (t.hasRawData()) {
                    ByteBuffer raw = raw(t, n, 8, where);
                    long[] out = new long[n];
                    raw.asLongBuffer().get(out);
                    return out;
                }
                requireCount(t, n, t.getInt64DataCount(), where);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = t.getInt64Data(i);
                }
                return out;
            }
            case INT32 -> {
                if (t.hasRawData()) {
                    ByteBuffer raw = raw(t, n, 4, where);
                    long[] out = new long[n];
                    for (int i = 0; i < n; i++) {
                        out[i] = raw.getInt();
                    }
                    return out;
                }
                requireCount(t, n, t.getInt32DataCount(), where);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = t.getInt32Data(i);
                }
                return out;
            }
            default -> throw new UnsupportedFeatureException(
                    "tensor " + label(t) + " has data type " + t.getDataType() + "; integer tensors must be int64 or int32", where);
        }
    }

    private static ByteBuffer raw(TensorProto t, int n, int width, String where) {
        long need = (long) n * width;
        int have = t.getRawData().size();
        if (have != need) {
            throw new InvalidInputException("tensor " + label(t) + " declares dims " + t.getDimsList() + " (" + n
                    + " values, " + need + " bytes) but holds " + have + " bytes", where);
        }
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void requireCount(TensorProto t, int n, int have, String where) {
        if (have != n) {
            throw new InvalidInputException("tensor " + label(t) + " declares dims " + t.getDimsList() + " (" + n
                    + " values) but holds " + have + " values", where);
        }
    }

    private static void checkLocation(TensorProto t, String where) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw new UnsupportedFeatureException("tensor " + label(t) + " keeps its data in an external file", where);
        }
    }

    static String label(TensorProto t) {
        return t.getName().isEmpty() ? "(unnamed)" : "'" + t.getName() + "'";
    }

    static String shapeString(int[] dims) {
        return Arrays.toString(dims);
    }
}

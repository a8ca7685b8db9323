package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.glassbox.api.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Typed access to one node's attributes, with defaults; a wrong type is an invalid model. */
final class Attributes {
    private final Map<String, AttributeProto> byName = new HashMap<>();
    private final String where;

    Attributes(NodeProto node, String where) {
        this.where = where;
        for (AttributeProto a : node.getAttributeList()) {
            byName.put(a.getName(), a);
        }
    }

    boolean has(String name) {
        return byName.containsKey(name);
    }

    long i(String name, long dflt) {
        AttributeProto a = get(name, AttributeType.INT);
        return a == null ? dflt : a.getI();
    }

    /** An INT attribute that must fit an int. */
    int int32(String name, int dflt) {
        long v = i(name, dflt);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new InvalidInputException("attribute " + name + " = " + v + " is out of range", where);
        }
        return (int) v;
    }

    float f(String name, float dflt) {
        AttributeProto a = get(name, AttributeType.FLOAT);
        return a == null ? dflt : a.getF();
    }

    String s(String name, String dflt) {
        AttributeProto a = get(name, AttributeType.STRING);
        return a == null ? dflt : a.getS().toString(StandardCharsets.UTF_8);
    }

    /** An INTS attribute, or {@code dflt} (may be null) when absent. */
    long[] ints(String name, long[] dflt) {
        AttributeProto a = get(name, AttributeType.INTS);
        if (a == null) {
            return dflt;
        }
        long[] out = new long[a.getIntsCount()];
        for (int k = 0; k < out.length; k++) {
            out[k] = a.getInts(k);
        }
        return out;
    }

    /** A FLOATS attribute, or null when absent. */
    float[] floats(String name) {
        AttributeProto a = get(name, AttributeType.FLOATS);
        if (a == null) {
            return null;
        }
        float[] out = new float[a.getFloatsCount()];
        for (int k = 0; k < out.length; k++) {
            out[k] = a.getFloats(k);
        }
        return out;
    }

    TensorProto t(String name) {
        AttributeProto a = get(name, AttributeType.TENSOR);
        return a == null ? null : a.getT();
    }

    /** The one attribute present among {@code names}, or null. */
    String which(String... names) {
        for (String n : names) {
            if (byName.containsKey(n)) {
                return n;
            }
        }
        return null;
    }

    private AttributeProto get(String name, AttributeType type) {
        AttributeProto a = byName.get(name);
        if (a == null) {
            return null;
        }
        // Old exporters leave the type unset (UNDEFINED); trust the field then.
        if (a.getType() != type && a.getType() != AttributeType.UNDEFINED) {
            throw new InvalidInputException("attribute " + name + " should be " + type + ", is " + a.getType(), where);
        }
        return a;
    }
}

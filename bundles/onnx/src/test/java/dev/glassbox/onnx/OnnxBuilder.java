package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.AttributeProto.AttributeType;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import shade.com.google.protobuf.ByteString;

/** Builds small ONNX models for tests with the protobuf builders. */
final class OnnxBuilder {
    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("test");
    private long opset = 13;
    private final java.util.Map<String, Long> otherDomains = new java.util.LinkedHashMap<>();

    OnnxBuilder opset(long v) {
        opset = v;
        return this;
    }

    /** A float input; {@code dims[0]} is the batch, 0 for a symbolic "N"; a negative dimension is symbolic. */
    OnnxBuilder input(String name, long... dims) {
        graph.addInput(valueInfo(name, dims));
        return this;
    }

    /** Imports another operator set domain as well. */
    OnnxBuilder domain(String domain, long version) {
        otherDomains.put(domain, version);
        return this;
    }

    /** Declares an intermediate value's shape (value_info); dims as for {@link #input}. */
    OnnxBuilder declare(String name, long... dims) {
        graph.addValueInfo(valueInfo(name, dims));
        return this;
    }

    OnnxBuilder output(String name) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name));
        return this;
    }

    OnnxBuilder output(String name, long... dims) {
        graph.addOutput(valueInfo(name, dims));
        return this;
    }

    /** A float32 initializer stored as little-endian raw_data. */
    OnnxBuilder init(String name, long[] dims, float... values) {
        graph.addInitializer(floatTensor(name, dims, values));
        return this;
    }

    /** A float32 initializer stored in float_data. */
    OnnxBuilder initFloatData(String name, long[] dims, float... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1);
        for (long d : dims) {
            t.addDims(d);
        }
        for (float v : values) {
            t.addFloatData(v);
        }
        graph.addInitializer(t);
        return this;
    }

    OnnxBuilder initLongs(String name, long... values) {
        graph.addInitializer(longTensor(name, values));
        return this;
    }

    OnnxBuilder init(TensorProto t) {
        graph.addInitializer(t);
        return this;
    }

    /** Adds a node; attributes are name/value pairs (Long, Float, String, long[], TensorProto). */
    OnnxBuilder node(String op, String name, List<String> inputs, List<String> outputs, Object... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs);
        for (int i = 0; i < attrs.length; i += 2) {
            n.addAttribute(attr((String) attrs[i], attrs[i + 1]));
        }
        graph.addNode(n);
        return this;
    }

    OnnxBuilder node(NodeProto.Builder n) {
        graph.addNode(n);
        return this;
    }

    ModelProto model() {
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(7).setProducerName("glassbox-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
        otherDomains.forEach((d, v) -> m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(d).setVersion(v)));
        return m.setGraph(graph).build();
    }

    byte[] bytes() {
        return model().toByteArray();
    }

    static TensorProto floatTensor(String name, long[] dims, float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1)
                .setRawData(ByteString.copyFrom(buf.array()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    static TensorProto longTensor(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(7).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    /** An int64 tensor of the given shape. */
    static TensorProto longTensorShaped(String name, long[] dims, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(7);
        for (long d : dims) {
            t.addDims(d);
        }
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    /** A float32 scalar. */
    static TensorProto scalar(String name, float value) {
        return floatTensor(name, new long[0], value);
    }

    static long[] dims(long... d) {
        return d;
    }

    /** 0, 1, 2, ... n-1 as floats: easy to check where each value went. */
    static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        return v;
    }

    private static ValueInfoProto valueInfo(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (int i = 0; i < dims.length; i++) {
            if ((i == 0 && dims[i] == 0) || dims[i] < 0) {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(i == 0 ? "N" : "S" + i));
            } else {
                shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
            }
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape)))
                .build();
    }

    private static AttributeProto attr(String name, Object value) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        switch (value) {
            case Long l -> a.setType(AttributeType.INT).setI(l);
            case Integer i -> a.setType(AttributeType.INT).setI(i);
            case Float f -> a.setType(AttributeType.FLOAT).setF(f);
            case float[] fs -> {
                a.setType(AttributeType.FLOATS);
                for (float f : fs) {
                    a.addFloats(f);
                }
            }
            case String s -> a.setType(AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
            case long[] ls -> {
                a.setType(AttributeType.INTS);
                for (long l : ls) {
                    a.addInts(l);
                }
            }
            case TensorProto t -> a.setType(AttributeType.TENSOR).setT(t);
            default -> throw new IllegalArgumentException("attribute type " + value.getClass());
        }
        return a.build();
    }
}

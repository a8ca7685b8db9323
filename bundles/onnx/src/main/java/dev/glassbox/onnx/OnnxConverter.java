package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Converts one parsed ONNX model into a Glassbox {@link Graph}: sorts the nodes
 * topologically, maps each supported op onto an {@link Op} record, and infers the item
 * shape (without the batch axis) of every value on the way, so that inconsistent models
 * are rejected here, naming the node, rather than failing later in a backend.
 *
 * <p>Beyond the one-to-one mappings: {@code Identity} and {@code Dropout} disappear (their
 * output is another name for their input); {@code Constant} nodes are folded; an {@code Add}
 * of a constant vector to the output of a {@code MatMul} or {@code Gemm} that feeds nothing
 * else becomes that {@link Op.Dense}'s bias; a {@code Reshape} whose leading target
 * dimension equals the model's static batch size is rewritten to copy the batch axis
 * ({@code 0}), so models exported with a fixed batch still run on any batch.
 *
 * <p>One instance converts one model; not thread-safe.
 */
final class OnnxConverter {
    private static final int MIN_OPSET = 7;

    private final String source;
    private final GraphProto g;
    private final int opset;

    /** Initializers and folded {@code Constant} outputs, by value name. */
    private final Map<String, TensorProto> constants = new HashMap<>();
    /** Item shapes of activations (graph inputs and node outputs), by value name. */
    private final Map<String, Shape> shapes = new HashMap<>();
    /** Values that are other names for a value (outputs of Identity and Dropout). */
    private final Map<String, String> aliases = new HashMap<>();
    /** ONNX values Glassbox does not produce (second outputs such as Dropout's mask), and why. */
    private final Map<String, String> unavailable = new HashMap<>();
    /** How many nodes (and graph outputs) read each value, after resolving aliases. */
    private final Map<String, Integer> uses = new HashMap<>();

    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Integer> producer = new HashMap<>();
    private final Set<String> nodeNames = new HashSet<>();
    /** The batch size every input declares, or -1 when it is symbolic or they disagree. */
    private int staticBatch = -1;

    private OnnxConverter(String source, ModelProto model) {
        this.source = source;
        this.g = model.getGraph();
        this.opset = defaultOpset(model);
    }

    static Graph convert(ModelProto model, String source) {
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new InvalidInputException("not a valid ONNX model: it has no graph", source);
        }
        return new OnnxConverter(source, model).run();
    }

    private int defaultOpset(ModelProto model) {
        for (OperatorSetIdProto id : model.getOpsetImportList()) {
            if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) {
                long v = id.getVersion();
                if (v < MIN_OPSET) {
                    throw new UnsupportedFeatureException("ONNX opset " + v + " is not supported (7 or newer is)", source);
                }
                return (int) Math.min(v, Integer.MAX_VALUE);
            }
        }
        throw new UnsupportedFeatureException("the model imports no default ONNX opset (ai.onnx 7 or newer is needed)", source);
    }

    private Graph run() {
        List<ValueInfo> inputs = readInputs();
        for (TensorProto t : g.getInitializerList()) {
            constants.put(t.getName(), t);
        }
        List<Integer> order = sortTopologically();
        countUses(order);
        for (int index : order) {
            convertNode(g.getNode(index), index);
        }
        List<String> outputs = readOutputs();
        try {
            return new Graph(g.getName().isEmpty() ? baseName(source) : g.getName(), inputs, nodes, outputs);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("not a valid ONNX model: " + e.getMessage(), source, e);
        }
    }

    // ---------------------------------------------------------------- inputs and outputs

    private List<ValueInfo> readInputs() {
        Set<String> initializers = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) {
            initializers.add(t.getName());
        }
        List<ValueInfo> inputs = new ArrayList<>();
        boolean batchKnown = true;
        Integer batch = null;
        for (ValueInfoProto vi : g.getInputList()) {
            if (initializers.contains(vi.getName())) {
                continue; // old exporters list initializers as inputs too
            }
            String where = "input " + vi.getName();
            TypeProto type = vi.getType();
            if (!type.hasTensorType()) {
                throw new UnsupportedFeatureException("graph input " + vi.getName() + " is not a tensor", where);
            }
            int elem = type.getTensorType().getElemType();
            if (elem != Tensors.FLOAT && elem != 0) {
                throw new UnsupportedFeatureException("graph input " + vi.getName() + " has element type " + elem
                        + "; only float32 inputs are supported", where);
            }
            if (!type.getTensorType().hasShape() || type.getTensorType().getShape().getDimCount() == 0) {
                throw new InvalidInputException("graph input " + vi.getName() + " needs a shape with a batch axis", where);
            }
            List<TensorShapeProto.Dimension> dims = type.getTensorType().getShape().getDimList();
            int[] item = new int[dims.size() - 1];
            for (int a = 1; a < dims.size(); a++) {
                TensorShapeProto.Dimension d = dims.get(a);
                if (!d.hasDimValue()) {
                    throw new UnsupportedFeatureException("graph input " + vi.getName() + " has a symbolic dimension '"
                            + d.getDimParam() + "' on axis " + a + "; only the batch axis may be symbolic", where);
                }
                if (d.getDimValue() < 1 || d.getDimValue() > Integer.MAX_VALUE) {
                    throw new InvalidInputException("graph input " + vi.getName() + " has invalid dimension "
                            + d.getDimValue() + " on axis " + a, where);
                }
                item[a - 1] = (int) d.getDimValue();
            }
            Shape shape = Shape.of(item);
            try {
                shape.size();
            } catch (ArithmeticException e) {
                throw new InvalidInputException("graph input " + vi.getName() + " " + shape + " is too large", where, e);
            }
            TensorShapeProto.Dimension b = dims.get(0);
            if (b.hasDimValue() && b.getDimValue() >= 1 && b.getDimValue() <= Integer.MAX_VALUE) {
                int n = (int) b.getDimValue();
                if (batch != null && batch != n) {
                    batchKnown = false;
                }
                batch = n;
            } else {
                batchKnown = false;
            }
            shapes.put(vi.getName(), shape);
            inputs.add(new ValueInfo(vi.getName(), shape));
        }
        if (inputs.isEmpty()) {
            throw new InvalidInputException("not a valid ONNX model: the graph has no inputs besides its initializers", source);
        }
        staticBatch = batchKnown && batch != null ? batch : -1;
        return inputs;
    }

    private List<String> readOutputs() {
        if (g.getOutputCount() == 0) {
            throw new InvalidInputException("not a valid ONNX model: the graph has no outputs", source);
        }
        List<String> outputs = new ArrayList<>();
        Map<String, String> rename = new LinkedHashMap<>();
        Set<String> declared = new HashSet<>();
        for (ValueInfoProto vi : g.getOutputList()) {
            declared.add(vi.getName());
        }
        for (ValueInfoProto vi : g.getOutputList()) {
            String where = "output " + vi.getName();
            String v = resolve(vi.getName());
            Shape shape = shapes.get(v);
            if (shape == null) {
                if (constants.containsKey(v)) {
                    throw new UnsupportedFeatureException("graph output " + vi.getName() + " is a constant", where);
                }
                if (unavailable.containsKey(v)) {
                    throw new UnsupportedFeatureException("graph output " + vi.getName() + " is " + unavailable.get(v)
                            + ", which Glassbox does not compute", where);
                }
                throw new InvalidInputException("graph output " + vi.getName() + " is not produced by any node", where);
            }
            checkDeclaredShape(vi, shape, where);
            // An Identity at the end renamed the output away: give the producing node the declared name back.
            if (!v.equals(vi.getName()) && producer.containsKey(v) && !declared.contains(v) && !rename.containsKey(v)
                    && !rename.containsValue(vi.getName())) {
                rename.put(v, vi.getName());
                v = vi.getName();
            }
            outputs.add(v);
        }
        if (!rename.isEmpty()) {
            nodes.replaceAll(n -> new Node(n.name(), n.op(),
                    n.inputs().stream().map(i -> rename.getOrDefault(i, i)).toList(),
                    rename.getOrDefault(n.output(), n.output())));
        }
        return outputs;
    }

    /** Where the model declares a graph output's shape (batch axis aside), it must be what we infer. */
    private void checkDeclaredShape(ValueInfoProto vi, Shape inferred, String where) {
        if (!vi.getType().hasTensorType() || !vi.getType().getTensorType().hasShape()) {
            return;
        }
        List<TensorShapeProto.Dimension> dims = vi.getType().getTensorType().getShape().getDimList();
        if (dims.size() != inferred.rank() + 1) {
            throw new InvalidInputException("graph output " + vi.getName() + " is declared with rank " + dims.size()
                    + " but the graph computes " + inferred + " per item", where);
        }
        for (int a = 1; a < dims.size(); a++) {
            if (dims.get(a).hasDimValue() && dims.get(a).getDimValue() != inferred.dim(a - 1)) {
                throw new InvalidInputException("graph output " + vi.getName() + " is declared with dimension "
                        + dims.get(a).getDimValue() + " on axis " + a + " but the graph computes " + inferred + " per item", where);
            }
        }
    }

    // ---------------------------------------------------------------- order and uses

    /** Kahn's algorithm, keeping the file's order among nodes that are ready together. */
    private List<Integer> sortTopologically() {
        int count = g.getNodeCount();
        Set<String> given = new HashSet<>();
        for (ValueInfoProto vi : g.getInputList()) {
            given.add(vi.getName());
        }
        for (TensorProto t : g.getInitializerList()) {
            given.add(t.getName());
        }
        Map<String, Integer> producedBy = new HashMap<>();
        for (int i = 0; i < count; i++) {
            for (String out : g.getNode(i).getOutputList()) {
                if (out.isEmpty()) {
                    continue;
                }
                if (given.contains(out) || producedBy.putIfAbsent(out, i) != null) {
                    throw new InvalidInputException("value '" + out + "' is defined more than once", where(g.getNode(i), i));
                }
            }
        }
        List<List<Integer>> successors = new ArrayList<>(count);
        int[] pending = new int[count];
        for (int i = 0; i < count; i++) {
            successors.add(new ArrayList<>());
        }
        for (int i = 0; i < count; i++) {
            NodeProto n = g.getNode(i);
            for (String in : n.getInputList()) {
                if (in.isEmpty() || given.contains(in)) {
                    continue;
                }
                Integer p = producedBy.get(in);
                if (p == null) {
                    throw new InvalidInputException("reads '" + in + "', which is neither an initializer, a graph input"
                            + " nor a node output (missing initializer?)", where(n, i));
                }
                successors.get(p).add(i);
                pending[i]++;
            }
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < count; i++) {
            if (pending[i] == 0) {
                ready.add(i);
            }
        }
        List<Integer> order = new ArrayList<>(count);
        while (!ready.isEmpty()) {
            int i = ready.poll();
            order.add(i);
            for (int s : successors.get(i)) {
                if (--pending[s] == 0) {
                    ready.add(s);
                }
            }
        }
        if (order.size() < count) {
            for (int i = 0; i < count; i++) {
                if (pending[i] > 0) {
                    throw new InvalidInputException("the graph has a cycle through this node", where(g.getNode(i), i));
                }
            }
        }
        return order;
    }

    /** Counts readers per value as the converted graph will see them (Identity/Dropout resolved). */
    private void countUses(List<Integer> order) {
        Map<String, String> staticAliases = new HashMap<>();
        for (int index : order) {
            NodeProto n = g.getNode(index);
            if (isAlias(n)) {
                if (n.getInputCount() > 0 && n.getOutputCount() > 0) {
                    staticAliases.put(n.getOutput(0), resolve(staticAliases, n.getInput(0)));
                }
                continue;
            }
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) {
                    uses.merge(resolve(staticAliases, in), 1, Integer::sum);
                }
            }
        }
        for (ValueInfoProto vi : g.getOutputList()) {
            uses.merge(resolve(staticAliases, vi.getName()), 1, Integer::sum);
        }
    }

    private static boolean isAlias(NodeProto n) {
        return isDefaultDomain(n) && (n.getOpType().equals("Identity") || n.getOpType().equals("Dropout"));
    }

    private static boolean isDefaultDomain(NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    private static String resolve(Map<String, String> aliases, String v) {
        String r = v;
        for (String next = aliases.get(r); next != null; next = aliases.get(r)) {
            r = next;
        }
        return r;
    }

    private String resolve(String v) {
        return resolve(aliases, v);
    }

    // ---------------------------------------------------------------- nodes

    private String nodeName(NodeProto n, int index) {
        String name = n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
        String unique = name;
        for (int k = 1; nodeNames.contains(unique); k++) {
            unique = name + "_" + (k == 1 ? index : index + "_" + k);
        }
        return unique;
    }

    private static String opLabel(NodeProto n) {
        return isDefaultDomain(n) ? n.getOpType() : n.getDomain() + "." + n.getOpType();
    }

    private static String where(NodeProto n, int index) {
        String name = n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
        return "node " + name + " (" + opLabel(n) + ")";
    }

    private void convertNode(NodeProto proto, int index) {
        String name = nodeName(proto, index);
        Step n = new Step(proto, name, "node " + name + " (" + opLabel(proto) + ")");
        try {
            if (proto.getOutputCount() == 0 || proto.getOutput(0).isEmpty()) {
                throw n.invalid("has no output");
            }
            if (!isDefaultDomain(proto)) {
                throw n.unsupported("unsupported op " + opLabel(proto));
            }
            switch (proto.getOpType()) {
                case "Gemm" -> gemm(n);
                case "MatMul" -> matMul(n);
                case "Add" -> add(n);
                case "Conv" -> conv(n);
                case "Relu" -> n.emit(new Op.Relu(), n.activation(0), n.shapeOf(0));
                case "MaxPool" -> maxPool(n);
                case "AveragePool" -> averagePool(n);
                case "GlobalAveragePool" -> globalAveragePool(n);
                case "Flatten" -> flatten(n);
                case "Reshape" -> reshape(n);
                case "Softmax" -> softmax(n, false);
                case "LogSoftmax" -> softmax(n, true);
                case "Identity", "Dropout" -> alias(n);
                case "Constant" -> constant(n);
                default -> throw n.unsupported("unsupported op " + proto.getOpType());
            }
        } catch (GlassboxException e) {
            throw e;
        } catch (IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
            // thrown by the API's records (Geometry2d, Shape, ...) for values out of range
            throw n.invalid(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private void gemm(Step n) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        if (in.rank() != 1) {
            throw n.invalid("input must be 2-D [N, features], got item shape " + in);
        }
        if (n.attrs.i("transA", 0) != 0) {
            throw n.unsupported("Gemm with transA=1 is not supported");
        }
        long transB = n.attrs.i("transB", 0);
        float alpha = n.attrs.f("alpha", 1f);
        float beta = n.attrs.f("beta", 1f);
        TensorProto b = n.constant(1, "weight B");
        int[] bd = Tensors.dims(b, n.where);
        if (bd.length != 2) {
            throw n.invalid("weight " + Tensors.label(b) + " must be 2-D, is " + Arrays.toString(bd));
        }
        int inF = transB != 0 ? bd[1] : bd[0];
        int outF = transB != 0 ? bd[0] : bd[1];
        if (inF != in.dim(0)) {
            throw n.invalid("weight " + Tensors.label(b) + " " + Arrays.toString(bd) + (transB != 0 ? " (transB=1)" : "")
                    + " expects " + inF + " input features, got " + in.dim(0));
        }
        float[] bv = Tensors.floats(b, n.where);
        float[] w = transB != 0 ? scaled(bv, alpha) : transposed(bv, inF, outF, alpha);
        HostTensor bias = null;
        if (n.hasInput(2)) {
            TensorProto c = n.constant(2, "bias C");
            int[] cd = Tensors.dims(c, n.where);
            float[] cv = Tensors.floats(c, n.where);
            float[] bb = new float[outF];
            boolean perOutput = cv.length == outF && (cd.length == 1 || (cd.length == 2 && cd[0] == 1));
            if (perOutput) {
                for (int j = 0; j < outF; j++) {
                    bb[j] = beta * cv[j];
                }
            } else if (cv.length == 1) {
                Arrays.fill(bb, beta * cv[0]);
            } else {
                throw n.unsupported("bias C " + Tensors.label(c) + " " + Arrays.toString(cd) + " is not a vector of "
                        + outF + " values");
            }
            bias = HostTensor.wrap(Shape.of(outF), bb);
        }
        n.emit(new Op.Dense(HostTensor.wrap(Shape.of(outF, inF), w), bias), x, Shape.of(outF));
    }

    private void matMul(Step n) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        TensorProto b = n.constant(1, "right operand B");
        int[] bd = Tensors.dims(b, n.where);
        if (in.rank() != 1 || bd.length != 2) {
            throw n.unsupported("only MatMul of [N, in] activations by a constant [in, out] matrix is supported, got item shape "
                    + in + " by " + Arrays.toString(bd));
        }
        if (bd[0] != in.dim(0)) {
            throw n.invalid("weight " + Tensors.label(b) + " " + Arrays.toString(bd) + " expects " + bd[0]
                    + " input features, got " + in.dim(0));
        }
        float[] w = transposed(Tensors.floats(b, n.where), bd[0], bd[1], 1f);
        n.emit(new Op.Dense(HostTensor.wrap(Shape.of(bd[1], bd[0]), w), null), x, Shape.of(bd[1]));
    }

    private void add(Step n) {
        if (n.proto.getInputCount() != 2) {
            throw n.invalid("takes 2 inputs, got " + n.proto.getInputCount());
        }
        String a = resolve(n.proto.getInput(0));
        String b = resolve(n.proto.getInput(1));
        boolean aConst = constants.containsKey(a);
        boolean bConst = constants.containsKey(b);
        if (!aConst && !bConst) {
            String x = n.activation(0);
            String y = n.activation(1);
            if (!shapes.get(x).equals(shapes.get(y))) {
                throw n.unsupported("Add of item shapes " + shapes.get(x) + " and " + shapes.get(y)
                        + " (broadcasting is not supported)");
            }
            n.emit(new Op.Add(), List.of(x, y), shapes.get(x));
            return;
        }
        if (aConst && bConst) {
            throw n.unsupported("Add of two constants (constant folding is not supported)");
        }
        String x = n.activation(aConst ? 1 : 0);
        TensorProto c = constants.get(aConst ? a : b);
        Integer at = producer.get(x);
        if (at == null || !(nodes.get(at).op() instanceof Op.Dense dense) || uses.getOrDefault(x, 0) != 1) {
            throw n.unsupported("Add of a constant is supported only as the bias of a MatMul or Gemm whose output feeds nothing else");
        }
        int outF = dense.outFeatures();
        int[] cd = Tensors.dims(c, n.where);
        if (!(cd.length == 1 || (cd.length == 2 && cd[0] == 1)) || cd[cd.length - 1] != outF) {
            throw n.invalid("bias " + Tensors.label(c) + " " + Arrays.toString(cd) + " does not match " + outF
                    + " output features of node " + nodes.get(at).name());
        }
        float[] cv = Tensors.floats(c, n.where);
        if (dense.bias() != null) {
            float[] sum = dense.bias().data().clone();
            for (int j = 0; j < outF; j++) {
                sum[j] += cv[j];
            }
            cv = sum;
        }
        Node fused = nodes.get(at);
        String out = n.proto.getOutput(0);
        nodes.set(at, new Node(fused.name(), new Op.Dense(dense.weight(), HostTensor.wrap(Shape.of(outF), cv)),
                fused.inputs(), out));
        producer.remove(x);
        producer.put(out, at);
        shapes.put(out, shapes.remove(x));
    }

    private void conv(Step n) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        TensorProto wt = n.constant(1, "weight W");
        int[] wd = Tensors.dims(wt, n.where);
        if (in.rank() != 3 || wd.length != 4) {
            throw n.unsupported("only 2-D Conv is supported, got item shape " + in + " and weight " + Arrays.toString(wd));
        }
        long group = n.attrs.i("group", 1);
        if (group < 1 || group > wd[0] || wd[0] % group != 0) {
            throw n.invalid("group " + group + " does not divide " + wd[0] + " output channels");
        }
        if ((long) wd[1] * group != in.dim(0)) {
            throw n.invalid("weight " + Tensors.label(wt) + " " + Arrays.toString(wd) + " with group " + group
                    + " expects " + (long) wd[1] * group + " input channels, got " + in.dim(0));
        }
        long[] kernel = n.attrs.ints("kernel_shape", null);
        if (kernel != null && (kernel.length != 2 || kernel[0] != wd[2] || kernel[1] != wd[3])) {
            throw n.invalid("kernel_shape " + Arrays.toString(kernel) + " does not match weight " + Arrays.toString(wd));
        }
        Geometry2d geo = window(n, in, wd[2], wd[3], true);
        HostTensor bias = null;
        if (n.hasInput(2)) {
            TensorProto bt = n.constant(2, "bias B");
            int[] bd = Tensors.dims(bt, n.where);
            if (bd.length != 1 || bd[0] != wd[0]) {
                throw n.invalid("bias " + Tensors.label(bt) + " " + Arrays.toString(bd) + " does not match " + wd[0]
                        + " output channels");
            }
            bias = HostTensor.wrap(Shape.of(bd), Tensors.floats(bt, n.where));
        }
        Shape out = spatialOut(n, in, wd[0], geo, wd[2], wd[3]);
        n.emit(new Op.Conv2d(HostTensor.wrap(Shape.of(wd), Tensors.floats(wt, n.where)), bias, geo, (int) group), x, out);
    }

    private void maxPool(Step n) {
        String x = n.activation(0);
        Shape in = requireImage(n, shapes.get(x));
        if (n.attrs.i("ceil_mode", 0) != 0) {
            throw n.unsupported("MaxPool with ceil_mode=1 is not supported");
        }
        if (n.attrs.i("storage_order", 0) != 0) {
            throw n.unsupported("MaxPool with storage_order=1 is not supported");
        }
        int[] k = kernelShape(n);
        Geometry2d geo = window(n, in, k[0], k[1], true);
        n.emit(new Op.MaxPool2d(k[0], k[1], geo), x, spatialOut(n, in, in.dim(0), geo, k[0], k[1]));
    }

    private void averagePool(Step n) {
        String x = n.activation(0);
        Shape in = requireImage(n, shapes.get(x));
        if (n.attrs.i("ceil_mode", 0) != 0) {
            throw n.unsupported("AveragePool with ceil_mode=1 is not supported");
        }
        int[] k = kernelShape(n);
        Geometry2d geo = window(n, in, k[0], k[1], true);
        boolean includePad = n.attrs.i("count_include_pad", 0) != 0;
        n.emit(new Op.AvgPool2d(k[0], k[1], geo, includePad), x, spatialOut(n, in, in.dim(0), geo, k[0], k[1]));
    }

    private void globalAveragePool(Step n) {
        String x = n.activation(0);
        Shape in = requireImage(n, shapes.get(x));
        n.emit(new Op.GlobalAvgPool(), x, Shape.of(in.dim(0), 1, 1));
    }

    private void flatten(Step n) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        int rank = in.rank() + 1;
        long axis = n.attrs.i("axis", 1);
        if (axis < -rank || axis > rank) {
            throw n.invalid("axis " + axis + " is out of range for rank " + rank);
        }
        int a = (int) (axis < 0 ? axis + rank : axis);
        long before = 1;
        long after = 1;
        for (int d = 1; d < rank; d++) {
            if (d < a) {
                before *= in.dim(d - 1);
            } else {
                after *= in.dim(d - 1);
            }
        }
        if (a == 0 || before != 1) {
            throw n.unsupported("Flatten with axis " + axis + " of item shape " + in + " merges the batch axis");
        }
        n.emit(new Op.Flatten(a), x, Shape.of(Math.toIntExact(after)));
    }

    private void reshape(Step n) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        long[] target = Tensors.longs(n.constant(1, "shape"), n.where);
        if (target.length == 0) {
            throw n.unsupported("Reshape to a scalar drops the batch axis");
        }
        if (n.attrs.i("allowzero", 0) != 0) {
            for (long d : target) {
                if (d == 0) {
                    throw n.unsupported("Reshape with allowzero=1 and a 0 in the shape is not supported");
                }
            }
        }
        int[] shape = new int[target.length];
        for (int i = 0; i < shape.length; i++) {
            if (target[i] < -1 || target[i] > Integer.MAX_VALUE) {
                throw n.invalid("invalid target dimension " + target[i] + " in " + Arrays.toString(target));
            }
            shape[i] = (int) target[i];
        }
        if (shape[0] > 0) {
            if (shape[0] != staticBatch) {
                throw n.unsupported("Reshape to " + Arrays.toString(target) + " fixes the batch axis at " + shape[0]
                        + (staticBatch > 0 ? " but the model's batch is " + staticBatch : " but the batch is dynamic"));
            }
            shape[0] = 0; // the model's fixed batch: copy whatever batch comes in
        }
        int batch = staticBatch > 0 ? staticBatch : 1;
        Op.Reshape op = new Op.Reshape(shape);
        Shape out;
        try {
            out = op.outputShape(in.withBatch(batch));
        } catch (IllegalArgumentException | IndexOutOfBoundsException | ArithmeticException e) {
            throw n.invalid("cannot reshape item shape " + in + " to " + Arrays.toString(target));
        }
        if (out.dim(0) != batch) {
            throw n.unsupported("Reshape to " + Arrays.toString(target) + " of item shape " + in + " changes the batch axis");
        }
        n.emit(op, x, out.withoutBatch());
    }

    private void softmax(Step n, boolean log) {
        String x = n.activation(0);
        Shape in = shapes.get(x);
        int rank = in.rank() + 1;
        long axis = n.attrs.i("axis", opset >= 13 ? -1 : 1);
        if (axis < -rank || axis >= rank) {
            throw n.invalid("axis " + axis + " is out of range for rank " + rank);
        }
        int a = (int) (axis < 0 ? axis + rank : axis);
        if (a == 0) {
            throw n.unsupported("softmax over the batch axis is not supported");
        }
        if (opset < 13 && a != rank - 1) {
            throw n.unsupported("softmax over the flattened axes " + a + ".." + (rank - 1)
                    + " (opset < 13 semantics) is not supported; only the last axis");
        }
        n.emit(log ? new Op.LogSoftmax(a) : new Op.Softmax(a), x, in);
    }

    private void alias(Step n) {
        if (!n.hasInput(0)) {
            throw n.invalid("needs input 0");
        }
        String in = resolve(n.proto.getInput(0));
        aliases.put(n.proto.getOutput(0), in);
        for (int k = 1; k < n.proto.getOutputCount(); k++) {
            if (!n.proto.getOutput(k).isEmpty()) {
                unavailable.put(n.proto.getOutput(k), "output " + k + " of " + n.where);
            }
        }
    }

    private void constant(Step n) {
        String which = n.attrs.which("value", "value_float", "value_floats", "value_int", "value_ints");
        TensorProto t;
        if (which == null) {
            throw n.unsupported("Constant without a tensor, float or int value is not supported");
        }
        String out = n.proto.getOutput(0);
        switch (which) {
            case "value" -> t = n.attrs.t("value").toBuilder().setName(out).build();
            case "value_float" -> t = TensorProto.newBuilder().setName(out).setDataType(Tensors.FLOAT)
                    .addFloatData(n.attrs.f("value_float", 0f)).build();
            case "value_floats" -> {
                TensorProto.Builder tb = TensorProto.newBuilder().setName(out).setDataType(Tensors.FLOAT);
                float[] fs = n.attrs.floats("value_floats");
                for (float f : fs) {
                    tb.addFloatData(f);
                }
                t = tb.addDims(fs.length).build();
            }
            case "value_int" -> t = TensorProto.newBuilder().setName(out).setDataType(Tensors.INT64)
                    .addInt64Data(n.attrs.i("value_int", 0)).build();
            default -> {
                long[] is = n.attrs.ints("value_ints", new long[0]);
                TensorProto.Builder tb = TensorProto.newBuilder().setName(out).setDataType(Tensors.INT64);
                for (long i : is) {
                    tb.addInt64Data(i);
                }
                t = tb.addDims(is.length).build();
            }
        }
        constants.put(out, t);
    }

    // ---------------------------------------------------------------- windows and shapes

    private static Shape requireImage(Step n, Shape in) {
        if (in.rank() != 3) {
            throw n.unsupported("only 2-D pooling over [N, C, H, W] is supported, got item shape " + in);
        }
        return in;
    }

    private static int[] kernelShape(Step n) {
        long[] k = n.attrs.ints("kernel_shape", null);
        if (k == null) {
            throw n.invalid("attribute kernel_shape is missing");
        }
        if (k.length != 2) {
            throw n.unsupported("only 2-D pooling is supported, kernel_shape " + Arrays.toString(k));
        }
        return new int[] {positive(n, "kernel_shape", k[0]), positive(n, "kernel_shape", k[1])};
    }

    /** Strides, pads (explicit or from auto_pad) and dilations of a 2-D window over {@code in = [C, H, W]}. */
    private static Geometry2d window(Step n, Shape in, int kH, int kW, boolean dilations) {
        long[] strides = pair(n, "strides", n.attrs.ints("strides", new long[] {1, 1}), 2);
        long[] dil = dilations ? pair(n, "dilations", n.attrs.ints("dilations", new long[] {1, 1}), 2) : new long[] {1, 1};
        int sH = positive(n, "strides", strides[0]);
        int sW = positive(n, "strides", strides[1]);
        int dH = positive(n, "dilations", dil[0]);
        int dW = positive(n, "dilations", dil[1]);
        String autoPad = n.attrs.s("auto_pad", "NOTSET");
        int[] pads = new int[4];
        switch (autoPad) {
            case "NOTSET", "" -> {
                long[] p = pair(n, "pads", n.attrs.ints("pads", new long[4]), 4);
                for (int i = 0; i < 4; i++) {
                    if (p[i] < 0 || p[i] > Integer.MAX_VALUE) {
                        throw n.invalid("invalid pads " + Arrays.toString(p));
                    }
                    pads[i] = (int) p[i];
                }
            }
            case "VALID" -> {
            }
            case "SAME_UPPER", "SAME_LOWER" -> {
                boolean upper = autoPad.equals("SAME_UPPER");
                int[] h = samePads(in.dim(1), kH, sH, dH, upper);
                int[] w = samePads(in.dim(2), kW, sW, dW, upper);
                pads = new int[] {h[0], w[0], h[1], w[1]};
            }
            default -> throw n.invalid("unknown auto_pad " + autoPad);
        }
        // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right]
        return new Geometry2d(sH, sW, pads[0], pads[1], pads[2], pads[3], dH, dW);
    }

    /** SAME padding: output ceil(in / stride); the odd pixel goes at the end (UPPER) or the start (LOWER). */
    static int[] samePads(int in, int k, int stride, int dilation, boolean upper) {
        long out = (in + (long) stride - 1) / stride;
        long total = Math.max(0, (out - 1) * stride + (long) (k - 1) * dilation + 1 - in);
        int small = Math.toIntExact(total / 2);
        int large = Math.toIntExact(total - total / 2);
        return upper ? new int[] {small, large} : new int[] {large, small};
    }

    private static Shape spatialOut(Step n, Shape in, int channels, Geometry2d geo, int kH, int kW) {
        long h = ((long) in.dim(1) + geo.padTop() + geo.padBottom() - (long) geo.dilationH() * (kH - 1) - 1);
        long w = ((long) in.dim(2) + geo.padLeft() + geo.padRight() - (long) geo.dilationW() * (kW - 1) - 1);
        if (h < 0 || w < 0) {
            throw n.invalid("the " + kH + "x" + kW + " window (dilation " + geo.dilationH() + "x" + geo.dilationW()
                    + ") does not fit the padded input " + in);
        }
        return Shape.of(channels, Math.toIntExact(h / geo.strideH() + 1), Math.toIntExact(w / geo.strideW() + 1));
    }

    private static long[] pair(Step n, String attr, long[] values, int length) {
        if (values.length != length) {
            throw n.unsupported("only 2-D windows are supported, " + attr + " " + Arrays.toString(values));
        }
        return values;
    }

    private static int positive(Step n, String attr, long v) {
        if (v < 1 || v > Integer.MAX_VALUE) {
            throw n.invalid("invalid " + attr + " value " + v);
        }
        return (int) v;
    }

    private static float[] scaled(float[] v, float alpha) {
        if (alpha == 1f) {
            return v;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = alpha * v[i];
        }
        return out;
    }

    /** {@code m} is [rows, cols] row-major; returns alpha * m^T, [cols, rows]. */
    private static float[] transposed(float[] m, int rows, int cols, float alpha) {
        float[] out = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = alpha * m[r * cols + c];
            }
        }
        return out;
    }

    private static String baseName(String source) {
        String s = source == null ? "model" : source;
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        s = s.substring(slash + 1);
        return s.endsWith(".onnx") ? s.substring(0, s.length() - 5) : s;
    }

    /** One node being converted: its inputs, attributes and errors that name it. */
    private final class Step {
        final NodeProto proto;
        final String name;
        final String where;
        final Attributes attrs;

        Step(NodeProto proto, String name, String where) {
            this.proto = proto;
            this.name = name;
            this.where = where;
            this.attrs = new Attributes(proto, where);
        }

        boolean hasInput(int i) {
            return i < proto.getInputCount() && !proto.getInput(i).isEmpty();
        }

        /** Input {@code i}, which must be an activation (a graph input or another node's output). */
        String activation(int i) {
            if (!hasInput(i)) {
                throw invalid("needs input " + i);
            }
            String v = resolve(proto.getInput(i));
            if (shapes.containsKey(v)) {
                return v;
            }
            if (constants.containsKey(v)) {
                throw unsupported("input " + i + " '" + v + "' is a constant; " + proto.getOpType()
                        + " of constants is not supported");
            }
            if (unavailable.containsKey(v)) {
                throw unsupported("reads '" + v + "', " + unavailable.get(v) + ", which Glassbox does not compute");
            }
            throw invalid("reads undefined value '" + v + "'");
        }

        Shape shapeOf(int i) {
            return shapes.get(resolve(proto.getInput(i)));
        }

        /** Input {@code i}, which must be an initializer or a folded Constant. */
        TensorProto constant(int i, String role) {
            if (!hasInput(i)) {
                throw invalid("needs input " + i + " (" + role + ")");
            }
            String v = resolve(proto.getInput(i));
            TensorProto t = constants.get(v);
            if (t != null) {
                return t;
            }
            if (shapes.containsKey(v)) {
                throw invalid("missing initializer: " + role + " '" + v + "' must be a constant, it is an activation");
            }
            throw invalid("missing initializer '" + v + "' for " + role);
        }

        void emit(Op op, String input, Shape out) {
            emit(op, List.of(input), out);
        }

        void emit(Op op, List<String> inputs, Shape out) {
            out.size(); // an ArithmeticException for absurd shapes, reported as invalid
            String output = proto.getOutput(0);
            nodes.add(new Node(name, op, inputs, output));
            nodeNames.add(name);
            producer.put(output, nodes.size() - 1);
            shapes.put(output, out);
            for (int k = 1; k < proto.getOutputCount(); k++) {
                if (!proto.getOutput(k).isEmpty()) {
                    unavailable.put(proto.getOutput(k), "output " + k + " of " + where);
                }
            }
        }

        InvalidInputException invalid(String what) {
            return new InvalidInputException(what, where);
        }

        UnsupportedFeatureException unsupported(String what) {
            return new UnsupportedFeatureException(what, where);
        }
    }
}

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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Converts one parsed ONNX model into a Glassbox {@link Graph}: sorts the nodes
 * topologically, maps each supported op onto {@link Op} records, folds what is known at load
 * time, and infers the full shape of every value on the way (with the model's static batch,
 * or 1 when the batch is symbolic), so that inconsistent models are rejected here, naming
 * the node, rather than failing later in a backend.
 *
 * <h2>Beyond one-to-one mappings</h2>
 * <ul>
 * <li>{@code Identity}, {@code Dropout} and float-to-float {@code Cast} disappear (their output
 * is another name for their input).</li>
 * <li>Constants ({@code Constant}, initializers, and everything computed from them alone by
 * {@code Shape}, {@code Gather}, {@code Unsqueeze}, {@code Squeeze}, {@code Concat},
 * {@code Cast}, {@code Slice}, {@code Reshape}, {@code Transpose}, {@code Flatten},
 * {@code Expand}, {@code ConstantOfShape}, {@code Split}, {@code Add}/{@code Sub}/{@code Mul}/{@code Div})
 * are folded; a constant that meets an activation becomes an {@link Op.Constant} node.</li>
 * <li>1-D {@code Conv}, {@code ConvTranspose}, {@code MaxPool} and {@code AveragePool} run as
 * their 2-D forms on a {@code [N, C, 1, L]} view.</li>
 * <li>{@code MatMul} or {@code Gemm} with a constant weight is an {@link Op.Dense}; an
 * {@code Add} of a constant vector to its output that feeds nothing else becomes the bias.</li>
 * <li>{@code Squeeze} and {@code Unsqueeze} are {@link Op.Reshape}s, {@code Split} one
 * {@link Op.Slice} per output, {@code Gather} of constant indices from an activation slices.</li>
 * </ul>
 *
 * <h2>The batch axis</h2>
 * Glassbox runs models on batches of any size, axis 0 being the batch. Each activation
 * remembers whether its axis 0 is still the batch. A {@code Shape} of a batched activation
 * yields the batch size as a symbolic value, which {@code Reshape} and {@code Expand} targets
 * turn back into "copy the batch" ({@code 0}, resp. {@code 1}); a {@code Reshape} whose leading
 * dimension equals the model's static batch copies the batch as well. With a symbolic batch,
 * any op that would move the batch axis, mix items of the batch, or use the batch size in
 * arithmetic is rejected; with a static batch such ops are allowed (the graph is then exact
 * at the declared batch size).
 *
 * <p>One instance converts one model; not thread-safe.
 */
final class OnnxConverter {
    static final int MIN_OPSET = 1;
    static final int MAX_OPSET = 23;
    /** The most elements all folded constants together may hold. */
    private static final long MAX_FOLDED_TOTAL = 1L << 24;

    /** The ONNX operators this converter maps (those only folded included), sorted. */
    static final List<String> OPERATORS = List.of(
            "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
            "Conv", "ConvTranspose", "Div", "Dropout", "Elu", "Equal", "Expand", "Flatten", "Gather", "Gemm",
            "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu",
            "LogSoftmax", "MatMul", "MaxPool", "Mul", "PRelu", "Pad", "ReduceMean", "ReduceSum", "Relu",
            "Reshape", "Resize", "Shape", "Sigmoid", "Slice", "Softmax", "Split", "Squeeze", "Sub", "Tanh",
            "Transpose", "Unsqueeze", "Upsample", "Where");

    private final String source;
    private final Path modelDir;
    private final GraphProto g;
    private final int opset;

    /** An activation: a value computed at run time, by its Glassbox name, with its full shape. */
    private record Act(String value, Shape shape, boolean batched) {
    }

    /** Initializers, decoded on first use. */
    private final Map<String, TensorProto> initializers = new HashMap<>();
    /** Constants (decoded initializers, Constant outputs, folded values) by ONNX name. */
    private final Map<String, Const> consts = new HashMap<>();
    /** Activations by ONNX name (aliases map to the same {@link Act}). */
    private final Map<String, Act> acts = new HashMap<>();
    /** ONNX values Glassbox does not produce (second outputs such as Dropout's mask), and why. */
    private final Map<String, String> unavailable = new HashMap<>();
    /** Outputs of Identity and Dropout, and what they stand for. */
    private final Map<String, String> staticAliases = new HashMap<>();
    /** How many node inputs (and graph outputs) read each value, Identity and Dropout resolved. */
    private final Map<String, Integer> uses = new HashMap<>();
    /** The node that produces each ONNX value, for messages. */
    private final Map<String, String> producerWhere = new HashMap<>();
    /** Op.Constant nodes already made for constants, by ONNX name. */
    private final Map<String, Act> constNodes = new HashMap<>();
    /** Dense nodes from MatMul or Gemm whose output can still take a bias, by Glassbox value. */
    private final Map<String, Integer> fusable = new HashMap<>();

    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Integer> producer = new HashMap<>();
    private final Set<String> nodeNames = new HashSet<>();
    /** The names the model gives its nodes, kept for those nodes (helper nodes get other names). */
    private final Set<String> onnxNodeNames = new HashSet<>();
    private final Set<String> valueNames = new HashSet<>();

    /** The batch size shapes are computed with: the static batch, or 1 when it is symbolic. */
    private int batch = 1;
    private boolean dynamicBatch = true;
    private long foldedTotal;

    private OnnxConverter(String source, Path modelDir, ModelProto model) {
        this.source = source;
        this.modelDir = modelDir;
        this.g = model.getGraph();
        this.opset = defaultOpset(model);
    }

    static Graph convert(ModelProto model, String source, Path modelDir) {
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new InvalidInputException("not a valid ONNX model: it has no graph", source);
        }
        return new OnnxConverter(source, modelDir, model).run();
    }

    private int defaultOpset(ModelProto model) {
        for (OperatorSetIdProto id : model.getOpsetImportList()) {
            if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) {
                long v = id.getVersion();
                if (v < MIN_OPSET) {
                    throw new UnsupportedFeatureException("ONNX opset " + v + " is not supported (" + MIN_OPSET + " to "
                            + MAX_OPSET + " are)", source);
                }
                if (v > MAX_OPSET) {
                    throw new UnsupportedFeatureException("ONNX opset " + v + " is newer than this loader knows ("
                            + MIN_OPSET + " to " + MAX_OPSET + " are supported)", source);
                }
                return (int) v;
            }
        }
        throw new UnsupportedFeatureException("the model imports no default ONNX opset (ai.onnx " + MIN_OPSET
                + " or newer is needed)", source);
    }

    private Graph run() {
        for (TensorProto t : g.getInitializerList()) {
            if (initializers.put(t.getName(), t) != null) {
                throw new InvalidInputException("not a valid ONNX model: initializer '" + t.getName() + "' is defined twice",
                        source);
            }
            valueNames.add(t.getName());
        }
        for (ValueInfoProto vi : g.getInputList()) {
            valueNames.add(vi.getName());
        }
        for (NodeProto n : g.getNodeList()) {
            valueNames.addAll(n.getOutputList());
            onnxNodeNames.add(n.getName());
        }
        List<ValueInfo> inputs = readInputs();
        List<Integer> order = sortTopologically();
        countUses(order);
        for (int index : order) {
            convertNode(g.getNode(index), index);
        }
        List<String> outputs = readOutputs();
        checkValueInfo();
        try {
            return new Graph(g.getName().isEmpty() ? baseName(source) : g.getName(), inputs, nodes, outputs);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("not a valid ONNX model: " + e.getMessage(), source, e);
        }
    }

    // ---------------------------------------------------------------- inputs and outputs

    private List<ValueInfo> readInputs() {
        List<ValueInfo> inputs = new ArrayList<>();
        List<int[]> itemDims = new ArrayList<>();
        Integer staticBatch = null;
        boolean batchKnown = true;
        Set<String> seen = new HashSet<>();
        for (ValueInfoProto vi : g.getInputList()) {
            if (initializers.containsKey(vi.getName())) {
                continue; // old exporters list initializers as inputs too: they are constants
            }
            String where = "input " + vi.getName();
            if (!seen.add(vi.getName())) {
                throw new InvalidInputException("graph input " + vi.getName() + " is declared twice", where);
            }
            TypeProto type = vi.getType();
            if (!type.hasTensorType()) {
                throw new UnsupportedFeatureException("graph input " + vi.getName() + " is not a tensor", where);
            }
            int elem = type.getTensorType().getElemType();
            if (elem != Tensors.FLOAT && elem != Tensors.UNDEFINED) {
                throw new UnsupportedFeatureException("graph input " + vi.getName() + " has element type "
                        + Tensors.typeName(elem) + "; only float32 inputs are supported", where);
            }
            if (!type.getTensorType().hasShape() || type.getTensorType().getShape().getDimCount() == 0) {
                throw new UnsupportedFeatureException("graph input " + vi.getName()
                        + " has no shape with a batch axis; Glassbox needs [batch, ...] inputs", where);
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
            if (b.hasDimValue() && b.getDimValue() >= 1 && b.getDimValue() <= 1 << 20) {
                int n = (int) b.getDimValue();
                if (staticBatch != null && staticBatch != n) {
                    batchKnown = false;
                }
                staticBatch = n;
            } else {
                batchKnown = false;
            }
            inputs.add(new ValueInfo(vi.getName(), shape));
            itemDims.add(item);
        }
        if (inputs.isEmpty()) {
            throw new UnsupportedFeatureException("the graph has no inputs besides its initializers; Glassbox explains"
                    + " models of at least one input", source);
        }
        dynamicBatch = !(batchKnown && staticBatch != null);
        batch = dynamicBatch ? 1 : staticBatch;
        for (ValueInfo in : inputs) {
            Act a = new Act(in.name(), in.itemShape().withBatch(batch), true);
            acts.put(in.name(), a);
            producerWhere.put(in.name(), "input " + in.name());
        }
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
            Act a = acts.get(vi.getName());
            if (a == null) {
                if (consts.containsKey(vi.getName()) || initializers.containsKey(vi.getName())) {
                    throw new UnsupportedFeatureException("graph output " + vi.getName()
                            + " is a constant (it does not depend on the input)", where);
                }
                if (unavailable.containsKey(vi.getName())) {
                    throw new UnsupportedFeatureException("graph output " + vi.getName() + " is "
                            + unavailable.get(vi.getName()) + ", which Glassbox does not compute", where);
                }
                throw new InvalidInputException("graph output " + vi.getName() + " is not produced by any node", where);
            }
            checkDeclared(vi, a.shape(), a.batched(), "graph output " + vi.getName(), where);
            String v = a.value();
            // An Identity at the end renamed the output away: give the producing node the declared name back.
            if (!v.equals(vi.getName()) && producer.containsKey(v) && !declared.contains(v) && !rename.containsKey(v)
                    && !rename.containsValue(vi.getName()) && !producer.containsKey(vi.getName())) {
                rename.put(v, vi.getName());
            } else if (!v.equals(vi.getName()) && !producer.containsKey(vi.getName()) && !isGraphInput(vi.getName())) {
                // The output is another name for a graph input (or another output): an explicit copy keeps the name.
                int[] copyEveryAxis = new int[a.shape().rank()];
                nodes.add(new Node(vi.getName() + "/copy", new Op.Reshape(copyEveryAxis), List.of(v), vi.getName()));
                v = vi.getName();
            }
            outputs.add(v);
        }
        if (!rename.isEmpty()) {
            nodes.replaceAll(n -> new Node(n.name(), n.op(),
                    n.inputs().stream().map(i -> rename.getOrDefault(i, i)).toList(),
                    rename.getOrDefault(n.output(), n.output())));
            outputs.replaceAll(o -> rename.getOrDefault(o, o));
        }
        return outputs;
    }

    private boolean isGraphInput(String name) {
        return g.getInputList().stream().anyMatch(in -> in.getName().equals(name));
    }

    /** Declared shapes of intermediate values (value_info) must be what we infer. */
    private void checkValueInfo() {
        for (ValueInfoProto vi : g.getValueInfoList()) {
            String where = producerWhere.getOrDefault(vi.getName(), "value " + vi.getName());
            Act a = acts.get(vi.getName());
            if (a != null) {
                checkDeclared(vi, a.shape(), a.batched(), "value " + vi.getName(), where);
                continue;
            }
            Const c = consts.get(vi.getName());
            if (c != null) {
                checkDeclared(vi, c.shape(), false, "value " + vi.getName(), where);
            }
        }
    }

    /** Where the model declares a value's shape, it must be what we infer (a symbolic batch aside). */
    private void checkDeclared(ValueInfoProto vi, Shape inferred, boolean batched, String what, String where) {
        if (!vi.getType().hasTensorType() || !vi.getType().getTensorType().hasShape()) {
            return;
        }
        List<TensorShapeProto.Dimension> dims = vi.getType().getTensorType().getShape().getDimList();
        if (dims.size() != inferred.rank()) {
            throw new InvalidInputException(what + " is declared with rank " + dims.size() + " " + declaredString(dims)
                    + " but the graph computes " + shapeString(inferred, batched), where);
        }
        for (int a = 0; a < dims.size(); a++) {
            if (a == 0 && batched && dynamicBatch) {
                continue;
            }
            if (dims.get(a).hasDimValue() && dims.get(a).getDimValue() != inferred.dim(a)) {
                throw new InvalidInputException(what + " is declared as " + declaredString(dims)
                        + " but the graph computes " + shapeString(inferred, batched), where);
            }
        }
    }

    private String shapeString(Shape s, boolean batched) {
        if (!batched || !dynamicBatch || s.rank() == 0) {
            return s.toString();
        }
        String rest = s.withoutBatch().toString();
        return "[N" + (s.rank() > 1 ? ", " + rest.substring(1) : "]");
    }

    private static String declaredString(List<TensorShapeProto.Dimension> dims) {
        List<String> out = new ArrayList<>();
        for (TensorShapeProto.Dimension d : dims) {
            out.add(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
        }
        return out.toString();
    }

    // ---------------------------------------------------------------- order and uses

    /** Kahn's algorithm, keeping the file's order among nodes that are ready together. */
    private List<Integer> sortTopologically() {
        int count = g.getNodeCount();
        Set<String> given = new HashSet<>(initializers.keySet());
        for (ValueInfoProto vi : g.getInputList()) {
            given.add(vi.getName());
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
                producerWhere.put(out, where(g.getNode(i), i));
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

    // ---------------------------------------------------------------- nodes

    private String uniqueNodeName(String name) {
        String unique = name;
        for (int k = 2; nodeNames.contains(unique) || onnxNodeNames.contains(unique); k++) {
            unique = name + "_" + k;
        }
        nodeNames.add(unique);
        return unique;
    }

    private String freshValue(String base) {
        String v = base;
        for (int k = 2; valueNames.contains(v); k++) {
            v = base + "_" + k;
        }
        valueNames.add(v);
        return v;
    }

    private static String opLabel(NodeProto n) {
        return isDefaultDomain(n) ? n.getOpType() : n.getDomain() + "." + n.getOpType();
    }

    private static String rawName(NodeProto n, int index) {
        return n.getName().isEmpty() ? n.getOpType() + "_" + index : n.getName();
    }

    private static String where(NodeProto n, int index) {
        return "node " + rawName(n, index) + " (" + opLabel(n) + ")";
    }

    private void convertNode(NodeProto proto, int index) {
        String raw = rawName(proto, index);
        String name = raw;
        for (int k = 1; nodeNames.contains(name); k++) {
            name = raw + "_" + (k == 1 ? index : index + "_" + k);
        }
        Step n = new Step(proto, name, "node " + raw + " (" + opLabel(proto) + ")");
        try {
            if (proto.getOutputCount() == 0 || proto.getOutput(0).isEmpty()) {
                throw n.invalid("has no output");
            }
            if (!isDefaultDomain(proto)) {
                throw n.unsupported("unsupported op " + opLabel(proto));
            }
            switch (proto.getOpType()) {
                case "Constant" -> constant(n);
                case "Identity" -> n.alias(0);
                case "Dropout" -> dropout(n);
                case "Cast" -> cast(n);
                case "Shape" -> shape(n);
                case "Gather" -> gather(n);
                case "ConstantOfShape" -> constantOfShape(n);
                case "Squeeze" -> squeeze(n, false);
                case "Unsqueeze" -> squeeze(n, true);
                case "Concat" -> concat(n);
                case "Slice" -> slice(n);
                case "Split" -> split(n);
                case "Reshape" -> reshape(n);
                case "Flatten" -> flatten(n);
                case "Transpose" -> transpose(n);
                case "Expand" -> expand(n);
                case "Pad" -> pad(n);
                case "Add" -> binary(n, Const.Arith.ADD);
                case "Sub" -> binary(n, Const.Arith.SUB);
                case "Mul" -> binary(n, Const.Arith.MUL);
                case "Div" -> binary(n, Const.Arith.DIV);
                case "Equal" -> equal(n);
                case "Where" -> where(n);
                case "Gemm" -> gemm(n);
                case "MatMul" -> matMul(n);
                case "Conv" -> conv(n);
                case "ConvTranspose" -> convTranspose(n);
                case "BatchNormalization" -> batchNorm(n);
                case "Relu" -> n.unary(new Op.Relu());
                case "LeakyRelu" -> n.unary(new Op.LeakyRelu(n.attrs.f("alpha", 0.01f)));
                case "Elu" -> n.unary(new Op.Elu(n.attrs.f("alpha", 1f)));
                case "Sigmoid" -> n.unary(new Op.Sigmoid());
                case "Tanh" -> n.unary(new Op.Tanh());
                case "HardSigmoid" -> n.unary(new Op.HardSigmoid(n.attrs.f("alpha", 0.2f), n.attrs.f("beta", 0.5f)));
                case "HardSwish" -> n.unary(new Op.HardSwish());
                case "PRelu" -> prelu(n);
                case "Clip" -> clip(n);
                case "Softmax" -> softmax(n, false);
                case "LogSoftmax" -> softmax(n, true);
                case "MaxPool" -> pool(n, true);
                case "AveragePool" -> pool(n, false);
                case "GlobalAveragePool" -> globalPool(n, new Op.GlobalAvgPool());
                case "GlobalMaxPool" -> globalPool(n, new Op.GlobalMaxPool());
                case "ReduceMean" -> reduce(n, true);
                case "ReduceSum" -> reduce(n, false);
                case "Upsample" -> upsample(n);
                case "Resize" -> resize(n);
                default -> throw n.unsupported("unsupported op " + proto.getOpType());
            }
            for (int k = 0; k < proto.getOutputCount(); k++) {
                String out = proto.getOutput(k);
                if (!out.isEmpty() && !acts.containsKey(out) && !consts.containsKey(out)) {
                    if (k == 0) {
                        throw n.invalid("produced no output"); // a converter bug, reported rather than crashing later
                    }
                    unavailable.put(out, "output " + k + " ('" + out + "') of " + n.where);
                }
            }
        } catch (GlassboxException e) {
            throw e;
        } catch (Const.FoldTooLarge e) {
            throw n.unsupported(e.getMessage());
        } catch (IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException | IllegalStateException e) {
            // thrown by the API's records (Geometry2d, Shape, Op.outputShape, ...) for values out of range
            throw n.invalid(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    // ---------------------------------------------------------------- constants and shape arithmetic

    private void constant(Step n) {
        String which = n.attrs.which("value", "value_float", "value_floats", "value_int", "value_ints",
                "sparse_value", "value_string", "value_strings");
        if (which == null) {
            throw n.invalid("Constant has no value attribute");
        }
        Const c = switch (which) {
            case "value" -> Tensors.decode(n.attrs.t("value"), modelDir, n.where);
            case "value_float" -> Const.floats(new int[0], new float[] {n.attrs.f("value_float", 0f)});
            case "value_floats" -> {
                float[] fs = n.attrs.floats("value_floats");
                yield Const.floats(new int[] {fs.length}, fs);
            }
            case "value_int" -> Const.longs(new int[0], Tensors.INT64, new long[] {n.attrs.i("value_int", 0)}, null);
            case "value_ints" -> Const.longs(n.attrs.ints("value_ints", new long[0]));
            default -> throw n.unsupported("Constant with " + which + " is not supported");
        };
        n.defineConst(c);
    }

    private void dropout(Step n) {
        if (opset >= 12 && n.hasInput(2)) {
            Const training = n.constant(2, "training_mode");
            if (training.size() != 1) {
                throw n.invalid("training_mode must be a scalar");
            }
            if (training.get(0) != 0) {
                throw n.unsupported("Dropout in training mode (training_mode = true) is not supported");
            }
        }
        n.alias(0); // inference: the output is the input (a mask output stays unavailable)
    }

    private void cast(Step n) {
        if (!n.attrs.has("to")) {
            throw n.invalid("attribute to is missing");
        }
        int to = opset < 6 ? legacyType(n, n.attrs.s("to", "")) : n.attrs.int32("to", 0);
        if (!Tensors.isFloating(to) && !Tensors.isInteger(to)) {
            throw n.unsupported("Cast to " + Tensors.typeName(to) + " is not supported");
        }
        if (n.isConst(0)) {
            n.defineConst(n.constant(0, "input").cast(to));
            return;
        }
        if (to != Tensors.FLOAT) {
            throw n.unsupported("Cast of an activation to " + Tensors.typeName(to)
                    + " is not supported; Glassbox computes activations in float32");
        }
        n.alias(0);
    }

    /** Cast before opset 6 names the type as a string. */
    private static int legacyType(Step n, String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "FLOAT" -> Tensors.FLOAT;
            case "UINT8" -> Tensors.UINT8;
            case "INT8" -> Tensors.INT8;
            case "UINT16" -> Tensors.UINT16;
            case "INT16" -> Tensors.INT16;
            case "INT32" -> Tensors.INT32;
            case "INT64" -> Tensors.INT64;
            case "BOOL" -> Tensors.BOOL;
            case "FLOAT16" -> Tensors.FLOAT16;
            case "DOUBLE" -> Tensors.DOUBLE;
            case "UINT32" -> Tensors.UINT32;
            case "UINT64" -> Tensors.UINT64;
            default -> throw n.unsupported("Cast to " + name + " is not supported");
        };
    }

    private void shape(Step n) {
        int[] dims;
        boolean batchFirst = false;
        if (n.isConst(0)) {
            dims = n.constant(0, "data").dims;
        } else {
            Act a = n.act(0);
            dims = a.shape().dims();
            batchFirst = a.batched() && dynamicBatch;
        }
        int r = dims.length;
        int start = (int) clampAxis(n.attrs.i("start", 0), r);
        int end = n.attrs.has("end") ? (int) clampAxis(n.attrs.i("end", r), r) : r;
        int len = Math.max(0, end - start);
        long[] out = new long[len];
        boolean[] marks = new boolean[len];
        for (int i = 0; i < len; i++) {
            out[i] = dims[start + i];
            marks[i] = batchFirst && start + i == 0;
        }
        n.defineConst(Const.vector(out, marks));
    }

    /** Shape's start and end: negative counts from the end, then clamped to [0, rank]. */
    private static long clampAxis(long v, int rank) {
        long a = v < 0 ? v + rank : v;
        return Math.clamp(a, 0, rank);
    }

    private void gather(Step n) {
        Const idx = n.constant(1, "indices");
        if (idx.isFloat()) {
            throw n.invalid("Gather indices must be integers");
        }
        int[] dataDims = n.isConst(0) ? n.constant(0, "data").dims : n.act(0).shape().dims();
        int r = dataDims.length;
        if (r == 0) {
            throw n.invalid("Gather from a scalar");
        }
        int axis = n.axis(n.attrs.i("axis", 0), r);
        int dim = dataDims[axis];
        int[] indices = new int[idx.size()];
        for (int i = 0; i < indices.length; i++) {
            if (idx.isBatch(i)) {
                throw n.unsupported("Gather with the batch size as an index is not supported");
            }
            long v = idx.l[i];
            long k = v < 0 ? v + dim : v;
            if (k < 0 || k >= dim) {
                throw n.invalid("index " + v + " is out of range for axis " + axis + " of size " + dim);
            }
            indices[i] = (int) k;
        }
        if (n.isConst(0)) {
            n.defineConst(n.fold(n.constant(0, "data").gatherAxis(axis, indices, idx.dims)));
            return;
        }
        Act x = n.act(0);
        if (idx.rank() > 1) {
            throw n.unsupported("Gather from an activation with indices of rank " + idx.rank()
                    + " is not supported (scalar or 1-D constant indices are)");
        }
        boolean keep = n.keeps(x, axis != 0, "Gather along the batch axis");
        int[] d = x.shape().dims();
        if (idx.rank() == 0) {
            Act s = n.emit(n.helper("slice"), sliceOp(axis, indices[0], indices[0] + 1, 1), List.of(x),
                    n.freshOut("slice"), keep);
            int[] target = new int[r - 1];
            for (int i = 0, j = 0; i < r; i++) {
                if (i != axis) {
                    target[j++] = d[i];
                }
            }
            if (keep && target.length > 0) {
                target[0] = 0;
            }
            n.emitMain(new Op.Reshape(target), List.of(s), keep);
            return;
        }
        int k = indices.length;
        if (k == 0) {
            throw n.unsupported("Gather of no indices from an activation is not supported");
        }
        int step = k > 1 ? indices[1] - indices[0] : 1;
        boolean progression = step != 0;
        for (int i = 1; i < k && progression; i++) {
            progression = indices[i] - indices[i - 1] == step;
        }
        if (progression) {
            int end = indices[k - 1] + (step > 0 ? 1 : -1);
            n.emitMain(sliceOp(axis, indices[0], step < 0 && end < 0 ? Integer.MIN_VALUE : end, step), List.of(x), keep);
            return;
        }
        List<Act> parts = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            parts.add(n.emit(n.helper("index" + i), sliceOp(axis, indices[i], indices[i] + 1, 1), List.of(x),
                    n.freshOut("index" + i), keep));
        }
        n.emitMain(new Op.Concat(axis, k), parts, keep);
    }

    private static Op.Slice sliceOp(int axis, int start, int end, int step) {
        return new Op.Slice(List.of(start), List.of(end), List.of(axis), List.of(step));
    }

    private void constantOfShape(Step n) {
        Const shape = n.constant(0, "shape");
        if (shape.isFloat() || shape.rank() > 1) {
            throw n.invalid("ConstantOfShape needs a 1-D integer shape");
        }
        if (shape.hasBatch()) {
            throw n.batchUnsupported("ConstantOfShape with the batch size in its shape creates a batch-sized constant");
        }
        int[] dims = new int[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            long v = shape.l[i];
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw n.invalid("invalid dimension " + v + " in shape " + Arrays.toString(shape.l));
            }
            dims[i] = (int) v;
        }
        Const value = Const.floats(new int[] {1}, new float[] {0f});
        TensorProto t = n.attrs.t("value");
        if (t != null) {
            value = Tensors.decode(t, modelDir, n.where);
            if (value.size() != 1) {
                throw n.invalid("ConstantOfShape value must have one element, has " + value.size());
            }
        }
        n.defineConst(n.fold(Const.filled(dims, value)));
    }

    /** Axes from the attribute (before {@code inputFrom}) or from constant input 1; null when absent. */
    private long[] axesOf(Step n, int inputFrom) {
        if (opset < inputFrom) {
            return n.attrs.ints("axes", null);
        }
        if (!n.hasInput(1)) {
            return null;
        }
        Const c = n.constant(1, "axes");
        if (c.isFloat() || c.rank() > 1) {
            throw n.invalid("axes must be a 1-D integer tensor");
        }
        if (c.hasBatch()) {
            throw n.unsupported("the batch size used as an axis");
        }
        return c.l.clone();
    }

    private void squeeze(Step n, boolean unsqueeze) {
        long[] axes = axesOf(n, 13);
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int[] in = isConst ? n.constant(0, "data").dims : x.shape().dims();
        List<Integer> out = new ArrayList<>();
        boolean batchMoves;
        if (unsqueeze) {
            if (axes == null) {
                throw n.invalid("Unsqueeze needs axes");
            }
            int rank = in.length + axes.length;
            boolean[] inserted = new boolean[rank];
            for (long a : axes) {
                int ax = n.axis(a, rank);
                if (inserted[ax]) {
                    throw n.invalid("axis " + a + " given twice");
                }
                inserted[ax] = true;
            }
            for (int i = 0, j = 0; i < rank; i++) {
                out.add(inserted[i] ? 1 : in[j++]);
            }
            batchMoves = inserted[0];
        } else {
            boolean[] removed = new boolean[in.length];
            if (axes == null || axes.length == 0) {
                for (int i = 0; i < in.length; i++) {
                    // with a symbolic batch, a batch of 1 is not an axis to squeeze
                    removed[i] = in[i] == 1 && !(i == 0 && x != null && x.batched() && dynamicBatch);
                }
            } else {
                for (long a : axes) {
                    int ax = n.axis(a, in.length);
                    if (removed[ax]) {
                        throw n.invalid("axis " + a + " given twice");
                    }
                    if (in[ax] != 1) {
                        throw n.invalid("cannot squeeze axis " + a + " of size " + in[ax] + " in " + Arrays.toString(in));
                    }
                    removed[ax] = true;
                }
            }
            for (int i = 0; i < in.length; i++) {
                if (!removed[i]) {
                    out.add(in[i]);
                }
            }
            batchMoves = in.length > 0 && removed[0];
        }
        int[] target = out.stream().mapToInt(Integer::intValue).toArray();
        if (isConst) {
            n.defineConst(n.constant(0, "data").reshape(target));
            return;
        }
        boolean keep = n.keeps(x, !batchMoves, (unsqueeze ? "Unsqueeze" : "Squeeze") + " at axis 0 moves the batch axis");
        if (keep) {
            target[0] = 0;
        }
        n.emitMain(new Op.Reshape(target), List.of(x), keep);
    }

    private void concat(Step n) {
        int count = n.proto.getInputCount();
        if (count == 0) {
            throw n.invalid("Concat needs inputs");
        }
        if (!n.attrs.has("axis") && opset >= 4) {
            throw n.invalid("attribute axis is missing");
        }
        boolean allConst = true;
        int rank = -1;
        for (int i = 0; i < count; i++) {
            if (!n.hasInput(i)) {
                throw n.invalid("input " + i + " is empty");
            }
            allConst &= n.isConst(i);
            int r = n.isConst(i) ? n.constant(i, "input").rank() : n.act(i).shape().rank();
            if (rank >= 0 && r != rank) {
                throw n.invalid("inputs differ in rank");
            }
            rank = r;
        }
        int axis = n.axis(n.attrs.i("axis", 1), rank);
        if (allConst) {
            List<Const> parts = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                parts.add(n.constant(i, "input"));
            }
            n.defineConst(n.fold(Const.concat(parts, axis)));
            return;
        }
        List<Act> parts = new ArrayList<>();
        boolean anyBatched = false;
        boolean allBatched = true;
        for (int i = 0; i < count; i++) {
            if (n.isConst(i) && n.constant(i, "input").dims[axis] == 0) {
                continue; // an empty constant adds nothing
            }
            Act a = n.act(i);
            parts.add(a);
            anyBatched |= a.batched();
            allBatched &= a.batched();
        }
        boolean keep = anyBatched && allBatched && axis != 0;
        if (anyBatched && !keep) {
            n.keeps(parts.get(0).batched() ? parts.get(0) : parts.stream().filter(Act::batched).findFirst().get(), false,
                    axis == 0 ? "Concat along the batch axis" : "Concat of a batched value with a constant or unbatched one");
        }
        if (parts.size() == 1) {
            n.defineAct(parts.get(0));
            return;
        }
        n.emitMain(new Op.Concat(axis, parts.size()), parts, keep);
    }

    /** Slice parameters clamped to int: INT64_MAX and the like mean "to the end". */
    private static int clampInt(long v) {
        return (int) Math.clamp(v, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    private void slice(Step n) {
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int[] in = isConst ? n.constant(0, "data").dims : x.shape().dims();
        int r = in.length;
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps;
        boolean[] endIsBatch;
        if (opset < 10) {
            starts = n.attrs.ints("starts", null);
            ends = n.attrs.ints("ends", null);
            if (starts == null || ends == null) {
                throw n.invalid("attributes starts and ends are required");
            }
            axes = n.attrs.ints("axes", null);
            steps = null;
            endIsBatch = new boolean[ends.length];
        } else {
            Const s = n.constant(1, "starts");
            Const e = n.constant(2, "ends");
            if (s.hasBatch()) {
                throw n.batchUnsupported("Slice starting at the batch size");
            }
            starts = s.toLongs();
            ends = e.toLongs();
            endIsBatch = new boolean[ends.length];
            for (int i = 0; i < ends.length; i++) {
                endIsBatch[i] = e.isBatch(i);
            }
            axes = n.hasInput(3) ? n.intsInput(3, "axes") : null;
            steps = n.hasInput(4) ? n.intsInput(4, "steps") : null;
        }
        int k = starts.length;
        if (ends.length != k || (axes != null && axes.length != k) || (steps != null && steps.length != k)) {
            throw n.invalid("starts, ends, axes and steps differ in length");
        }
        List<Integer> s = new ArrayList<>();
        List<Integer> e = new ArrayList<>();
        List<Integer> a = new ArrayList<>();
        List<Integer> st = new ArrayList<>();
        boolean keep = true;
        for (int i = 0; i < k; i++) {
            int ax = n.axis(axes == null ? i : axes[i], r);
            if (a.contains(ax)) {
                throw n.invalid("axis " + ax + " sliced twice");
            }
            long step = steps == null ? 1 : steps[i];
            if (step == 0) {
                throw n.invalid("step 0");
            }
            if (endIsBatch[i] && !(ax == 0 && x != null && x.batched())) {
                throw n.batchUnsupported("Slice ending at the batch size on axis " + ax);
            }
            int start = clampInt(starts[i]);
            int end = endIsBatch[i] ? Integer.MAX_VALUE : clampInt(ends[i]);
            if (ax == 0 && x != null && x.batched()) {
                boolean fromStart = dynamicBatch ? start == 0 || start <= Integer.MIN_VALUE / 2
                        : start == 0 || (long) start + in[0] <= 0;
                boolean toEnd = endIsBatch[i] || (dynamicBatch ? end >= Integer.MAX_VALUE / 2 : end >= in[0]);
                boolean whole = step == 1 && fromStart && toEnd;
                if (whole) {
                    continue; // the whole batch: nothing to slice
                }
                keep = n.keeps(x, false, "Slice along the batch axis");
            }
            a.add(ax);
            s.add(start);
            e.add(end);
            st.add(clampInt(step));
        }
        Op.Slice op = new Op.Slice(s, e, a, st);
        if (isConst) {
            Const c = n.constant(0, "data");
            n.defineConst(n.fold(c.slice(op.ranges(c.shape()))));
            return;
        }
        if (a.isEmpty()) {
            n.defineAct(x);
            return;
        }
        n.emitMain(op, List.of(x), keep && x.batched());
    }

    private void split(Step n) {
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int[] in = isConst ? n.constant(0, "input").dims : x.shape().dims();
        int axis = n.axis(n.attrs.i("axis", 0), in.length);
        int outputs = n.proto.getOutputCount();
        long[] sizes = null;
        if (opset < 13 && !(opset < 2 && n.hasInput(1))) {
            sizes = n.attrs.ints("split", null);
        } else if (n.hasInput(1)) {
            sizes = n.intsInput(1, "split");
        }
        int dim = in[axis];
        boolean keep = isConst || n.keeps(x, axis != 0, "Split along the batch axis");
        if (sizes == null || sizes.length == 0) {
            sizes = new long[outputs];
            if (n.attrs.has("num_outputs")) {
                long parts = n.attrs.i("num_outputs", outputs);
                if (parts != outputs || parts < 1) {
                    throw n.invalid("num_outputs " + parts + " but " + outputs + " outputs");
                }
                long chunk = (dim + parts - 1) / parts;
                for (int i = 0; i < outputs; i++) {
                    sizes[i] = Math.max(0, Math.min(chunk, dim - chunk * i));
                }
            } else {
                if (dim % outputs != 0) {
                    throw n.invalid("axis " + axis + " of size " + dim + " does not split into " + outputs + " equal parts");
                }
                Arrays.fill(sizes, dim / outputs);
            }
        }
        if (sizes.length != outputs) {
            throw n.invalid(sizes.length + " split sizes for " + outputs + " outputs");
        }
        long total = 0;
        for (long v : sizes) {
            if (v < 0) {
                throw n.invalid("negative split size " + v);
            }
            total += v;
        }
        if (total != dim) {
            throw n.invalid("split sizes " + Arrays.toString(sizes) + " do not add up to " + dim);
        }
        int offset = 0;
        for (int k = 0; k < outputs; k++) {
            int size = (int) sizes[k];
            String out = n.proto.getOutput(k);
            Op.Slice op = sliceOp(axis, offset, offset + size, 1);
            offset += size;
            if (out.isEmpty()) {
                continue;
            }
            if (isConst) {
                Const c = n.constant(0, "input");
                consts.put(out, n.fold(c.slice(op.ranges(c.shape()))));
            } else {
                n.emit(k == 0 ? n.mainName() : n.helper(Integer.toString(k)), op, List.of(x), out, keep && x.batched());
            }
        }
    }

    private void reshape(Step n) {
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int[] in = isConst ? n.constant(0, "data").dims : x.shape().dims();
        long[] target;
        boolean[] marks;
        if (opset < 5) {
            target = n.attrs.ints("shape", null);
            marks = new boolean[target == null ? 0 : target.length];
        } else {
            Const c = n.constant(1, "shape");
            if (c.isFloat() || c.rank() != 1) {
                throw n.invalid("shape must be a 1-D integer tensor");
            }
            target = c.l.clone();
            marks = new boolean[target.length];
            for (int i = 0; i < marks.length; i++) {
                marks[i] = c.isBatch(i);
            }
        }
        if (target == null) {
            throw n.invalid("Reshape needs a shape");
        }
        boolean batched = x != null && x.batched();
        if (n.attrs.i("allowzero", 0) != 0) {
            for (int i = 0; i < target.length; i++) {
                if (target[i] == 0 && !marks[i] && !(i < in.length && in[i] == 0)) {
                    throw n.unsupported("Reshape with allowzero=1 and a 0 in the shape " + Arrays.toString(target)
                            + " (an empty dimension) is not supported");
                }
            }
        }
        int[] shape = new int[target.length];
        for (int i = 0; i < shape.length; i++) {
            if (marks[i]) {
                if (i == 0 && batched) {
                    shape[i] = 0; // the batch size from Shape: copy the batch axis
                    continue;
                }
                throw n.batchUnsupported("Reshape puts the batch size on axis " + i + " of " + Arrays.toString(target));
            }
            if (target[i] < -1 || target[i] > Integer.MAX_VALUE) {
                throw n.invalid("invalid target dimension " + target[i] + " in " + Arrays.toString(target));
            }
            shape[i] = (int) target[i];
        }
        if (isConst) {
            Op.Reshape op = new Op.Reshape(shape);
            Shape out = op.outputShape(List.of(Shape.of(in)));
            n.defineConst(n.constant(0, "data").reshape(out.dims()));
            return;
        }
        boolean keep = false;
        if (batched && shape.length > 0) {
            if (shape[0] == 0) {
                keep = true;
            } else if (!dynamicBatch && shape[0] == batch) {
                shape[0] = 0; // the model's fixed batch: copy whatever batch comes in
                keep = true;
            } else if (shape[0] == -1) {
                Shape out = new Op.Reshape(shape).outputShape(List.of(x.shape()));
                keep = out.dim(0) == batch;
            }
        }
        if (batched && !keep) {
            String why = shape.length == 0 ? "Reshape to a scalar drops the batch axis"
                    : shape[0] == -1 ? "Reshape to " + Arrays.toString(target) + " of " + shapeString(x.shape(), true)
                            + " folds items of the batch together"
                    : "Reshape to " + Arrays.toString(target) + " fixes the batch axis at " + shape[0]
                            + (dynamicBatch ? " but the batch is dynamic" : " but the model's batch is " + batch);
            n.keeps(x, false, why);
        }
        n.emitMain(new Op.Reshape(shape), List.of(x), keep);
    }

    private void flatten(Step n) {
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int[] in = isConst ? n.constant(0, "input").dims : x.shape().dims();
        int rank = in.length;
        long axis = n.attrs.i("axis", 1);
        if (axis < -rank || axis > rank) {
            throw n.invalid("axis " + axis + " is out of range for rank " + rank);
        }
        int a = (int) (axis < 0 ? axis + rank : axis);
        if (isConst) {
            Shape out = new Op.Flatten(a).outputShape(List.of(Shape.of(in)));
            n.defineConst(n.constant(0, "input").reshape(out.dims()));
            return;
        }
        long between = 1;
        for (int d = 1; d < a; d++) {
            between *= in[d];
        }
        boolean keep = n.keeps(x, a >= 1 && between == 1,
                "Flatten with axis " + axis + " of " + shapeString(x.shape(), true) + " merges the batch axis");
        n.emitMain(new Op.Flatten(a), List.of(x), keep);
    }

    private void transpose(Step n) {
        boolean isConst = n.isConst(0);
        Act x = isConst ? null : n.act(0);
        int rank = isConst ? n.constant(0, "data").rank() : x.shape().rank();
        long[] p = n.attrs.ints("perm", null);
        int[] perm = new int[rank];
        if (p == null) {
            for (int i = 0; i < rank; i++) {
                perm[i] = rank - 1 - i;
            }
        } else {
            if (p.length != rank) {
                throw n.invalid("perm " + Arrays.toString(p) + " for rank " + rank);
            }
            boolean[] seen = new boolean[rank];
            for (int i = 0; i < rank; i++) {
                int ax = n.axis(p[i], rank);
                if (seen[ax]) {
                    throw n.invalid("perm " + Arrays.toString(p) + " is not a permutation");
                }
                seen[ax] = true;
                perm[i] = ax;
            }
        }
        if (isConst) {
            n.defineConst(n.fold(n.constant(0, "data").transpose(perm)));
            return;
        }
        boolean keep = n.keeps(x, rank > 0 && perm[0] == 0, "Transpose with perm " + Arrays.toString(perm)
                + " moves the batch axis");
        n.emitMain(new Op.Transpose(Arrays.stream(perm).boxed().toList()), List.of(x), keep);
    }

    private void expand(Step n) {
        Const shape = n.constant(1, "shape");
        if (shape.isFloat() || shape.rank() != 1) {
            throw n.invalid("shape must be a 1-D integer tensor");
        }
        int[] target = new int[shape.size()];
        for (int i = 0; i < target.length; i++) {
            long v = shape.l[i];
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw n.invalid("invalid dimension " + v + " in shape " + Arrays.toString(shape.l));
            }
            target[i] = (int) v;
        }
        if (n.isConst(0)) {
            if (shape.hasBatch()) {
                throw n.batchUnsupported("Expand of a constant to the batch size makes a batch-sized constant");
            }
            Const c = n.constant(0, "input");
            int[] out = Const.broadcastDims(c.dims, target);
            n.defineConst(n.fold(c.broadcastTo(out)));
            return;
        }
        Act x = n.act(0);
        int rx = x.shape().rank();
        int rt = target.length;
        boolean keep = x.batched();
        for (int i = 0; i < rt; i++) {
            boolean alignedToBatch = x.batched() && rt == rx && i == 0;
            if (shape.isBatch(i)) {
                if (!alignedToBatch) {
                    throw n.batchUnsupported("Expand puts the batch size on axis " + i);
                }
                target[i] = 1;
            } else if (alignedToBatch && (target[i] == 1 || (!dynamicBatch && target[i] == batch))) {
                target[i] = 1; // broadcasting keeps the batch
            } else if (alignedToBatch) {
                keep = false;
            }
        }
        if (x.batched() && rt > rx) {
            keep = false;
        }
        if (x.batched() && !keep) {
            n.keeps(x, false, "Expand of " + shapeString(x.shape(), true) + " to " + Arrays.toString(shape.l)
                    + " moves or enlarges the batch axis");
        }
        n.emitMain(new Op.Expand(Arrays.stream(target).boxed().toList()), List.of(x), keep);
    }

    private void pad(Step n) {
        String mode = n.attrs.s("mode", "constant");
        if (!mode.equals("constant")) {
            throw n.unsupported("Pad mode '" + mode + "' is not supported; only constant");
        }
        Act x = n.act(0);
        int rank = x.shape().rank();
        long[] pads;
        float value;
        if (opset < 11) {
            pads = n.attrs.ints("pads", n.attrs.ints("paddings", null));
            if (pads == null) {
                throw n.invalid("attribute pads is missing");
            }
            value = n.attrs.f("value", 0f);
        } else {
            Const p = n.constant(1, "pads");
            if (p.isFloat() || p.hasBatch()) {
                throw n.invalid("pads must be a constant integer tensor");
            }
            pads = p.l.clone();
            value = 0f;
            if (n.hasInput(2)) {
                Const v = n.constant(2, "constant_value");
                if (v.size() != 1) {
                    throw n.invalid("constant_value must have one element");
                }
                value = (float) v.get(0);
            }
            if (n.hasInput(3)) {
                long[] axes = n.intsInput(3, "axes");
                if (pads.length != 2 * axes.length) {
                    throw n.invalid(pads.length + " pads for " + axes.length + " axes");
                }
                long[] full = new long[2 * rank];
                boolean[] seen = new boolean[rank];
                for (int i = 0; i < axes.length; i++) {
                    int ax = n.axis(axes[i], rank);
                    if (seen[ax]) {
                        throw n.invalid("axis " + axes[i] + " given twice");
                    }
                    seen[ax] = true;
                    full[ax] = pads[i];
                    full[ax + rank] = pads[i + axes.length];
                }
                pads = full;
            }
        }
        if (pads.length != 2 * rank) {
            throw n.invalid(pads.length + " pads for input " + x.shape() + " of rank " + rank);
        }
        List<Integer> list = new ArrayList<>();
        for (long v : pads) {
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw n.invalid("pad " + v + " is out of range");
            }
            list.add((int) v);
        }
        boolean keep = n.keeps(x, rank > 0 && pads[0] == 0 && pads[rank] == 0, "Pad on the batch axis");
        n.emitMain(new Op.Pad(list, value), List.of(x), keep);
    }

    // ---------------------------------------------------------------- arithmetic

    /** Equal, folded only (PyTorch's export of expand compares shapes with -1). */
    private void equal(Step n) {
        if (!n.isConst(0) || !n.isConst(1)) {
            throw n.unsupported("Equal of activations is not supported (only of constants, which are folded)");
        }
        n.defineConst(n.fold(Const.equal(n.constant(0, "A"), n.constant(1, "B"), what -> {
            if (dynamicBatch) {
                throw n.batchUnsupported("comparing the batch size (from Shape) with a value");
            }
        })));
    }

    /** Where, folded only. */
    private void where(Step n) {
        if (!n.isConst(0) || !n.isConst(1) || !n.isConst(2)) {
            throw n.unsupported("Where of activations is not supported (only of constants, which are folded)");
        }
        n.defineConst(n.fold(Const.where(n.constant(0, "condition"), n.constant(1, "X"), n.constant(2, "Y"))));
    }

    private void binary(Step n, Const.Arith kind) {
        if (n.proto.getInputCount() != 2 || !n.hasInput(0) || !n.hasInput(1)) {
            throw n.invalid("takes 2 inputs, got " + n.proto.getInputCount());
        }
        boolean aConst = n.isConst(0);
        boolean bConst = n.isConst(1);
        Const legacyB = null;
        Act legacyBAct = null;
        if (opset < 7 && n.attrs.i("broadcast", 0) != 0 && n.attrs.has("axis")) {
            // opset 6: B's dimensions line up with A's starting at axis
            int rankA = aConst ? n.constant(0, "A").rank() : n.act(0).shape().rank();
            int[] bd = bConst ? n.constant(1, "B").dims : n.act(1).shape().dims();
            int axis = n.axis(n.attrs.i("axis", 0), rankA);
            int trailing = rankA - axis - bd.length;
            if (trailing < 0) {
                throw n.invalid("B " + Arrays.toString(bd) + " does not fit A of rank " + rankA + " at axis " + axis);
            }
            int[] nd = Arrays.copyOf(bd, bd.length + trailing);
            Arrays.fill(nd, bd.length, nd.length, 1);
            if (bConst) {
                legacyB = n.constant(1, "B").reshape(nd);
            } else if (trailing > 0) {
                Act b = n.act(1);
                if (b.batched()) {
                    throw n.unsupported("legacy broadcasting of a batched B");
                }
                legacyBAct = n.emit(n.helper("align"), new Op.Reshape(nd), List.of(b), n.freshOut("align"), false);
            }
        }
        if (aConst && bConst) {
            Const a = n.constant(0, "A");
            Const b = legacyB != null ? legacyB : n.constant(1, "B");
            n.defineConst(n.fold(Const.arith(kind, a, b, what -> {
                if (dynamicBatch) {
                    throw n.unsupported(what + " mixes the batch size (from Shape) with other values; with a dynamic"
                            + " batch only copying the batch size is supported");
                }
            })));
            return;
        }
        if (kind == Const.Arith.ADD && (aConst || bConst) && fuseBias(n, aConst ? 1 : 0, legacyB != null ? legacyB
                : n.constant(aConst ? 0 : 1, "bias"))) {
            return;
        }
        Act a = n.act(0);
        Act b = legacyBAct != null ? legacyBAct : legacyB != null ? n.constAct(n.helper("B"), legacyB) : n.act(1);
        Op op = switch (kind) {
            case ADD -> new Op.Add();
            case SUB -> new Op.Sub();
            case MUL -> new Op.Mul();
            case DIV -> new Op.Div();
        };
        emitBroadcast(n, n.mainName(), op, List.of(a, b), n.proto.getOutput(0));
    }

    /** Emits an elementwise op with numpy broadcasting; the output is batched when the batch axis lines up. */
    private Act emitBroadcast(Step n, String nodeName, Op op, List<Act> ins, String out) {
        Shape shape = n.shapeOf(op, ins);
        int r = shape.rank();
        boolean anyBatched = false;
        boolean keep = true;
        for (Act a : ins) {
            if (a.batched()) {
                anyBatched = true;
                keep &= a.shape().rank() == r;
            } else if (a.shape().rank() == r && r > 0 && a.shape().dim(0) != 1) {
                keep = false;
            }
        }
        keep &= anyBatched;
        if (anyBatched && !keep) {
            n.keeps(ins.stream().filter(Act::batched).findFirst().get(), false, op.type() + " of shapes "
                    + ins.stream().map(a -> shapeString(a.shape(), a.batched())).toList()
                    + " broadcasts across the batch axis");
        }
        return n.emit(nodeName, op, ins, out, keep);
    }

    /**
     * {@code Add(dense, c)} with {@code c} a constant vector over the output features and the
     * Dense (from MatMul or Gemm) feeding nothing else: c becomes (part of) the Dense's bias.
     */
    private boolean fuseBias(Step n, int actIndex, Const c) {
        if (!n.isAct(actIndex)) {
            return false;
        }
        Act x = n.act(actIndex);
        Integer at = fusable.get(x.value());
        String onnxIn = resolve(staticAliases, n.proto.getInput(actIndex));
        if (at == null || uses.getOrDefault(onnxIn, 0) != 1 || !(nodes.get(at).op() instanceof Op.Dense dense)) {
            return false;
        }
        int outF = dense.outFeatures();
        if (c.rank() > x.shape().rank()) {
            return false;
        }
        boolean vector = c.size() == 1;
        if (!vector && c.rank() >= 1 && c.dims[c.rank() - 1] == outF) {
            vector = true;
            for (int d = 0; d < c.rank() - 1; d++) {
                vector &= c.dims[d] == 1;
            }
        }
        if (!vector) {
            return false;
        }
        float[] cv = c.toFloats();
        float[] sum = new float[outF];
        for (int j = 0; j < outF; j++) {
            float v = cv.length == 1 ? cv[0] : cv[j];
            sum[j] = dense.bias() == null ? v : dense.bias().data()[j] + v;
        }
        Node fused = nodes.get(at);
        String out = n.proto.getOutput(0);
        valueNames.add(out);
        nodes.set(at, new Node(fused.name(), new Op.Dense(dense.weight(), HostTensor.wrap(Shape.of(outF), sum)),
                fused.inputs(), out));
        producer.remove(x.value());
        producer.put(out, at);
        fusable.remove(x.value());
        fusable.put(out, at);
        acts.put(out, new Act(out, x.shape(), x.batched()));
        return true;
    }

    /** Output axis 0 of a MatMul is the batch when each batched operand's axis 0 lands there. */
    private boolean matMulKeepsBatch(Step n, Act a, Act b, Shape out) {
        int ra = a.shape().rank();
        int rb = b.shape().rank();
        int r = out.rank();
        boolean any = a.batched() || b.batched();
        boolean keep = any;
        // a's axis 0 is a batch-like axis (or the rows) unless a is a vector; b's only when b has rank >= 3
        int aLands = ra >= 2 ? r - ra : -1;
        int bLands = rb >= 3 ? r - rb : -1;
        if (a.batched() && aLands != 0) {
            keep = false;
        }
        if (b.batched() && bLands != 0) {
            keep = false;
        }
        if (!a.batched() && aLands == 0 && a.shape().dim(0) != 1) {
            keep = false;
        }
        if (!b.batched() && bLands == 0 && b.shape().dim(0) != 1) {
            keep = false;
        }
        if (any && !keep) {
            n.keeps(a.batched() ? a : b, false, "MatMul of " + shapeString(a.shape(), a.batched()) + " and "
                    + shapeString(b.shape(), b.batched()) + " mixes the batch axis");
        }
        return keep;
    }

    private void matMul(Step n) {
        if (!n.hasInput(0) || !n.hasInput(1)) {
            throw n.invalid("takes 2 inputs");
        }
        if (n.isAct(0) && n.isConst(1) && n.constant(1, "B").rank() == 2 && n.act(0).shape().rank() >= 2) {
            Act x = n.act(0);
            Const b = n.constant(1, "B");
            int k = b.dims[0];
            int outF = b.dims[1];
            if (k != x.shape().dim(-1)) {
                throw n.invalid("weight " + n.label(1) + " " + Arrays.toString(b.dims) + " expects " + k
                        + " input features, got " + x.shape().dim(-1));
            }
            float[] w = transposed(b.toFloats(), k, outF, 1f);
            Act y = n.emitMain(new Op.Dense(HostTensor.wrap(Shape.of(outF, k), w), null), List.of(x), x.batched());
            fusable.put(y.value(), nodes.size() - 1);
            return;
        }
        Act a = n.act(0);
        Act b = n.act(1);
        Op.MatMul op = new Op.MatMul();
        Shape out = n.shapeOf(op, List.of(a, b));
        n.emitMain(op, List.of(a, b), matMulKeepsBatch(n, a, b, out));
    }

    private void gemm(Step n) {
        if (!n.hasInput(0) || !n.hasInput(1)) {
            throw n.invalid("takes inputs A and B");
        }
        boolean transA = n.attrs.i("transA", 0) != 0;
        boolean transB = n.attrs.i("transB", 0) != 0;
        float alpha = n.attrs.f("alpha", 1f);
        float beta = n.attrs.f("beta", 1f);
        if (transA && n.isAct(0)) {
            n.keeps(n.act(0), false, "Gemm with transA=1 contracts the batch axis");
        }
        if (transB && n.isAct(1)) {
            n.keeps(n.act(1), false, "Gemm with transB=1 moves the batch axis of B");
        }
        int[] ad = n.isConst(0) ? n.constant(0, "A").dims : n.act(0).shape().dims();
        int[] bd = n.isConst(1) ? n.constant(1, "B").dims : n.act(1).shape().dims();
        if (ad.length != 2 || bd.length != 2) {
            throw n.invalid("A " + Arrays.toString(ad) + " and B " + Arrays.toString(bd) + " must be 2-D");
        }
        int m = transA ? ad[1] : ad[0];
        int k = transA ? ad[0] : ad[1];
        int kb = transB ? bd[1] : bd[0];
        int outF = transB ? bd[0] : bd[1];
        if (k != kb) {
            throw n.invalid((n.isConst(1) ? "weight " + n.label(1) + " " : "B ") + Arrays.toString(bd)
                    + (transB ? " (transB=1)" : "") + " expects " + kb + " input features, got " + k);
        }
        boolean hasC = n.hasInput(2) && beta != 0f;
        int[] cd = null;
        if (hasC) {
            cd = n.isConst(2) ? n.constant(2, "C").dims : n.act(2).shape().dims();
            int[] full = Const.broadcastDims(new int[] {m, outF}, cd);
            if (full.length != 2 || full[0] != m || full[1] != outF) {
                throw n.invalid("C " + Arrays.toString(cd) + " does not broadcast to [" + m + ", " + outF + "]");
            }
        }
        boolean last = !hasC;
        if (n.isConst(1)) {
            Act x = n.act(0);
            if (transA) {
                boolean keep = n.keeps(x, false, "Gemm with transA=1 contracts the batch axis");
                x = n.emit(n.helper("transA"), new Op.Transpose(List.of(1, 0)), List.of(x), n.freshOut("transA"), keep);
            }
            float[] bv = n.constant(1, "B").toFloats();
            float[] w = transB ? scaled(bv, alpha) : transposed(bv, kb, outF, alpha);
            HostTensor bias = null;
            boolean cIsBias = false;
            if (hasC && n.isConst(2)) {
                Const c = n.constant(2, "C");
                if (c.size() == 1 || (c.dims[c.rank() - 1] == outF && (c.rank() == 1 || c.dims[0] == 1))) {
                    float[] cv = c.toFloats();
                    float[] bb = new float[outF];
                    for (int j = 0; j < outF; j++) {
                        bb[j] = beta * (cv.length == 1 ? cv[0] : cv[j]);
                    }
                    bias = HostTensor.wrap(Shape.of(outF), bb);
                    cIsBias = true;
                }
            }
            Op.Dense dense = new Op.Dense(HostTensor.wrap(Shape.of(outF, k), w), bias);
            if (!hasC || cIsBias) {
                Act y = n.emitMain(dense, List.of(x), x.batched());
                fusable.put(y.value(), nodes.size() - 1);
                return;
            }
            Act y = n.emit(n.mainName(), dense, List.of(x), n.freshOut("gemm"), x.batched());
            addC(n, y, beta);
            return;
        }
        // B is computed by the graph: Y = alpha * (A' B') + beta * C as MatMul, Mul and Add
        Act a = n.act(0);
        Act b = n.act(1);
        if (transA) {
            a = n.emit(n.helper("transA"), new Op.Transpose(List.of(1, 0)), List.of(a), n.freshOut("transA"),
                    n.keeps(a, false, "Gemm with transA=1 contracts the batch axis"));
        }
        if (transB) {
            b = n.emit(n.helper("transB"), new Op.Transpose(List.of(1, 0)), List.of(b), n.freshOut("transB"),
                    n.keeps(b, false, "Gemm with transB=1 moves the batch axis of B"));
        }
        Op.MatMul mm = new Op.MatMul();
        Shape mmShape = n.shapeOf(mm, List.of(a, b));
        boolean keep = matMulKeepsBatch(n, a, b, mmShape);
        boolean scale = alpha != 1f;
        Act y = n.emit(n.mainName(), mm, List.of(a, b), last && !scale ? n.proto.getOutput(0) : n.freshOut("matmul"), keep);
        if (scale) {
            Act s = n.constAct(n.helper("alpha"), Const.floats(new int[0], new float[] {alpha}));
            y = emitBroadcast(n, n.helper("scale"), new Op.Mul(), List.of(y, s), last ? n.proto.getOutput(0)
                    : n.freshOut("scaled"));
            if (last) {
                acts.put(n.proto.getOutput(0), y);
            }
        } else if (last) {
            acts.put(n.proto.getOutput(0), y);
        }
        if (!last) {
            addC(n, y, beta);
        }
    }

    /** Gemm's {@code + beta * C} as an Add (of a constant, or of C scaled by a Mul). */
    private void addC(Step n, Act y, float beta) {
        Act c;
        if (n.isConst(2)) {
            Const cc = n.constant(2, "C");
            float[] cv = cc.toFloats();
            float[] scaledC = scaled(cv, beta);
            c = n.constAct(n.helper("C"), Const.floats(cc.dims, scaledC));
        } else {
            c = n.act(2);
            if (beta != 1f) {
                Act s = n.constAct(n.helper("beta"), Const.floats(new int[0], new float[] {beta}));
                c = emitBroadcast(n, n.helper("betaC"), new Op.Mul(), List.of(c, s), n.freshOut("betaC"));
            }
        }
        Act out = emitBroadcast(n, n.helper("C"), new Op.Add(), List.of(y, c), n.proto.getOutput(0));
        acts.put(n.proto.getOutput(0), out);
    }

    // ---------------------------------------------------------------- convolutions

    /** Strides, dilations and pads of a window over spatial axes {@code in}. */
    private record Window(int[] strides, int[] dilations, int[] padBegin, int[] padEnd) {
        Geometry2d geometry() {
            if (strides.length == 1) {
                return new Geometry2d(1, strides[0], 0, padBegin[0], 0, padEnd[0], 1, dilations[0]);
            }
            return new Geometry2d(strides[0], strides[1], padBegin[0], padBegin[1], padEnd[0], padEnd[1],
                    dilations[0], dilations[1]);
        }
    }

    private static Window window(Step n, int[] in, int[] kernel, boolean dilations) {
        int s = in.length;
        int[] strides = ints(n, "strides", n.attrs.ints("strides", null), s, 1, true);
        int[] dil = dilations ? ints(n, "dilations", n.attrs.ints("dilations", null), s, 1, true) : ones(s);
        String autoPad = n.attrs.s("auto_pad", "NOTSET");
        int[] begin = new int[s];
        int[] end = new int[s];
        switch (autoPad) {
            case "NOTSET", "" -> {
                long[] p = n.attrs.ints("pads", null);
                if (p != null) {
                    if (p.length != 2 * s) {
                        throw n.invalid("pads " + Arrays.toString(p) + " for " + s + " spatial axes");
                    }
                    for (int i = 0; i < 2 * s; i++) {
                        if (p[i] < 0 || p[i] > Integer.MAX_VALUE) {
                            throw n.invalid("invalid pads " + Arrays.toString(p));
                        }
                    }
                    for (int i = 0; i < s; i++) {
                        begin[i] = (int) p[i];
                        end[i] = (int) p[i + s];
                    }
                }
            }
            case "VALID" -> {
            }
            case "SAME_UPPER", "SAME_LOWER" -> {
                for (int i = 0; i < s; i++) {
                    int[] pp = samePads(in[i], kernel[i], strides[i], dil[i], autoPad.equals("SAME_UPPER"));
                    begin[i] = pp[0];
                    end[i] = pp[1];
                }
            }
            default -> throw n.invalid("unknown auto_pad " + autoPad);
        }
        return new Window(strides, dil, begin, end);
    }

    /** SAME padding: output ceil(in / stride); the odd pixel goes at the end (UPPER) or the start (LOWER). */
    static int[] samePads(int in, int k, int stride, int dilation, boolean upper) {
        long out = (in + (long) stride - 1) / stride;
        long total = Math.max(0, (out - 1) * stride + (long) (k - 1) * dilation + 1 - in);
        int small = Math.toIntExact(total / 2);
        int large = Math.toIntExact(total - total / 2);
        return upper ? new int[] {small, large} : new int[] {large, small};
    }

    /** An INTS attribute of {@code length} positive (or non-negative) values, {@code dflt} each when absent. */
    private static int[] ints(Step n, String attr, long[] values, int length, int dflt, boolean positive) {
        if (values == null) {
            int[] out = new int[length];
            Arrays.fill(out, dflt);
            return out;
        }
        if (values.length != length) {
            throw n.invalid(attr + " " + Arrays.toString(values) + " for " + length + " spatial axes");
        }
        int[] out = new int[length];
        for (int i = 0; i < length; i++) {
            long v = values[i];
            if (v < (positive ? 1 : 0) || v > Integer.MAX_VALUE) {
                throw n.invalid("invalid " + attr + " " + Arrays.toString(values));
            }
            out[i] = (int) v;
        }
        return out;
    }

    private static int[] ones(int n) {
        int[] o = new int[n];
        Arrays.fill(o, 1);
        return o;
    }

    /** Views a {@code [N, C, L]} activation as {@code [N, C, 1, L]}. */
    private Act toImage(Step n, Act x) {
        int[] d = x.shape().dims();
        int[] target = {x.batched() ? 0 : d[0], d[1], 1, d[2]};
        return n.emit(n.helper("to2d"), new Op.Reshape(target), List.of(x), n.freshOut("2d"), x.batched());
    }

    /** The 2-D form's {@code [N, C, 1, L]} result back as {@code [N, C, L]}, under the node's output name. */
    private void fromImage(Step n, Act y) {
        int[] d = y.shape().dims();
        int[] target = {y.batched() ? 0 : d[0], d[1], d[3]};
        Act out = n.emit(n.helper("to1d"), new Op.Reshape(target), List.of(y), n.proto.getOutput(0), y.batched());
        acts.put(n.proto.getOutput(0), out);
    }

    /** The spatial rank of a convolution or pooling input, 1 or 2; higher ranks are unsupported. */
    private static int spatialRank(Step n, Shape x, String what) {
        int s = x.rank() - 2;
        if (s < 1) {
            throw n.invalid("input " + x + " needs a batch, a channel and a spatial axis");
        }
        if (s > 2) {
            throw n.unsupported(s + "-D " + what + " is not supported");
        }
        return s;
    }

    private HostTensor bias(Step n, int channels) {
        if (!n.hasInput(2)) {
            return null;
        }
        Const b = n.constant(2, "bias B");
        if (b.rank() != 1 || b.dims[0] != channels) {
            throw n.invalid("bias " + n.label(2) + " " + Arrays.toString(b.dims) + " does not match " + channels
                    + " output channels");
        }
        return HostTensor.wrap(Shape.of(channels), b.toFloats());
    }

    private void conv(Step n) {
        Act x = n.act(0);
        Const wt = n.constant(1, "weight W");
        int[] wd = wt.dims;
        if (wd.length >= 5 || x.shape().rank() >= 5) {
            throw n.unsupported((Math.max(wd.length, x.shape().rank()) - 2) + "-D convolution is not supported");
        }
        int s = spatialRank(n, x.shape(), "convolution");
        if (wd.length != s + 2) {
            throw n.invalid("weight " + n.label(1) + " " + Arrays.toString(wd) + " does not fit input "
                    + shapeString(x.shape(), x.batched()));
        }
        long group = n.attrs.i("group", 1);
        if (group < 1 || group > wd[0] || wd[0] % group != 0) {
            throw n.invalid("group " + group + " does not divide " + wd[0] + " output channels");
        }
        int channels = x.shape().dim(1);
        if ((long) wd[1] * group != channels) {
            throw n.invalid("weight " + n.label(1) + " " + Arrays.toString(wd) + " with group " + group
                    + " expects " + (long) wd[1] * group + " input channels, got " + channels);
        }
        int[] kernel = Arrays.copyOfRange(wd, 2, wd.length);
        long[] ks = n.attrs.ints("kernel_shape", null);
        if (ks != null && !Arrays.equals(ks, Arrays.stream(kernel).asLongStream().toArray())) {
            throw n.invalid("kernel_shape " + Arrays.toString(ks) + " does not match weight " + Arrays.toString(wd));
        }
        int[] spatial = Arrays.copyOfRange(x.shape().dims(), 2, 2 + s);
        Window win = window(n, spatial, kernel, true);
        HostTensor bias = bias(n, wd[0]);
        HostTensor weight = HostTensor.wrap(s == 1 ? Shape.of(wd[0], wd[1], 1, wd[2]) : Shape.of(wd), wt.toFloats());
        Op.Conv2d op = new Op.Conv2d(weight, bias, win.geometry(), (int) group);
        if (s == 2) {
            n.emitMain(op, List.of(x), x.batched());
        } else {
            Act y = n.emit(n.mainName(), op, List.of(toImage(n, x)), n.freshOut("conv2d"), x.batched());
            fromImage(n, y);
        }
    }

    private void convTranspose(Step n) {
        Act x = n.act(0);
        Const wt = n.constant(1, "weight W");
        int[] wd = wt.dims;
        if (wd.length >= 5 || x.shape().rank() >= 5) {
            throw n.unsupported((Math.max(wd.length, x.shape().rank()) - 2) + "-D transposed convolution is not supported");
        }
        int s = spatialRank(n, x.shape(), "transposed convolution");
        if (wd.length != s + 2) {
            throw n.invalid("weight " + n.label(1) + " " + Arrays.toString(wd) + " does not fit input "
                    + shapeString(x.shape(), x.batched()));
        }
        long group = n.attrs.i("group", 1);
        int channels = x.shape().dim(1);
        if (group < 1 || wd[0] % group != 0) {
            throw n.invalid("group " + group + " does not divide " + wd[0] + " input channels");
        }
        if (wd[0] != channels) {
            throw n.invalid("weight " + n.label(1) + " " + Arrays.toString(wd) + " expects " + wd[0]
                    + " input channels, got " + channels);
        }
        int outChannels = Math.toIntExact(wd[1] * group);
        int[] kernel = Arrays.copyOfRange(wd, 2, wd.length);
        long[] ks = n.attrs.ints("kernel_shape", null);
        if (ks != null && !Arrays.equals(ks, Arrays.stream(kernel).asLongStream().toArray())) {
            throw n.invalid("kernel_shape " + Arrays.toString(ks) + " does not match weight " + Arrays.toString(wd));
        }
        int[] in = Arrays.copyOfRange(x.shape().dims(), 2, 2 + s);
        int[] strides = ints(n, "strides", n.attrs.ints("strides", null), s, 1, true);
        int[] dil = ints(n, "dilations", n.attrs.ints("dilations", null), s, 1, true);
        int[] outPad = ints(n, "output_padding", n.attrs.ints("output_padding", null), s, 0, false);
        String autoPad = n.attrs.s("auto_pad", "NOTSET");
        long[] outputShape = n.attrs.ints("output_shape", null);
        int[] begin = new int[s];
        int[] end = new int[s];
        if (outputShape != null || autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
            if (outputShape != null && outputShape.length == s + 2) {
                outputShape = Arrays.copyOfRange(outputShape, 2, s + 2);
            }
            if (outputShape != null && outputShape.length != s) {
                throw n.invalid("output_shape " + Arrays.toString(outputShape) + " for " + s + " spatial axes");
            }
            for (int i = 0; i < s; i++) {
                long target = outputShape != null ? outputShape[i] : (long) in[i] * strides[i];
                if (target < 1 || target > Integer.MAX_VALUE) {
                    throw n.invalid("invalid output_shape " + Arrays.toString(outputShape));
                }
                long full = (long) strides[i] * (in[i] - 1) + outPad[i] + (long) (kernel[i] - 1) * dil[i] + 1;
                long total = full - target;
                if (total < 0) {
                    // the requested output is larger than the full one: the rest is output padding at the end
                    outPad[i] = Math.toIntExact(outPad[i] - total);
                    total = 0;
                }
                int small = Math.toIntExact(total / 2);
                int large = Math.toIntExact(total - total / 2);
                boolean upper = autoPad.equals("SAME_UPPER");
                begin[i] = upper ? small : large;
                end[i] = upper ? large : small;
            }
        } else if (!autoPad.equals("VALID")) {
            if (!autoPad.equals("NOTSET") && !autoPad.isEmpty()) {
                throw n.invalid("unknown auto_pad " + autoPad);
            }
            int[] p = ints(n, "pads", n.attrs.ints("pads", null), 2 * s, 0, false);
            begin = Arrays.copyOfRange(p, 0, s);
            end = Arrays.copyOfRange(p, s, 2 * s);
        }
        for (int i = 0; i < s; i++) {
            if (outPad[i] >= Math.max(strides[i], dil[i])) {
                throw n.unsupported("ConvTranspose output padding " + outPad[i] + " on spatial axis " + i
                        + " is not smaller than the stride or dilation");
            }
        }
        Window win = new Window(strides, dil, begin, end);
        HostTensor bias = bias(n, outChannels);
        HostTensor weight = HostTensor.wrap(s == 1 ? Shape.of(wd[0], wd[1], 1, wd[2]) : Shape.of(wd), wt.toFloats());
        Op.ConvTranspose2d op = new Op.ConvTranspose2d(weight, bias, win.geometry(), (int) group,
                s == 1 ? 0 : outPad[0], outPad[s - 1]);
        if (s == 2) {
            n.emitMain(op, List.of(x), x.batched());
        } else {
            Act y = n.emit(n.mainName(), op, List.of(toImage(n, x)), n.freshOut("convT2d"), x.batched());
            fromImage(n, y);
        }
    }

    private void batchNorm(Step n) {
        if (opset < 9 && n.attrs.i("spatial", 1) == 0) {
            throw n.unsupported("BatchNormalization with spatial=0 (statistics per activation, not per channel)"
                    + " is not supported");
        }
        if (n.attrs.i("training_mode", 0) != 0) {
            throw n.unsupported("BatchNormalization in training mode (training_mode=1) is not supported");
        }
        Act x = n.act(0);
        if (x.shape().rank() < 2) {
            throw n.invalid("input " + x.shape() + " needs a channel axis");
        }
        int c = x.shape().dim(1);
        float[][] p = new float[4][];
        String[] roles = {"scale", "B", "mean", "var"};
        for (int i = 0; i < 4; i++) {
            Const t = n.constant(i + 1, roles[i]);
            if (t.size() != c || t.rank() != 1) {
                throw n.invalid(roles[i] + " " + n.label(i + 1) + " " + Arrays.toString(t.dims) + " does not match "
                        + c + " channels");
            }
            p[i] = t.toFloats();
        }
        double eps = n.attrs.f("epsilon", 1e-5f);
        float[] scale = new float[c];
        float[] shift = new float[c];
        for (int i = 0; i < c; i++) {
            double sc = p[0][i] / Math.sqrt((double) p[3][i] + eps);
            scale[i] = (float) sc;
            shift[i] = (float) (p[1][i] - p[2][i] * sc);
        }
        n.emitMain(new Op.BatchNorm(HostTensor.wrap(Shape.of(c), scale), HostTensor.wrap(Shape.of(c), shift)), List.of(x),
                x.batched());
    }

    // ---------------------------------------------------------------- activations and outputs

    private void prelu(Step n) {
        Act x = n.act(0);
        Const slope = n.constant(1, "slope");
        int[] sd = slope.dims;
        if (opset < 7 && sd.length == 1 && x.shape().rank() > 2 && sd[0] == x.shape().dim(1) && sd[0] != 1) {
            // opset 6: a 1-D slope is per channel
            sd = new int[x.shape().rank() - 1];
            Arrays.fill(sd, 1);
            sd[0] = slope.dims[0];
        }
        HostTensor s = HostTensor.wrap(Shape.of(sd), slope.toFloats());
        boolean keep = n.keeps(x, sd.length < x.shape().rank() || sd[0] == 1, "PRelu slope with a batch axis");
        n.emitMain(new Op.PRelu(s), List.of(x), keep);
    }

    private void clip(Step n) {
        float min;
        float max;
        if (opset < 11) {
            min = n.attrs.f("min", Float.NEGATIVE_INFINITY);
            max = n.attrs.f("max", Float.POSITIVE_INFINITY);
        } else {
            min = n.hasInput(1) ? scalar(n, 1, "min") : Float.NEGATIVE_INFINITY;
            max = n.hasInput(2) ? scalar(n, 2, "max") : Float.POSITIVE_INFINITY;
        }
        n.unary(new Op.Clip(min, max));
    }

    private static float scalar(Step n, int i, String role) {
        Const c = n.constant(i, role);
        if (c.size() != 1) {
            throw n.invalid(role + " must be a scalar, is " + Arrays.toString(c.dims));
        }
        return (float) c.get(0);
    }

    private void softmax(Step n, boolean log) {
        Act x = n.act(0);
        int rank = x.shape().rank();
        long axis = n.attrs.i("axis", opset >= 13 ? -1 : 1);
        if (axis < -rank || axis >= rank) {
            throw n.invalid("axis " + axis + " is out of range for rank " + rank);
        }
        int a = (int) (axis < 0 ? axis + rank : axis);
        boolean trailing = opset < 13 && a < rank - 1;
        boolean keep = n.keeps(x, a != 0, (log ? "LogSoftmax" : "Softmax") + " over the batch axis");
        n.emitMain(log ? new Op.LogSoftmax(a, trailing) : new Op.Softmax(a, trailing), List.of(x), keep);
    }

    // ---------------------------------------------------------------- pooling

    private void pool(Step n, boolean max) {
        Act x = n.act(0);
        int s = spatialRank(n, x.shape(), "pooling");
        long[] k = n.attrs.ints("kernel_shape", null);
        if (k == null) {
            throw n.invalid("attribute kernel_shape is missing");
        }
        int[] kernel = ints(n, "kernel_shape", k, s, 1, true);
        int[] in = Arrays.copyOfRange(x.shape().dims(), 2, 2 + s);
        Window win = window(n, in, kernel, max || opset >= 19);
        String autoPad = n.attrs.s("auto_pad", "NOTSET");
        if (autoPad.startsWith("SAME") && Arrays.stream(win.dilations()).anyMatch(d -> d != 1)) {
            throw n.unsupported("pooling with auto_pad " + autoPad + " and dilations "
                    + Arrays.toString(win.dilations()) + " is not supported (ONNX Runtime pads for the undilated"
                    + " window, the ONNX specification for the dilated one)");
        }
        for (int i = 0; i < s; i++) {
            if (win.padBegin()[i] >= kernel[i] || win.padEnd()[i] >= kernel[i]) {
                throw n.invalid("pads " + Arrays.toString(win.padBegin()) + Arrays.toString(win.padEnd())
                        + " must be smaller than the kernel " + Arrays.toString(kernel));
            }
        }
        boolean ceil = n.attrs.i("ceil_mode", 0) != 0;
        int kH = s == 1 ? 1 : kernel[0];
        int kW = kernel[s - 1];
        Op op = max ? new Op.MaxPool2d(kH, kW, win.geometry(), ceil)
                : new Op.AvgPool2d(kH, kW, win.geometry(), n.attrs.i("count_include_pad", 0) != 0, ceil);
        if (s == 2) {
            n.emitMain(op, List.of(x), x.batched());
        } else {
            Act y = n.emit(n.mainName(), op, List.of(toImage(n, x)), n.freshOut("pool2d"), x.batched());
            fromImage(n, y);
        }
    }

    private void globalPool(Step n, Op op) {
        Act x = n.act(0);
        n.emitMain(op, List.of(x), x.batched());
    }

    private void reduce(Step n, boolean mean) {
        Act x = n.act(0);
        int rank = x.shape().rank();
        long[] axes = axesOf(n, mean ? 18 : 13);
        boolean keepDims = n.attrs.i("keepdims", 1) != 0;
        if (axes == null || axes.length == 0) {
            if (n.attrs.i("noop_with_empty_axes", 0) != 0) {
                n.defineAct(x);
                return;
            }
            axes = new long[rank];
            for (int i = 0; i < rank; i++) {
                axes[i] = i;
            }
        }
        if (rank == 0) {
            n.defineAct(x);
            return;
        }
        boolean[] on = new boolean[rank];
        for (long a : axes) {
            int ax = n.axis(a, rank);
            if (on[ax]) {
                throw n.invalid("axis " + a + " given twice");
            }
            on[ax] = true;
        }
        List<Integer> list = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (on[i]) {
                list.add(i);
            }
        }
        boolean keep = n.keeps(x, !on[0], (mean ? "ReduceMean" : "ReduceSum") + " over the batch axis");
        n.emitMain(mean ? new Op.ReduceMean(list, keepDims) : new Op.ReduceSum(list, keepDims), List.of(x), keep);
    }

    // ---------------------------------------------------------------- resizing

    private void upsample(Step n) {
        if (opset < 7) {
            throw n.unsupported("Upsample before opset 7 (experimental, with width_scale and height_scale)"
                    + " is not supported");
        }
        String mode = n.attrs.s("mode", "nearest");
        if (!mode.equals("nearest")) {
            throw n.unsupported("Upsample mode '" + mode + "' is not supported; only nearest");
        }
        Act x = n.act(0);
        float[] scales;
        if (opset < 9) {
            scales = n.attrs.floats("scales");
            if (scales == null) {
                throw n.invalid("attribute scales is missing");
            }
        } else {
            Const c = n.constant(1, "scales");
            scales = c.toFloats();
        }
        emitResize(n, x, scales, null, Op.ResizeNearest.CoordinateMode.ASYMMETRIC, legacyNearest(n, scales));
    }

    /** Opsets before 11 round down when enlarging an axis and up when shrinking it (ONNX Runtime's rule). */
    private static Op.ResizeNearest.NearestMode legacyNearest(Step n, float[] scales) {
        boolean up = false;
        boolean down = false;
        for (float s : scales) {
            up |= s > 1;
            down |= s < 1;
        }
        if (up && down) {
            throw n.unsupported("nearest resizing that enlarges some axes and shrinks others (opset < 11)"
                    + " is not supported");
        }
        return down ? Op.ResizeNearest.NearestMode.CEIL : Op.ResizeNearest.NearestMode.FLOOR;
    }

    private void resize(Step n) {
        String mode = n.attrs.s("mode", "nearest");
        if (!mode.equals("nearest")) {
            throw n.unsupported("Resize mode '" + mode + "' is not supported; only nearest");
        }
        Act x = n.act(0);
        int rank = x.shape().rank();
        if (opset < 11) {
            float[] scales = n.constant(1, "scales").toFloats();
            emitResize(n, x, scales, null, Op.ResizeNearest.CoordinateMode.ASYMMETRIC, legacyNearest(n, scales));
            return;
        }
        String ct = n.attrs.s("coordinate_transformation_mode", "half_pixel");
        Op.ResizeNearest.CoordinateMode coord = switch (ct) {
            case "half_pixel" -> Op.ResizeNearest.CoordinateMode.HALF_PIXEL;
            case "pytorch_half_pixel" -> Op.ResizeNearest.CoordinateMode.PYTORCH_HALF_PIXEL;
            case "align_corners" -> Op.ResizeNearest.CoordinateMode.ALIGN_CORNERS;
            case "asymmetric" -> Op.ResizeNearest.CoordinateMode.ASYMMETRIC;
            case "tf_half_pixel_for_nn" -> Op.ResizeNearest.CoordinateMode.TF_HALF_PIXEL_FOR_NN;
            case "tf_crop_and_resize", "half_pixel_symmetric" ->
                    throw n.unsupported("Resize with coordinate_transformation_mode '" + ct + "' is not supported");
            default -> throw n.invalid("unknown coordinate_transformation_mode '" + ct + "'");
        };
        String nm = n.attrs.s("nearest_mode", "round_prefer_floor");
        Op.ResizeNearest.NearestMode nearest = switch (nm) {
            case "round_prefer_floor" -> Op.ResizeNearest.NearestMode.ROUND_PREFER_FLOOR;
            case "round_prefer_ceil" -> Op.ResizeNearest.NearestMode.ROUND_PREFER_CEIL;
            case "floor" -> Op.ResizeNearest.NearestMode.FLOOR;
            case "ceil" -> Op.ResizeNearest.NearestMode.CEIL;
            default -> throw n.invalid("unknown nearest_mode '" + nm + "'");
        };
        String policy = n.attrs.s("keep_aspect_ratio_policy", "stretch");
        Const scalesC = n.hasInput(2) ? n.constant(2, "scales") : null;
        Const sizesC = n.hasInput(3) ? n.constant(3, "sizes") : null;
        if (scalesC != null && scalesC.size() == 0) {
            scalesC = null;
        }
        if (sizesC != null && sizesC.size() == 0) {
            sizesC = null;
        }
        if ((scalesC == null) == (sizesC == null)) {
            throw n.invalid("Resize needs exactly one of scales and sizes");
        }
        long[] axesAttr = n.attrs.ints("axes", null);
        int[] axes = new int[axesAttr == null ? rank : axesAttr.length];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = axesAttr == null ? i : n.axis(axesAttr[i], rank);
        }
        float[] scales = new float[rank];
        Arrays.fill(scales, 1f);
        int[] sizes = null;
        if (scalesC != null) {
            if (scalesC.size() != axes.length) {
                throw n.invalid(scalesC.size() + " scales for " + axes.length + " axes");
            }
            for (int i = 0; i < axes.length; i++) {
                scales[axes[i]] = (float) scalesC.get(i);
            }
        } else {
            if (!policy.equals("stretch")) {
                throw n.unsupported("Resize with keep_aspect_ratio_policy '" + policy + "' is not supported");
            }
            if (sizesC.isFloat() || sizesC.size() != axes.length) {
                throw n.invalid("sizes must be " + axes.length + " integers");
            }
            sizes = new int[rank];
            Arrays.fill(sizes, -1);
            for (int i = 0; i < axes.length; i++) {
                int ax = axes[i];
                int in = x.shape().dim(ax);
                if (sizesC.isBatch(i)) {
                    if (ax != 0 || !x.batched()) {
                        throw n.batchUnsupported("Resize to the batch size on axis " + ax);
                    }
                    continue; // the batch stays as it is
                }
                long v = sizesC.l[i];
                if (v < 1 || v > Integer.MAX_VALUE) {
                    throw n.invalid("invalid size " + v + " in sizes " + Arrays.toString(sizesC.l));
                }
                if (ax == 0 && x.batched()) {
                    if (!dynamicBatch && v == batch) {
                        continue; // the model's fixed batch stays as it is
                    }
                } else if (v == in) {
                    continue;
                }
                sizes[ax] = (int) v;
                scales[ax] = (float) v / in;
            }
        }
        emitResize(n, x, scales, sizes, coord, nearest);
    }

    private void emitResize(Step n, Act x, float[] scales, int[] sizes, Op.ResizeNearest.CoordinateMode coord,
                            Op.ResizeNearest.NearestMode nearest) {
        int rank = x.shape().rank();
        if (scales.length != rank) {
            throw n.invalid(scales.length + " scales for input " + shapeString(x.shape(), x.batched()));
        }
        List<Float> sc = new ArrayList<>();
        List<Integer> sz = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (!(scales[i] > 0) || Float.isInfinite(scales[i])) {
                throw n.invalid("invalid scale " + scales[i] + " in " + Arrays.toString(scales));
            }
            sc.add(scales[i]);
            sz.add(sizes == null ? -1 : sizes[i]);
        }
        boolean keep = n.keeps(x, rank > 0 && scales[0] == 1f && (sizes == null || sizes[0] == -1),
                "resizing the batch axis");
        n.emitMain(new Op.ResizeNearest(sc, sz, coord, nearest), List.of(x), keep);
    }

    // ---------------------------------------------------------------- helpers

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
        return s.toLowerCase(Locale.ROOT).endsWith(".onnx") ? s.substring(0, s.length() - 5) : s;
    }

    /** One node being converted: its inputs, attributes and errors that name it. */
    private final class Step {
        final NodeProto proto;
        final String name;
        final String where;
        final Attributes attrs;
        private boolean mainUsed;

        Step(NodeProto proto, String name, String where) {
            this.proto = proto;
            this.name = name;
            this.where = where;
            this.attrs = new Attributes(proto, where);
        }

        boolean hasInput(int i) {
            return i < proto.getInputCount() && !proto.getInput(i).isEmpty();
        }

        String label(int i) {
            return "'" + proto.getInput(i) + "'";
        }

        boolean isConst(int i) {
            if (!hasInput(i)) {
                return false;
            }
            String v = proto.getInput(i);
            return consts.containsKey(v) || initializers.containsKey(v);
        }

        boolean isAct(int i) {
            return hasInput(i) && acts.containsKey(proto.getInput(i));
        }

        /** Input {@code i}, which must be a constant (an initializer, a Constant, or folded). */
        Const constant(int i, String role) {
            if (!hasInput(i)) {
                throw invalid("needs input " + i + " (" + role + ")");
            }
            String v = proto.getInput(i);
            Const c = consts.get(v);
            if (c != null) {
                return c;
            }
            TensorProto t = initializers.get(v);
            if (t != null) {
                c = Tensors.decode(t, modelDir, where);
                consts.put(v, c);
                return c;
            }
            if (acts.containsKey(v)) {
                throw unsupported(role + " '" + v + "' must be a constant (an initializer), but it is computed by the graph");
            }
            if (unavailable.containsKey(v)) {
                throw unsupported("reads '" + v + "', " + unavailable.get(v) + ", which Glassbox does not compute");
            }
            throw invalid("missing initializer '" + v + "' for " + role);
        }

        /** A constant integer input as longs (no batch size in it). */
        long[] intsInput(int i, String role) {
            Const c = constant(i, role);
            if (c.isFloat() || c.rank() > 1) {
                throw invalid(role + " must be a 1-D integer tensor");
            }
            if (c.hasBatch()) {
                throw batchUnsupported("the batch size used as " + role);
            }
            return c.l.clone();
        }

        /** Input {@code i} as an activation; a constant becomes an {@link Op.Constant} node. */
        Act act(int i) {
            if (!hasInput(i)) {
                throw invalid("needs input " + i);
            }
            String v = proto.getInput(i);
            Act a = acts.get(v);
            if (a != null) {
                return a;
            }
            if (isConst(i)) {
                Act made = constNodes.get(v);
                if (made == null) {
                    Const c = constant(i, "input " + i);
                    made = makeConst(uniqueNodeName(v), c, valueNames.contains(v) && !producer.containsKey(v)
                            && !acts.containsKey(v) ? v : freshValue(v));
                    constNodes.put(v, made);
                }
                return made;
            }
            if (unavailable.containsKey(v)) {
                throw unsupported("reads '" + v + "', " + unavailable.get(v) + ", which Glassbox does not compute");
            }
            throw invalid("reads undefined value '" + v + "'");
        }

        /** A helper constant node. */
        Act constAct(String nodeName, Const c) {
            return makeConst(nodeName, c, freshValue(proto.getOutput(0) + "/" + nodeName.substring(nodeName.lastIndexOf('/') + 1)));
        }

        private Act makeConst(String nodeName, Const c, String value) {
            if (c.hasBatch()) {
                throw batchUnsupported("the batch size used as a value");
            }
            Op.Constant op = new Op.Constant(c.toHost());
            nodes.add(new Node(nodeName, op, List.of(), value));
            producer.put(value, nodes.size() - 1);
            return new Act(value, c.shape(), false);
        }

        /** Checks a folded constant against the overall folding budget. */
        Const fold(Const c) {
            foldedTotal += c.size();
            if (foldedTotal > MAX_FOLDED_TOTAL) {
                throw unsupported("constant folding would hold more than " + MAX_FOLDED_TOTAL + " elements");
            }
            return c;
        }

        void defineConst(Const c) {
            consts.put(proto.getOutput(0), c);
        }

        void defineAct(Act a) {
            acts.put(proto.getOutput(0), a);
        }

        /** Output 0 is another name for input {@code i}. */
        void alias(int i) {
            if (!hasInput(i)) {
                throw invalid("needs input " + i);
            }
            if (isConst(i)) {
                defineConst(constant(i, "input"));
            } else {
                defineAct(act(i));
            }
        }

        /** An elementwise op of one input. */
        void unary(Op op) {
            Act x = act(0);
            emitMain(op, List.of(x), x.batched());
        }

        int axis(long a, int rank) {
            if (a < -rank || a >= rank) {
                throw invalid("axis " + a + " is out of range for rank " + rank);
            }
            return (int) (a < 0 ? a + rank : a);
        }

        String mainName() {
            if (mainUsed) {
                return helper("op");
            }
            mainUsed = true;
            nodeNames.add(name);
            return name;
        }

        String helper(String suffix) {
            return uniqueNodeName(name + "/" + suffix);
        }

        String freshOut(String suffix) {
            return freshValue(proto.getOutput(0) + "/" + suffix);
        }

        Shape shapeOf(Op op, List<Act> ins) {
            try {
                return op.outputShape(ins.stream().map(Act::shape).toList());
            } catch (IllegalArgumentException | ArithmeticException | IndexOutOfBoundsException e) {
                throw invalid(e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }

        /** Emits the node named after the ONNX node, producing output 0. */
        Act emitMain(Op op, List<Act> ins, boolean batched) {
            Act a = emit(mainName(), op, ins, proto.getOutput(0), batched);
            acts.put(proto.getOutput(0), a);
            return a;
        }

        Act emit(String nodeName, Op op, List<Act> ins, String output, boolean batched) {
            Shape out = shapeOf(op, ins);
            try {
                Math.multiplyExact(out.size(), 1);
            } catch (ArithmeticException e) {
                throw invalid("output shape " + out + " is too large");
            }
            valueNames.add(output);
            nodes.add(new Node(nodeName, op, ins.stream().map(Act::value).toList(), output));
            producer.put(output, nodes.size() - 1);
            Act a = new Act(output, out, batched);
            if (output.equals(proto.getOutput(0)) || indexOfOutput(output) >= 0) {
                acts.put(output, a);
            }
            return a;
        }

        private int indexOfOutput(String v) {
            for (int k = 0; k < proto.getOutputCount(); k++) {
                if (proto.getOutput(k).equals(v)) {
                    return k;
                }
            }
            return -1;
        }

        /**
         * Whether an op on batched {@code x} keeps the batch axis; when it does not and the batch
         * is symbolic, an {@link UnsupportedFeatureException} saying why.
         */
        boolean keeps(Act x, boolean keepsBatch, String why) {
            if (x.batched() && !keepsBatch && dynamicBatch) {
                throw batchUnsupported(why);
            }
            return x.batched() && keepsBatch;
        }

        UnsupportedFeatureException batchUnsupported(String why) {
            return unsupported(why + "; with a dynamic batch Glassbox needs axis 0 to stay the batch"
                    + " (export with a fixed batch size to run this model at that size)");
        }

        InvalidInputException invalid(String what) {
            return new InvalidInputException(what, where);
        }

        UnsupportedFeatureException unsupported(String what) {
            return new UnsupportedFeatureException(what, where);
        }
    }
}

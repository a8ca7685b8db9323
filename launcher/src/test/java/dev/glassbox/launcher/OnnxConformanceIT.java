package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * ONNX's own backend test cases (Debian's libonnx-testdata, ONNX 1.12) run through the
 * assembled runtime: every case whose operators the ONNX loader lists in {@code operators()}
 * runs on every available backend, and every output must match the expected one within
 * {@link Tolerance}. See docs/onnx-conformance.md.
 *
 * <p>Glassbox graphs have one activation input, so every graph input after the first becomes
 * an initializer holding the values of its {@code input_K.pb} (node tests pass weights, shapes
 * and indices as inputs). Output K is compared with {@code output_K.pb}, in graph output order.
 *
 * <p>A case is skipped (not failed) when it uses an operator outside {@code operators()}, when
 * its first input or an output is not float32, or when the loader rejects it with an
 * {@link UnsupportedFeatureException}. Anything else that goes wrong fails the case, and the
 * final {@code summary} test fails if any case failed. It writes
 * {@code target/onnx-conformance.txt} (one line per case) and {@code target/onnx-conformance.md}
 * (the text of docs/onnx-conformance.md).
 *
 * <p>System properties: {@code onnx.testdata} (default
 * {@code /usr/share/libonnx-testdata/data}), {@code onnx.conformance.filter} (a regular
 * expression a case name such as {@code node/test_conv} must match somewhere; for debugging),
 * {@code onnx.conformance.timeout} (seconds per case, default 60).
 */
class OnnxConformanceIT {

    static final Path DATA = Path.of(System.getProperty("onnx.testdata", "/usr/share/libonnx-testdata/data"));
    /** The directories with runnable cases; {@code real} holds only download stubs. */
    static final List<String> SUITES = List.of("node", "pytorch-converted", "pytorch-operator", "simple");
    static final Path TARGET = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("target");
    static final Path REPORT = TARGET.resolve("onnx-conformance.txt");
    static final Path MARKDOWN = TARGET.resolve("onnx-conformance.md");
    static final Pattern FILTER = Pattern.compile(System.getProperty("onnx.conformance.filter", ""));
    static final Duration CASE_TIMEOUT = Duration.ofSeconds(Long.getLong("onnx.conformance.timeout", 60));

    static final String OPS = "unsupported op: ";
    static final String FEATURE = "unsupported feature: ";
    static final String DTYPE = "not float32: ";

    enum Status { PASS, FAIL, SKIP }

    /** One line of the report. */
    record Outcome(Status status, String name, String detail) {
        String line() {
            return status + "\t" + name + "\t" + detail.replace('\t', ' ').replace('\n', ' ');
        }

        static Outcome parse(String line) {
            String[] f = line.split("\t", 3);
            return new Outcome(Status.valueOf(f[0]), f[1], f.length > 2 ? f[2] : "");
        }
    }

    /** A failed case, as an exception so that any step can end it. */
    static final class CaseFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CaseFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** A skipped case. */
    static final class CaseSkip extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CaseSkip(String reason) {
            super(reason, null, false, false);
        }
    }

    private static GlassboxRuntime runtime;
    private static ExplanationService service;
    private static Set<String> operators;
    private static List<String> backends;
    private static Path work;
    private static ExecutorService worker;
    private static final Map<String, Outcome> outcomes = Collections.synchronizedMap(new LinkedHashMap<>());
    private static long started;

    @BeforeAll
    static void startRuntime() throws Exception {
        skipUnless(Files.isDirectory(DATA.resolve("node")), "OnnxConformanceIT: ONNX backend test data not found at " + DATA
                + " (install Debian's libonnx-testdata, or set -Donnx.testdata=DIR)");
        runtime = SharedRuntime.get();
        service = runtime.service();
        operators = new TreeSet<>(service.operators("onnx"));
        assertTrue(!operators.isEmpty(), "the ONNX loader lists no operators");
        backends = service.backends().stream().filter(b -> b.availability().isAvailable()).map(BackendInfo::id).toList();
        assertTrue(!backends.isEmpty(), "no backend is available: " + service.backends());
        Files.createDirectories(TARGET);
        work = Files.createTempDirectory(TARGET, "onnx-conformance-");
        worker = newWorker();
        started = System.nanoTime();
        System.out.println("ONNX conformance: " + operators.size() + " operators, backends " + backends + ", data " + DATA);
    }

    /** An assumption that also prints its reason: surefire shows a class skipped in @BeforeAll as 0 tests run. */
    /**
     * Skips the suite when what it needs is missing, except under {@code .ci/run}
     * ({@code GLASSBOX_CI=1}), which installs it: there a skip would hide a broken setup.
     */
    static void skipUnless(boolean condition, String reason) {
        if (!condition && System.getenv("GLASSBOX_CI") != null) {
            fail(reason + " (GLASSBOX_CI is set: .ci/run installs it)");
        }
        if (!condition) {
            System.out.println("SKIPPED: " + reason);
        }
        Assumptions.assumeTrue(condition, reason);
    }

    @AfterAll
    static void stopRuntime() throws IOException {
        if (worker != null) {
            worker.shutdownNow();
        }
        if (work != null) {
            try (Stream<Path> files = Files.list(work)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(work);
        }
    }

    @TestFactory
    List<DynamicNode> onnxBackendTests() throws IOException {
        List<DynamicNode> nodes = new ArrayList<>();
        for (String suite : SUITES) {
            Path dir = DATA.resolve(suite);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> cases;
            try (Stream<Path> list = Files.list(dir)) {
                cases = list.filter(p -> Files.isRegularFile(p.resolve("model.onnx")))
                        .filter(p -> FILTER.matcher(suite + "/" + p.getFileName()).find())
                        .sorted().toList();
            }
            for (Path c : cases) {
                String name = suite + "/" + c.getFileName();
                nodes.add(DynamicTest.dynamicTest(name, () -> runCase(name, c)));
            }
        }
        nodes.add(DynamicTest.dynamicTest("summary", OnnxConformanceIT::summary));
        return nodes;
    }

    // ---------------------------------------------------------------- one case

    private static void runCase(String name, Path dir) {
        Outcome outcome;
        Future<Outcome> future = worker.submit(() -> evaluate(name, dir));
        try {
            outcome = future.get(CASE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            worker.shutdownNow();
            worker = newWorker(); // the stuck thread is abandoned (daemon)
            outcome = new Outcome(Status.FAIL, name, "timed out after " + CASE_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            outcome = new Outcome(Status.FAIL, name, "harness error: " + oneLine(e.getCause()));
        }
        outcomes.put(name, outcome);
        switch (outcome.status()) {
            case PASS -> { }
            case SKIP -> Assumptions.abort(name + ": " + outcome.detail());
            case FAIL -> fail(name + ": " + outcome.detail());
        }
    }

    private static Outcome evaluate(String name, Path dir) {
        try {
            return new Outcome(Status.PASS, name, check(name, dir));
        } catch (CaseSkip e) {
            return new Outcome(Status.SKIP, name, e.getMessage());
        } catch (CaseFailure e) {
            return new Outcome(Status.FAIL, name, e.getMessage());
        } catch (UnsupportedFeatureException e) {
            // thrown by something after the loader (outputs on a backend): the loader accepted the model
            return new Outcome(Status.FAIL, name, "UnsupportedFeatureException after loading: " + oneLine(e));
        } catch (IOException | RuntimeException | Error e) {
            return new Outcome(Status.FAIL, name, oneLine(e));
        }
    }

    /** Runs one case on every backend; returns the worst error, or throws CaseSkip / CaseFailure. */
    private static String check(String name, Path dir) throws IOException {
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")));
        GraphProto g = model.getGraph();
        Set<String> ops = new TreeSet<>();
        collectOps(g, ops);
        List<String> missing = ops.stream().filter(op -> !operators.contains(op)).toList();
        if (!missing.isEmpty()) {
            throw new CaseSkip(OPS + String.join(", ", missing));
        }
        Set<String> initialized = g.getInitializerList().stream().map(TensorProto::getName).collect(Collectors.toSet());
        List<ValueInfoProto> inputs = g.getInputList().stream().filter(v -> !initialized.contains(v.getName())).toList();
        if (inputs.isEmpty()) {
            throw new CaseSkip(DTYPE + "the model has no graph input (Glassbox models take one float32 input)");
        }
        for (int k = 0; k < inputs.size(); k++) {
            ValueInfoProto v = inputs.get(k);
            if (!v.getType().hasTensorType()) {
                throw new CaseSkip(DTYPE + "input " + k + " '" + v.getName() + "' is not a tensor");
            }
        }
        int in0 = inputs.get(0).getType().getTensorType().getElemType();
        if (in0 != TensorProto.DataType.FLOAT_VALUE) {
            throw new CaseSkip(DTYPE + "input 0 '" + inputs.get(0).getName() + "' is " + typeName(in0));
        }
        for (int k = 0; k < g.getOutputCount(); k++) {
            ValueInfoProto v = g.getOutput(k);
            if (!v.getType().hasTensorType()) {
                throw new CaseSkip(DTYPE + "output " + k + " '" + v.getName() + "' is not a tensor");
            }
            int t = v.getType().getTensorType().getElemType();
            if (t != TensorProto.DataType.FLOAT_VALUE) {
                throw new CaseSkip(DTYPE + "output " + k + " '" + v.getName() + "' is " + typeName(t));
            }
        }
        List<Path> dataSets;
        try (Stream<Path> list = Files.list(dir)) {
            dataSets = list.filter(p -> p.getFileName().toString().startsWith("test_data_set_") && Files.isDirectory(p))
                    .sorted().toList();
        }
        if (dataSets.isEmpty()) {
            throw new CaseFailure("no test_data_set_* directory");
        }
        String worst = "";
        double worstRel = -1;
        for (Path set : dataSets) {
            List<TensorProto> in = new ArrayList<>();
            for (int k = 0; k < inputs.size(); k++) {
                in.add(readTensor(set.resolve("input_" + k + ".pb")));
            }
            List<TensorProto> expected = new ArrayList<>();
            for (int k = 0; k < g.getOutputCount(); k++) {
                expected.add(readTensor(set.resolve("output_" + k + ".pb")));
            }
            // Every graph input after the first becomes an initializer with this data set's values.
            GraphProto.Builder gb = g.toBuilder().clearInput().addInput(inputs.get(0));
            for (ValueInfoProto v : g.getInputList()) {
                if (initialized.contains(v.getName())) {
                    gb.addInput(v); // an old-style model that lists its initializers as inputs too
                }
            }
            for (int k = 1; k < inputs.size(); k++) {
                gb.addInitializer(in.get(k).toBuilder().setName(inputs.get(k).getName()));
            }
            Path file = work.resolve(name.replace('/', '_') + "_" + set.getFileName() + ".onnx");
            Files.write(file, model.toBuilder().setGraph(gb).build().toByteArray());
            Graph graph;
            try {
                graph = service.loadModel(file);
            } catch (UnsupportedFeatureException e) {
                throw new CaseSkip(FEATURE + oneLine(e));
            } catch (RuntimeException e) {
                throw new CaseFailure("loadModel: " + oneLine(e));
            } finally {
                Files.deleteIfExists(file);
            }
            HostTensor input = hostTensor(in.get(0), "input 0");
            for (String backend : backends) {
                Map<String, HostTensor> outs;
                try {
                    outs = service.outputs(graph, input, backend);
                } catch (RuntimeException e) {
                    throw new CaseFailure("[" + backend + "] outputs: " + oneLine(e));
                }
                // Compared by position (graph output order); the names must agree as well.
                List<Map.Entry<String, HostTensor>> got = new ArrayList<>(outs.entrySet());
                if (got.size() != g.getOutputCount()) {
                    throw new CaseFailure("[" + backend + "] outputs() gave " + got.size() + " outputs " + outs.keySet()
                            + ", the model has " + g.getOutputCount());
                }
                String misnamed = null;
                for (int k = 0; k < g.getOutputCount(); k++) {
                    String out = g.getOutput(k).getName();
                    HostTensor actual = got.get(k).getValue();
                    if (misnamed == null && !got.get(k).getKey().equals(out)) {
                        misnamed = "[" + backend + "] output " + k + " is '" + got.get(k).getKey() + "' in outputs() but '"
                                + out + "' in the model (the values match)";
                    }
                    TensorProto e = expected.get(k);
                    if (e.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
                        throw new CaseSkip(DTYPE + "output " + k + " '" + out + "' is " + typeName(e.getDataType()));
                    }
                    HostTensor exp = hostTensor(e, "output " + k);
                    Tolerance.Result r = Tolerance.compare(exp.shape().dims(), exp.data(), actual.shape().dims(),
                            actual.data());
                    String where = "[" + backend + "] output " + k + " '" + out + "'";
                    if (!r.ok()) {
                        throw new CaseFailure(where + ": " + r.detail());
                    }
                    if (r.relError() > worstRel) {
                        worstRel = r.relError();
                        worst = where + " " + r.summary();
                    }
                }
                if (misnamed != null) {
                    throw new CaseFailure(misnamed);
                }
            }
        }
        return worst;
    }

    /** Op types of a graph and its subgraphs; an op of another domain is named {@code domain:op}. */
    static void collectOps(GraphProto g, Set<String> ops) {
        for (NodeProto n : g.getNodeList()) {
            String domain = n.getDomain();
            ops.add(domain.isEmpty() || domain.equals("ai.onnx") ? n.getOpType() : domain + ":" + n.getOpType());
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    collectOps(a.getG(), ops);
                }
                for (GraphProto sub : a.getGraphsList()) {
                    collectOps(sub, ops);
                }
            }
        }
    }

    static TensorProto readTensor(Path file) {
        try {
            return TensorProto.parseFrom(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CaseFailure("cannot read " + file.getParent().getFileName() + "/" + file.getFileName() + ": " + e);
        }
    }

    /** A float32 TensorProto as a HostTensor (raw little-endian data or float_data). */
    static HostTensor hostTensor(TensorProto t, String what) {
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new CaseSkip(DTYPE + what + " is " + typeName(t.getDataType()));
        }
        int[] dims = new int[t.getDimsCount()];
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            dims[i] = Math.toIntExact(t.getDims(i));
            n *= dims[i];
        }
        float[] data = new float[Math.toIntExact(n)];
        if (!t.getRawData().isEmpty()) {
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            if (raw.remaining() != 4 * n) {
                throw new CaseFailure(what + ": " + raw.remaining() + " raw bytes for " + n + " floats");
            }
            raw.asFloatBuffer().get(data);
        } else {
            if (t.getFloatDataCount() != n) {
                throw new CaseFailure(what + ": " + t.getFloatDataCount() + " floats for shape " + Arrays.toString(dims));
            }
            for (int i = 0; i < n; i++) {
                data[i] = t.getFloatData(i);
            }
        }
        return HostTensor.wrap(Shape.of(dims), data);
    }

    static String typeName(int elemType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(elemType);
        return t == null ? "element type " + elemType : t.name();
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        int nl = m.indexOf('\n');
        m = nl < 0 ? m : m.substring(0, nl);
        return e.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "onnx-conformance-case");
            t.setDaemon(true);
            return t;
        });
    }

    // ---------------------------------------------------------------- report

    private static void summary() throws IOException {
        List<Outcome> all = new ArrayList<>(outcomes.values());
        double seconds = (System.nanoTime() - started) / 1e9;
        long passed = count(all, Status.PASS);
        long failed = count(all, Status.FAIL);
        long skipped = count(all, Status.SKIP);
        String counts = passed + " passed, " + failed + " failed, " + skipped + " skipped (unsupported)";
        List<String> lines = new ArrayList<>();
        lines.add("# ONNX conformance: " + counts);
        lines.add("# data " + DATA + "; backends " + String.join(", ", backends) + "; "
                + String.format(Locale.ROOT, "%.1f s", seconds));
        lines.add("# tolerance: equal shapes, equal NaN/Inf, max|a-e| <= 1e-4 * max(max|e|, FLT_MIN)");
        lines.add("# operators: " + String.join(" ", operators));
        all.forEach(o -> lines.add(o.line()));
        Files.writeString(REPORT, String.join("\n", lines) + "\n");
        if (FILTER.pattern().isEmpty()) {
            Files.writeString(MARKDOWN, markdown(all, operators, backends));
        }
        System.out.println("ONNX conformance: " + counts + String.format(Locale.ROOT, " in %.1f s", seconds)
                + "; report " + REPORT);
        List<String> failures = all.stream().filter(o -> o.status() == Status.FAIL)
                .map(o -> o.name() + ": " + o.detail()).toList();
        assertTrue(failures.isEmpty(), () -> counts + "\n" + String.join("\n", failures));
    }

    private static long count(List<Outcome> all, Status s) {
        return all.stream().filter(o -> o.status() == s).count();
    }

    /**
     * The text of docs/onnx-conformance.md, made from the outcomes alone (also from a saved
     * report: see {@link #main}).
     */
    static String markdown(List<Outcome> all, Set<String> operators, List<String> backends) {
        StringBuilder md = new StringBuilder();
        long passed = count(all, Status.PASS);
        long failed = count(all, Status.FAIL);
        long skipped = count(all, Status.SKIP);
        md.append("# ONNX conformance\n\n");
        md.append("<!-- Generated by launcher/src/test/java/dev/glassbox/launcher/OnnxConformanceIT.java from its report; "
                + "do not edit by hand (see \"Updating this page\"). -->\n\n");
        md.append("""
                `OnnxConformanceIT` (launcher module, run by failsafe) checks the ONNX importer and every
                available backend against ONNX's own backend test cases: the `node`, `pytorch-converted`,
                `pytorch-operator` and `simple` directories of Debian's `libonnx-testdata` (ONNX 1.12),
                installed under `/usr/share/libonnx-testdata/data` (`real` holds only download stubs and
                is not used). Each case is a `model.onnx` with `test_data_set_*/input_K.pb` and
                `output_K.pb`.

                ## Running it

                ```sh
                sudo apt-get install libonnx-testdata        # CI installs it the same way
                ./mvnw -B install -DskipTests                 # once, or after changing other modules
                ./mvnw -B verify -pl launcher -Dit.test=OnnxConformanceIT
                ```

                `./mvnw verify` runs it too. Without the data the suite is skipped with a message saying
                so. Every case is its own dynamic test (`node/test_conv_...`), followed by `summary`, which
                fails when any case failed. Results: `launcher/target/onnx-conformance.txt`, one line per
                case (`PASS|FAIL|SKIP`, case, largest error or the reason), and
                `launcher/target/onnx-conformance.md`, this page. System properties for debugging:
                `-Donnx.conformance.filter=REGEX` runs only the cases whose name (`node/test_relu`)
                matches, `-Donnx.testdata=DIR` reads another copy of the data, and
                `-Donnx.conformance.timeout=SECONDS` (default 60) bounds each case.

                ## How a case runs

                Glassbox graphs have one activation input. The test parses `model.onnx`, keeps the first
                graph input that is not an initializer as the input, turns every other graph input into an
                initializer holding that data set's `input_K.pb` (node tests pass weights, shapes and
                indices as inputs), writes the model to a temporary file and loads it with
                `ExplanationService.loadModel`. It then runs `ExplanationService.outputs` on every available
                backend and compares output K (graph output order) with `output_K.pb`; `outputs()` must also
                name each output as the model does.
                The runtime is started once for the whole suite.

                A case is **skipped** when
                - it uses an operator that is not in the ONNX loader's `operators()` list (operators of
                  other domains are named `domain:Op`, and ops inside subgraphs count too), or
                - its first input or one of its outputs is not a float32 tensor (or it has no input at
                  all), or
                - the loader rejects it with `UnsupportedFeatureException` (an attribute value or mode
                  Glassbox does not implement, such as Resize in linear mode).

                Anything else fails the case: an `InvalidInputException` for a valid model, an error on a
                backend (including `UnsupportedFeatureException` from a backend for a model the loader
                accepted), a wrong shape, wrong numbers, a crash or a case that runs longer than the time
                limit.

                ## Tolerance

                For expected `e` and actual `a` (both float32):
                1. the shapes are equal, dimension by dimension;
                2. NaN and ±Inf match exactly: where `e` is NaN, `a` is NaN; where `e` is ±Inf, `a` is the
                   same infinity; where `e` is finite, `a` is finite;
                3. over the finite elements, `max|a - e| <= 1e-4 * max(max|e|, FLT_MIN)`, where
                   `FLT_MIN = 2^-126` only keeps an all-zero expectation from dividing by zero.

                That is the normwise relative error in the infinity norm, `||a - e||_inf / ||e||_inf <=
                1e-4`: every element is held to 1e-4 of the tensor's largest magnitude (float32 rounding in
                sums and products grows with the largest terms, not with each element). The report gives
                each passing case's largest `max_abs_err` and `rel_err` over its outputs and backends.
                `TorchvisionIT` uses the same definition (`Tolerance.java`).

                ## Whole models: TorchvisionIT

                `TorchvisionIT` (launcher module, same tolerance) checks whole networks against ONNX Runtime.
                At test time it runs `tools/export_torchvision.py` with `/usr/bin/python3` (Debian's
                `python3-torchvision`; the suite is skipped with a message when torchvision cannot be
                imported) into `launcher/target/torchvision/`: randomly initialised (seeded, with random
                BatchNorm statistics) `resnet18`, `mobilenet_v2` and `densenet121` at 64x64, `vgg11` at
                224x224 (its adaptive pooling exports only there) and `resnet18` at 224x224, opset 13 with a
                dynamic batch axis. An export is reused while the script is unchanged. Each model runs on
                every available backend at batch 1 and 3 and is compared with ONNX Runtime 1.21 (DJL 0.36
                `onnxruntime-engine`, offline, test class path only), and each backend's first predict (which
                prepares the model on the backend) and the next one are timed against ONNX Runtime's. For
                resnet18 at 224x224 it also measures `loadModel`'s wall time and the peak heap during the load.
                Results: `launcher/target/torchvision-report.txt`.

                ```sh
                sudo apt-get install python3-torchvision
                ./mvnw -B verify -pl launcher -Dit.test=TorchvisionIT
                ```

                ## Updating this page

                Run the suite without a filter, then copy the page it wrote:
                `cp launcher/target/onnx-conformance.md docs/onnx-conformance.md`. (From a saved report:
                `OnnxConformanceIT.main(report.txt, out.md)` rewrites the page from the report alone.)

                """);
        md.append("## Results\n\n");
        md.append("Backends: ").append(String.join(", ", backends)).append(". ");
        md.append(all.size()).append(" cases: **").append(passed).append(" passed, ").append(failed)
                .append(" failed, ").append(skipped).append(" skipped (unsupported)**.\n\n");
        md.append("| directory | cases | passed | failed | skipped |\n|---|---:|---:|---:|---:|\n");
        Map<String, List<Outcome>> bySuite = new TreeMap<>();
        for (Outcome o : all) {
            bySuite.computeIfAbsent(o.name().substring(0, o.name().indexOf('/')), k -> new ArrayList<>()).add(o);
        }
        for (var e : bySuite.entrySet()) {
            md.append("| ").append(e.getKey()).append(" | ").append(e.getValue().size()).append(" | ")
                    .append(count(e.getValue(), Status.PASS)).append(" | ").append(count(e.getValue(), Status.FAIL))
                    .append(" | ").append(count(e.getValue(), Status.SKIP)).append(" |\n");
        }
        md.append("\nThe loader's `operators()` (").append(operators.size()).append("): ")
                .append(operators.stream().map(s -> "`" + s + "`").collect(Collectors.joining(", "))).append(".\n\n");

        md.append("### Failures\n\n");
        List<Outcome> failures = all.stream().filter(o -> o.status() == Status.FAIL).toList();
        if (failures.isEmpty()) {
            md.append("None.\n\n");
        } else {
            md.append("| case | what differs |\n|---|---|\n");
            failures.forEach(o -> md.append("| ").append(o.name()).append(" | ").append(cell(o.detail())).append(" |\n"));
            md.append('\n');
        }

        Map<String, Integer> byOp = new TreeMap<>();
        Map<String, Integer> alone = new TreeMap<>();
        List<Outcome> features = new ArrayList<>();
        List<Outcome> dtypes = new ArrayList<>();
        for (Outcome o : all) {
            if (o.status() != Status.SKIP) {
                continue;
            }
            if (o.detail().startsWith(OPS)) {
                String[] missing = o.detail().substring(OPS.length()).split(", ");
                for (String op : missing) {
                    byOp.merge(op, 1, Integer::sum);
                    alone.merge(op, missing.length == 1 ? 1 : 0, Integer::sum);
                }
            } else if (o.detail().startsWith(FEATURE)) {
                features.add(o);
            } else {
                dtypes.add(o);
            }
        }
        md.append("### Skipped: unsupported operators\n\n");
        md.append(count(all, o -> o.detail().startsWith(OPS))).append(" cases use at least one operator outside `operators()`. ")
                .append("Each such operator with the number of skipped cases it appears in (a case with several is counted "
                        + "under each) and the number in which it is the only one missing:\n\n");
        md.append("| operator | cases | only missing op |\n|---|---:|---:|\n");
        byOp.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> md.append("| ").append(e.getKey()).append(" | ").append(e.getValue()).append(" | ")
                        .append(alone.get(e.getKey())).append(" |\n"));
        md.append("\n### Skipped: unsupported features\n\n");
        md.append(features.size()).append(" cases use only listed operators but an attribute or mode the loader rejects "
                + "with `UnsupportedFeatureException`:\n\n");
        if (!features.isEmpty()) {
            md.append("| case | loader's message |\n|---|---|\n");
            features.forEach(o -> md.append("| ").append(o.name()).append(" | ")
                    .append(cell(o.detail().substring(FEATURE.length()))).append(" |\n"));
        }
        md.append("\n### Skipped: not float32\n\n");
        md.append(dtypes.size()).append(" cases use only listed operators but have a first input or an output that is "
                + "not a float32 tensor, or no input at all:\n\n");
        if (!dtypes.isEmpty()) {
            md.append("| case | reason |\n|---|---|\n");
            dtypes.forEach(o -> md.append("| ").append(o.name()).append(" | ")
                    .append(cell(o.detail().startsWith(DTYPE) ? o.detail().substring(DTYPE.length()) : o.detail()))
                    .append(" |\n"));
        }
        md.append("\n### Passed\n\n");
        for (var e : bySuite.entrySet()) {
            List<String> names = e.getValue().stream().filter(o -> o.status() == Status.PASS)
                    .map(o -> o.name().substring(o.name().indexOf('/') + 1)).toList();
            md.append("- ").append(e.getKey()).append(" (").append(names.size()).append("): ")
                    .append(names.isEmpty() ? "none" : String.join(", ", names)).append("\n");
        }
        return md.toString();
    }

    private static long count(List<Outcome> all, java.util.function.Predicate<Outcome> p) {
        return all.stream().filter(o -> o.status() == Status.SKIP && p.test(o)).count();
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    /** Rewrites the markdown page from a saved report: {@code main(report.txt, out.md)}. */
    public static void main(String[] args) throws IOException {
        Path report = Path.of(args.length > 0 ? args[0] : REPORT.toString());
        Path out = Path.of(args.length > 1 ? args[1] : MARKDOWN.toString());
        List<Outcome> all = new ArrayList<>();
        Set<String> ops = new HashSet<>();
        List<String> backendIds = List.of();
        for (String line : Files.readAllLines(report)) {
            if (line.startsWith("# operators: ")) {
                ops.addAll(Arrays.asList(line.substring("# operators: ".length()).split(" ")));
            } else if (line.startsWith("# data ")) {
                String b = line.substring(line.indexOf("; backends ") + "; backends ".length());
                backendIds = Arrays.asList(b.substring(0, b.indexOf(';')).split(", "));
            } else if (!line.startsWith("#") && !line.isBlank()) {
                all.add(Outcome.parse(line));
            }
        }
        Files.writeString(out, markdown(all, new TreeSet<>(ops), backendIds));
    }
}

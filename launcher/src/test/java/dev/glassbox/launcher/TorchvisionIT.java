package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.translate.NoopTranslator;
import com.sun.management.GarbageCollectionNotificationInfo;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Randomly initialised torchvision classifiers (exported by tools/export_torchvision.py into
 * target/torchvision at test time) run through Glassbox on every available backend, at batch 1
 * and batch 3, against ONNX Runtime (through DJL's OnnxRuntime engine, offline) within
 * {@link Tolerance}. Also measures loading resnet18 at 224x224: wall time and peak heap.
 * Writes target/torchvision-report.txt.
 *
 * <p>Skipped with a reason when {@code /usr/bin/python3} cannot import torchvision (Debian:
 * python3-torchvision). System property {@code torchvision.python} names another interpreter.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TorchvisionIT {

    static final Path ROOT = Path.of(System.getProperty("glassbox.root", "..")).toAbsolutePath().normalize();
    static final Path TARGET = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("target");
    static final Path MODELS = TARGET.resolve("torchvision");
    static final Path REPORT = TARGET.resolve("torchvision-report.txt");
    static final String PYTHON = System.getProperty("torchvision.python", "/usr/bin/python3");

    private static GlassboxRuntime runtime;
    private static ExplanationService service;
    private static List<String> backends;
    private static final List<String> report = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void exportAndStart() throws Exception {
        OnnxConformanceIT.skipUnless(Files.isExecutable(Path.of(PYTHON)), "TorchvisionIT: " + PYTHON
                + " not found (install Debian's python3-torchvision)");
        Process probe = new ProcessBuilder(PYTHON, "-c", "import torch, torchvision").redirectErrorStream(true).start();
        String probeOut = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        boolean ok = probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0;
        OnnxConformanceIT.skipUnless(ok, "TorchvisionIT: " + PYTHON + " cannot import torch and torchvision (install "
                + "Debian's python3-torchvision): " + probeOut.lines().reduce((a, b) -> b).orElse(""));

        long t0 = System.nanoTime();
        Process export = new ProcessBuilder(PYTHON, ROOT.resolve("tools/export_torchvision.py").toString(), MODELS.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        for (String line : new String(export.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
            // the exporter's own warnings are noise here; the script's lines are what we report
            if (!line.isBlank() && !line.contains("Warning") && !line.startsWith(" ")) {
                lines.add(line);
            }
        }
        assertTrue(export.waitFor(10, TimeUnit.MINUTES), "export_torchvision.py did not finish in 10 minutes");
        assertEquals(0, export.exitValue(), () -> "export_torchvision.py failed:\n" + String.join("\n", lines));
        lines.forEach(l -> System.out.println("export_torchvision.py: " + l));
        report.add(String.format(Locale.ROOT, "export (tools/export_torchvision.py): %.1f s wall%s",
                (System.nanoTime() - t0) / 1e9, lines.isEmpty() ? "" : "; " + String.join("; ", lines)));

        System.setProperty("ai.djl.offline", "true");
        System.setProperty("DJL_CACHE_DIR", TARGET.resolve("djl-cache").toString());
        runtime = SharedRuntime.get();
        service = runtime.service();
        backends = service.backends().stream().filter(b -> b.availability().isAvailable()).map(BackendInfo::id).toList();
        assertTrue(!backends.isEmpty(), "no backend is available: " + service.backends());
    }

    @AfterAll
    static void writeReport() throws IOException {
        if (!report.isEmpty()) {
            List<String> out = new ArrayList<>();
            out.add("# Torchvision models: Glassbox vs ONNX Runtime (DJL " + ai.djl.engine.Engine.getDjlVersion()
                    + "); tolerance max|a-e| <= 1e-4 * max(max|e|, FLT_MIN), equal shapes");
            out.addAll(report);
            Files.createDirectories(TARGET);
            Files.writeString(REPORT, String.join("\n", out) + "\n");
            System.out.println("torchvision report: " + REPORT);
        }
    }

    /** Load time and peak heap of loading resnet18 exported at 224x224 (see {@link HeapPeak}). */
    @Test
    @Order(1)
    void resnet18At224LoadTimeAndPeakHeap() throws Exception {
        Path file = MODELS.resolve("resnet18_224.onnx");
        long fileBytes = Files.size(file);
        Graph graph;
        long baseline = HeapPeak.settledUsed();
        long loadNanos;
        long retained;
        HeapPeak peak = HeapPeak.start(baseline);
        try {
            long t0 = System.nanoTime();
            graph = service.loadModel(file);
            loadNanos = System.nanoTime() - t0;
        } finally {
            peak.stop();
        }
        retained = HeapPeak.settledUsed() - baseline;
        // Warm loads (classes loaded, code compiled): the median of three.
        long[] warm = new long[3];
        for (int i = 0; i < warm.length; i++) {
            long t0 = System.nanoTime();
            service.loadModel(file);
            warm[i] = System.nanoTime() - t0;
        }
        Arrays.sort(warm);
        String line = String.format(Locale.ROOT,
                "resnet18 224x224 load (%.1f MB file): first loadModel %.0f ms, warm median of 3 %.0f ms; "
                        + "peak heap during the first load %.1f MB above the settled baseline (sampled every ms: %.1f MB, "
                        + "GC notifications before-collection: %.1f MB; %d GCs during the load); retained after load %.1f MB",
                fileBytes / 1e6, loadNanos / 1e6, warm[1] / 1e6, peak.peakAbove() / 1e6, peak.sampledAbove() / 1e6,
                peak.gcAbove() / 1e6, peak.gcCount(), retained / 1e6);
        System.out.println(line);
        report.add(line);
        assertTrue(graph.nodes().size() > 0);
        // The model at 224 is checked too, at batch 1 (cheap next to the measurements' models).
        compare("resnet18_224", graph, new int[] {1});
    }

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "mobilenet_v2", "densenet121", "vgg11"})
    @Order(2)
    void matchesOnnxRuntime(String name) throws Exception {
        long t0 = System.nanoTime();
        Graph graph = service.loadModel(MODELS.resolve(name + ".onnx"));
        report.add(String.format(Locale.ROOT, "%s: Glassbox loadModel %.0f ms", name, (System.nanoTime() - t0) / 1e6));
        compare(name, graph, new int[] {1, 3});
    }

    private static void compare(String name, Graph graph, int[] batches) throws Exception {
        HostTensor all = Npy.read(MODELS.resolve(name + "_input.npy"));
        List<String> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        try (OnnxRuntime ort = new OnnxRuntime(MODELS, name)) {
            report.add(String.format(Locale.ROOT, "%s: ONNX Runtime load %.0f ms", name, (System.nanoTime() - t0) / 1e6));
            for (int batch : batches) {
                HostTensor input = firstItems(all, batch);
                Timed ortFirst = timed(() -> ort.run(input));
                Timed ortNext = timed(() -> ort.run(input));
                HostTensor expected = ortFirst.result();
                for (String backend : backends) {
                    // the first call also prepares the model on the backend (weights to the device)
                    Timed first = timed(() -> service.predict(graph, input, backend));
                    Timed next = timed(() -> service.predict(graph, input, backend));
                    HostTensor actual = first.result();
                    Tolerance.Result r = Tolerance.compare(expected.shape().dims(), expected.data(),
                            actual.shape().dims(), actual.data());
                    String line = String.format(Locale.ROOT, "%s batch %d [%s]: %s %s (max|e| %.3g); predict, first"
                            + " call then the next: Glassbox %.0f then %.0f ms, ONNX Runtime %.0f then %.0f ms", name,
                            batch, backend, r.ok() ? "PASS" : "FAIL", r.ok() ? r.summary() : r.detail(),
                            maxAbs(expected), first.millis(), next.millis(), ortFirst.millis(), ortNext.millis());
                    System.out.println(line);
                    report.add(line);
                    if (!r.ok()) {
                        failures.add(line);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
    }

    /** A call's result and its wall time. */
    private record Timed(HostTensor result, double millis) {
    }

    private static Timed timed(Callable<HostTensor> call) throws Exception {
        long t0 = System.nanoTime();
        HostTensor result = call.call();
        return new Timed(result, (System.nanoTime() - t0) / 1e6);
    }

    static double maxAbs(HostTensor t) {
        double m = 0;
        for (float v : t.data()) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Items {@code [0, n)} of a batch. */
    static HostTensor firstItems(HostTensor all, int n) {
        int item = all.shape().withoutBatch().size();
        return HostTensor.wrap(all.shape().withoutBatch().withBatch(n), Arrays.copyOf(all.data(), n * item));
    }

    /** A model in ONNX Runtime (CPU, default session options), through DJL's OnnxRuntime engine. */
    static final class OnnxRuntime implements AutoCloseable {
        private final Model model;
        private final Predictor<NDList, NDList> predictor;

        OnnxRuntime(Path dir, String name) throws IOException, ai.djl.MalformedModelException {
            model = Model.newInstance(name, "OnnxRuntime");
            try {
                model.load(dir, name);
                predictor = model.newPredictor(new NoopTranslator());
            } catch (IOException | ai.djl.MalformedModelException | RuntimeException e) {
                model.close();
                throw e;
            }
        }

        /** The model's single output. */
        HostTensor run(HostTensor input) throws ai.djl.translate.TranslateException {
            try (NDManager scope = model.getNDManager().newSubManager()) {
                NDArray x = scope.create(input.data(),
                        new ai.djl.ndarray.types.Shape(Arrays.stream(input.shape().dims()).asLongStream().toArray()));
                NDList out = predictor.predict(new NDList(x));
                assertEquals(1, out.size(), "ONNX Runtime outputs");
                NDArray y = out.get(0);
                int[] dims = Arrays.stream(y.getShape().getShape()).mapToInt(Math::toIntExact).toArray();
                HostTensor result = HostTensor.wrap(Shape.of(dims), y.toFloatArray());
                out.close();
                return result;
            }
        }

        @Override
        public void close() {
            predictor.close();
            model.close();
        }
    }

    /**
     * Peak heap use while something runs. Method: before, {@code System.gc()} until used heap
     * stops falling (the settled baseline); during, a daemon thread samples
     * {@code MemoryMXBean.getHeapMemoryUsage().getUsed()} every millisecond, and a listener on
     * every garbage collector records the heap in use just before each collection (a collection
     * is exactly when the heap is fullest, which a sampler can miss). The peak is the larger of
     * the two, minus the baseline: the heap the load needed, garbage not yet collected included.
     * The retained size is the settled use afterwards (the graph still referenced) minus the
     * baseline.
     */
    static final class HeapPeak implements NotificationListener {
        private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
        private static final Set<String> HEAP_POOLS = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).map(MemoryPoolMXBean::getName).collect(Collectors.toSet());
        private final long baseline;
        private final AtomicLong sampled = new AtomicLong();
        private final AtomicLong beforeGc = new AtomicLong();
        private final AtomicLong gcs = new AtomicLong();
        private final Thread sampler;
        private volatile boolean running = true;

        private HeapPeak(long baseline) {
            this.baseline = baseline;
            this.sampler = new Thread(() -> {
                while (running) {
                    sampled.accumulateAndGet(MEMORY.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-sampler");
            sampler.setDaemon(true);
        }

        static HeapPeak start(long baseline) {
            HeapPeak p = new HeapPeak(baseline);
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).addNotificationListener(p, null, null);
            }
            p.sampled.set(MEMORY.getHeapMemoryUsage().getUsed());
            p.sampler.start();
            return p;
        }

        void stop() throws InterruptedException {
            sampled.accumulateAndGet(MEMORY.getHeapMemoryUsage().getUsed(), Math::max);
            running = false;
            sampler.join();
            Thread.sleep(200); // notifications arrive asynchronously
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                try {
                    ((NotificationEmitter) gc).removeNotificationListener(this);
                } catch (ListenerNotFoundException e) {
                    // not registered: nothing to remove
                }
            }
        }

        @Override
        public void handleNotification(Notification n, Object handback) {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                return;
            }
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            // Concurrent cycles of G1 report too; every report's before-use counts.
            long before = info.getGcInfo().getMemoryUsageBeforeGc().entrySet().stream()
                    .filter(e -> HEAP_POOLS.contains(e.getKey())).mapToLong(e -> e.getValue().getUsed()).sum();
            beforeGc.accumulateAndGet(before, Math::max);
            gcs.incrementAndGet();
        }

        long sampledAbove() {
            return sampled.get() - baseline;
        }

        long gcAbove() {
            return Math.max(0, beforeGc.get() - baseline);
        }

        long peakAbove() {
            return Math.max(sampledAbove(), gcAbove());
        }

        long gcCount() {
            return gcs.get();
        }

        /** Heap in use after collecting until it stops falling (at most 10 collections). */
        static long settledUsed() throws InterruptedException {
            long used = Long.MAX_VALUE;
            for (int i = 0; i < 10; i++) {
                System.gc();
                Thread.sleep(20);
                long now = MEMORY.getHeapMemoryUsage().getUsed();
                if (now >= used - (1 << 20)) {
                    return Math.min(now, used);
                }
                used = now;
            }
            return used;
        }
    }
}

package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.Test;

/**
 * Native memory stays flat over thousands of explanations on the djl backend: every NDArray
 * belongs to the request's scope, closed at its end. Gradient, LRP epsilon-plus-flat and
 * integrated gradients (4 steps) take turns on the demo model at batch 1 to 4, through the
 * shared runtime. After a warm-up (libtorch's caches, the JIT) the test samples, each time once
 * the Java heap has settled, the bytes glibc's malloc has handed out and not taken back
 * ({@code mallinfo2}: libtorch allocates tensors with malloc) and the process's resident set
 * (VmRSS). Figures go to stdout and target/native-memory-soak.txt.
 *
 * <p>Both figures go up and down while nothing leaks: malloc's count by about 10 MB with the JIT's
 * compilations (C2 allocates with malloc too), the resident set by tens of MB with what malloc
 * keeps in its per-thread arenas after a free (which arenas depends on the request threads that
 * ran last). So the test compares peaks: the peak of the second half of the samples may exceed
 * the first half's by {@link #MAX_MALLOC_GROWTH_BYTES} for malloc and {@link #MAX_RSS_GROWTH_BYTES}
 * for the resident set. A leak of one request's forward activations per explanation (about 180 KB
 * on this model, 540 MB in all) trips both by far; malloc's bound trips from about 20 KB per
 * explanation.
 */
class NativeMemorySoakIT {

    static final Path MODEL = GlassboxIT.ROOT.resolve("models/fashion-mnist-cnn.onnx");
    static final Path STATUS = Path.of("/proc/self/status");
    /** {@code script} in the failsafe execution that runs djl's formulas as TorchScript functions. */
    static final String ELEMENTWISE = System.getProperty("glassbox.djl.elementwise", "auto");
    static final Path REPORT = TorchvisionIT.TARGET.resolve(ELEMENTWISE.equals("auto") ? "native-memory-soak.txt"
            : "native-memory-soak-" + ELEMENTWISE + ".txt");
    static final int WARMUP = 300;
    static final int EXPLANATIONS = 3000;
    static final int SAMPLES = 10;
    static final long MAX_MALLOC_GROWTH_BYTES = 16L << 20;
    static final long MAX_RSS_GROWTH_BYTES = 64L << 20;

    /** glibc's {@code struct mallinfo2 mallinfo2(void)}: ten size_t fields. */
    @SuppressWarnings("restricted") // the test JVM runs with --enable-native-access=ALL-UNNAMED
    private static final MethodHandle MALLINFO2 = Linker.nativeLinker().defaultLookup().find("mallinfo2")
            .map(f -> Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(
                    MemoryLayout.structLayout(MemoryLayout.sequenceLayout(10, ValueLayout.JAVA_LONG)))))
            .orElse(null);

    @Test
    void nativeMemoryStaysFlatOverThousandsOfDjlExplanations() throws Throwable {
        OnnxConformanceIT.skipUnless(Files.isReadable(STATUS) && MALLINFO2 != null,
                "NativeMemorySoakIT: needs Linux with glibc >= 2.33 (" + STATUS + ", mallinfo2)");
        ExplanationService service = SharedRuntime.get().service();
        boolean djl = service.backends().stream().anyMatch(b -> b.id().equals("djl") && b.availability().isAvailable());
        OnnxConformanceIT.skipUnless(djl, "NativeMemorySoakIT: the djl backend is unavailable ("
                + service.backends().stream().map(b -> b.id() + ": " + b.availability()).toList() + ")");
        Graph graph = service.loadModel(MODEL);
        long leakPerRequest = activationBytes(graph);
        assertTrue((long) EXPLANATIONS * leakPerRequest > 4 * MAX_RSS_GROWTH_BYTES,
                "the bounds must lie well below a leak of one request's activations per explanation");
        List<ExplanationQuery> queries = queries(graph);

        for (int i = 0; i < WARMUP; i++) {
            service.explain(graph, queries.get(i % queries.size()));
        }
        List<Sample> samples = new ArrayList<>();
        samples.add(Sample.take(0));
        long t0 = System.nanoTime();
        for (int i = 1; i <= EXPLANATIONS; i++) {
            service.explain(graph, queries.get(i % queries.size()));
            if (i % (EXPLANATIONS / SAMPLES) == 0) {
                samples.add(Sample.take(i));
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;

        // Peaks, not single samples: both figures go up and down with the JIT's and the request threads' work.
        List<Sample> first = samples.subList(0, samples.size() / 2);
        List<Sample> second = samples.subList(samples.size() / 2, samples.size());
        long mallocGrowth = peak(second, Sample::mallocInUse) - peak(first, Sample::mallocInUse);
        long rssGrowth = peak(second, Sample::rss) - peak(first, Sample::rss);
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "# Native memory soak: %d explanations (gradient, lrp epsilon-plus-flat,"
                + " integrated-gradients steps 4; demo model, batch 1-4, djl, elementwise %s) after %d warm-up ones:"
                + " %.1f s, %.1f ms each", EXPLANATIONS, ELEMENTWISE, WARMUP, seconds, seconds * 1e3 / EXPLANATIONS));
        for (Sample s : samples) {
            lines.add(String.format(Locale.ROOT, "after %5d: malloc in use %.1f MB, VmRSS %.1f MB, Java heap committed"
                    + " %.1f MB", s.explanations(), s.mallocInUse() / 1e6, s.rss() / 1e6, s.heapCommitted() / 1e6));
        }
        lines.add(String.format(Locale.ROOT, "peak of the second half of the samples over the first half's: malloc in"
                        + " use %+.1f MB (bound %d MB), VmRSS %+.1f MB (bound %d MB); a leak of one request's forward"
                        + " activations (%.1f KB) per explanation would add %.0f MB", mallocGrowth / 1e6,
                MAX_MALLOC_GROWTH_BYTES >> 20, rssGrowth / 1e6, MAX_RSS_GROWTH_BYTES >> 20, leakPerRequest / 1e3,
                EXPLANATIONS * leakPerRequest / 1e6));
        lines.forEach(System.out::println);
        Files.createDirectories(REPORT.getParent());
        Files.writeString(REPORT, String.join("\n", lines) + "\n");
        assertTrue(mallocGrowth < MAX_MALLOC_GROWTH_BYTES && rssGrowth < MAX_RSS_GROWTH_BYTES,
                () -> "native memory grew:\n" + String.join("\n", lines));
    }

    /** Memory after some explanations, taken once the Java heap has settled (heap garbage is not counted). */
    private record Sample(int explanations, long mallocInUse, long rss, long heapCommitted) {
        static Sample take(int explanations) throws Throwable {
            TorchvisionIT.HeapPeak.settledUsed();
            return new Sample(explanations, mallocBytesInUse(), residentBytes(),
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
        }
    }

    private static long peak(List<Sample> samples, ToLongFunction<Sample> figure) {
        return samples.stream().mapToLong(figure).max().orElseThrow();
    }

    /** Bytes malloc handed out and not taken back, all arenas: uordblks (in arenas) + hblkhd (mmapped). */
    private static long mallocBytesInUse() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2.invokeExact((SegmentAllocator) arena);
            return info.getAtIndex(ValueLayout.JAVA_LONG, 7) + info.getAtIndex(ValueLayout.JAVA_LONG, 4);
        }
    }

    /** Gradient, LRP and integrated gradients on seeded [0, 1) noise at batch 1, 2, 3 and 4, taking turns. */
    private static List<ExplanationQuery> queries(Graph graph) {
        Random random = new Random(0);
        Shape item = graph.input().itemShape();
        List<ExplanationQuery> queries = new ArrayList<>();
        for (int batch = 1; batch <= 4; batch++) {
            float[] data = new float[batch * item.size()];
            for (int i = 0; i < data.length; i++) {
                data[i] = random.nextFloat();
            }
            HostTensor x = HostTensor.wrap(item.withBatch(batch), data);
            queries.add(ExplanationQuery.of("gradient", x).withBackend("djl"));
            queries.add(ExplanationQuery.of("lrp", x).withOptions(Map.of("composite", "epsilon-plus-flat"))
                    .withBackend("djl"));
            queries.add(ExplanationQuery.of("integrated-gradients", x).withOptions(Map.of("steps", "4"))
                    .withBackend("djl"));
        }
        return queries;
    }

    /** Bytes of every value of a batch-1 forward pass (float32): what one request keeps for its backward pass. */
    private static long activationBytes(Graph graph) {
        return 4L * graph.shapes(1).values().stream().mapToLong(Shape::size).sum();
    }

    /** VmRSS of this process (Linux /proc/self/status, in kB there). */
    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(STATUS)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS in " + STATUS);
    }
}

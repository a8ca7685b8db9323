package dev.glassbox.backend.java;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.backend.support.Arguments;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The portable backend: always available, ranked lowest so any accelerated backend wins when
 * present. Owns the worker pool its kernels fork into; the pool lives from activation to
 * deactivation, so stopping the bundle leaves no threads behind.
 */
@Component(service = Backend.class, property = {"id=" + JavaBackend.ID, "service.ranking:Integer=0"})
public final class JavaBackend implements Backend {
    static final String ID = "java";

    /** Framework property with the thread count when the configuration sets none ({@code --threads}). */
    static final String THREADS_PROPERTY = "glassbox.threads";

    /** Component configuration (PID {@code dev.glassbox.backend.java.JavaBackend}). */
    public @interface Config {
        /**
         * Worker threads for batch and channel parallelism; 0 or less means the framework
         * property {@code glassbox.threads}, else one per processor.
         */
        int threads() default 0;
    }

    private final ForkJoinPool pool;
    private final JavaKernels kernels;

    @Activate
    public JavaBackend(Config config, BundleContext context) {
        this(config.threads() > 0 ? config.threads() : threadsProperty(context));
    }

    public JavaBackend(Config config) {
        this(config.threads());
    }

    private static int threadsProperty(BundleContext context) {
        String value = context.getProperty(THREADS_PROPERTY);
        try {
            return value == null ? 0 : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(THREADS_PROPERTY + " must be an integer, got '" + value + "'", e);
        }
    }

    /**
     * For tests and embedding without DS: {@code threads} workers (one per processor when 0 or
     * less); call {@link #deactivate()} when done.
     */
    public JavaBackend(int threads) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        AtomicInteger count = new AtomicInteger();
        this.pool = new ForkJoinPool(n, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("glassbox-java-" + count.incrementAndGet());
            return t;
        }, null, false);
        this.kernels = new JavaKernels(new Parallel(pool));
    }

    @Deactivate
    void deactivate() {
        pool.shutdown();
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "portable pure-Java kernels on the heap (" + pool.getParallelism() + " threads)";
    }

    @Override
    public Availability availability() {
        return Availability.available();
    }

    /**
     * Checks that every node's op is known to this build, so a model that cannot run fails
     * here, naming the node, instead of halfway through an explanation.
     *
     * @throws UnsupportedFeatureException naming a node whose op this build does not know
     */
    @Override
    public PreparedModel prepare(Graph graph) {
        // Shapes are checked per call, at the batch size the caller brings: a model exported for
        // one batch size (constants shaped by it) may run only at that size.
        Arguments.requireKnownOps(graph, ID);
        return new JavaPreparedModel(graph, kernels);
    }
}

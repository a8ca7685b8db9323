package dev.glassbox.backend.djl;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.backend.support.Arguments;
import dev.glassbox.djl.pytorch.PyTorchLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Kernels on DJL NDArrays with the PyTorch CPU engine. Ranked above the Java backend, so it
 * is the default wherever it is available. The engine starts on first use (the first
 * {@link #availability()} or {@link #prepare}), so a runtime that never asks for this backend
 * never loads libtorch; when the natives are missing or fail to load the backend stays
 * registered and reports why it is unavailable.
 */
@Component(service = Backend.class, property = {"id=" + DjlBackend.ID, "service.ranking:Integer=10"})
public final class DjlBackend implements Backend {
    static final String ID = "djl";

    /** Framework (or system) property: the directory holding libtorch.so. */
    static final String NATIVES_PROPERTY = "glassbox.djl.natives";
    /** Framework (or system) property: DJL's cache directory (writable). */
    static final String CACHE_PROPERTY = "glassbox.djl.cache";

    private final Path natives;
    private final Path cache;
    private final int threads;
    private volatile State state;
    private NDManager root;

    private record State(Engine engine, Availability availability) {
    }

    @Activate
    public DjlBackend(BundleContext context) {
        this(resolve(context, NATIVES_PROPERTY, "native/pytorch/cpu/linux-x86_64"),
                resolve(context, CACHE_PROPERTY, "native/djl-cache"), threads(context));
    }

    /** For tests and embedding without DS; call {@link #deactivate()} when done. */
    DjlBackend(Path natives, Path cache) {
        this(natives, cache, 0);
    }

    /** @param threads PyTorch's intra-op threads, 0 for its default (one per core) */
    DjlBackend(Path natives, Path cache, int threads) {
        this.natives = natives;
        this.cache = cache;
        this.threads = threads;
    }

    /** The framework property {@code glassbox.threads} ({@code --threads}), shared with the Java backend. */
    private static int threads(BundleContext context) {
        String value = context.getProperty("glassbox.threads");
        try {
            return value == null ? 0 : Math.max(0, Integer.parseInt(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * The property, else {@code fallback} under the runtime's home: the framework property
     * {@code glassbox.home}, else the directory above the {@code bundles/} this bundle was
     * installed from. Null when neither is known.
     */
    private static Path resolve(BundleContext context, String property, String fallback) {
        String value = context.getProperty(property);
        if (value != null && !value.isBlank()) {
            return Path.of(value.trim());
        }
        Path home = home(context);
        return home == null ? null : home.resolve(fallback);
    }

    private static Path home(BundleContext context) {
        String home = context.getProperty("glassbox.home");
        if (home != null && !home.isBlank()) {
            return Path.of(home.trim());
        }
        try {
            String location = context.getBundle().getLocation();
            if (location != null && location.startsWith("reference:")) {
                location = location.substring("reference:".length());
            }
            if (location != null && location.startsWith("file:")) {
                Path jar = Path.of(java.net.URI.create(location));
                Path dir = jar.getParent();
                if (dir != null && dir.getFileName() != null && "bundles".equals(dir.getFileName().toString())) {
                    return dir.getParent();
                }
            }
        } catch (RuntimeException e) {
            // an unusual location (a stream, a URL): no home from it
        }
        return null;
    }

    private synchronized State state() {
        State s = state;
        if (s != null) {
            return s;
        }
        if (natives == null) {
            s = new State(null, Availability.unavailable("no PyTorch natives configured (set " + NATIVES_PROPERTY
                    + " or glassbox.home)"));
        } else if (!Files.isDirectory(natives)) {
            s = new State(null, Availability.unavailable("PyTorch natives not found in " + natives));
        } else {
            try {
                Engine engine = PyTorchLoader.load(natives, cache != null ? cache : natives.resolve("djl-cache"), threads);
                root = engine.newBaseManager(Device.cpu());
                s = new State(engine, Availability.available());
            } catch (Exception | LinkageError e) {
                String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                Throwable cause = e.getCause();
                while (cause != null) {
                    if (cause.getMessage() != null) {
                        reason = reason + ": " + cause.getMessage();
                    }
                    cause = cause.getCause();
                }
                s = new State(null, Availability.unavailable("PyTorch engine failed to load: " + reason));
            }
        }
        state = s;
        return s;
    }

    @Deactivate
    synchronized void deactivate() {
        if (root != null) {
            root.close();
            root = null;
        }
        state = new State(null, Availability.unavailable("the djl backend has stopped"));
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "DJL " + PyTorchLoader.DJL_VERSION + " with PyTorch " + PyTorchLoader.PYTORCH_VERSION + " on the CPU";
    }

    @Override
    public Availability availability() {
        return state().availability();
    }

    @Override
    public PreparedModel prepare(Graph graph) {
        State s = state();
        if (!s.availability().isAvailable()) {
            throw new UnsupportedFeatureException("the djl backend is " + s.availability(), "--backend");
        }
        Arguments.requireKnownOps(graph, ID);
        NDManager models;
        synchronized (this) {
            if (root == null) {
                throw new IllegalStateException("the djl backend has stopped");
            }
            models = root.newSubManager();
        }
        Engine engine = s.engine();
        return new DjlPreparedModel(graph, models, weights -> new DjlKernels(engine, weights));
    }
}

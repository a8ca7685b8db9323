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
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Kernels on DJL NDArrays with the PyTorch engine, on the CPU or, with a CUDA build of
 * libtorch, on an NVIDIA GPU. Ranked above the Java backend, so it is the default wherever it
 * is available. The engine starts on first use (the first {@link #availability()},
 * {@link #description()} or {@link #prepare}), so a runtime that never asks for this backend
 * never loads libtorch; when the natives are missing or fail to load the backend stays
 * registered and reports why it is unavailable.
 *
 * <p>Settings, each from ConfigAdmin PID {@value #PID} (a file
 * {@code dev.glassbox.backend.djl.config} in the deploy directory), else the framework (or
 * system) property: {@code natives} ({@value #NATIVES_PROPERTY}), the directory holding
 * libtorch; {@code device} ({@value #DEVICE_PROPERTY}), see {@link DeviceChoice}; {@code trace}
 * ({@value #TRACE_PROPERTY}), a directory for each request's operator trace, see
 * {@link RequestTraces}; {@code elementwise} ({@value #ELEMENTWISE_PROPERTY}), how LRP's
 * elementwise formulas ({@link dev.glassbox.api.backend.Kernels#evaluate}) run: {@code auto},
 * one Java pass over memory on the CPU and one engine call per node on a GPU, or {@code script},
 * each formula one TorchScript function ({@link ScriptedFormulas}) on any device, which
 * PyTorch's fuser can compile into one CUDA kernel. Without
 * {@code natives}: DJL's own {@code PYTORCH_LIBRARY_PATH} from the environment, else the
 * runtime's {@code native/pytorch/cu128/linux-x86_64} where a CUDA build was put, else the CPU
 * build unpacked at build time. A changed configuration makes a new instance (no
 * {@code @Modified}): a new device takes effect at once, other natives only after a restart.
 */
@Component(service = Backend.class, property = {"id=" + DjlBackend.ID, "service.ranking:Integer=10"},
        configurationPid = DjlBackend.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class DjlBackend implements Backend {
    static final String ID = "djl";
    static final String PID = "dev.glassbox.backend.djl";

    /** Framework (or system) property: the directory holding libtorch.so. */
    static final String NATIVES_PROPERTY = "glassbox.djl.natives";
    /** Framework (or system) property: DJL's cache directory (writable). */
    static final String CACHE_PROPERTY = "glassbox.djl.cache";
    /** Framework (or system) property: {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}. */
    static final String DEVICE_PROPERTY = "glassbox.djl.device";
    /** Framework (or system) property: a directory to write each request's operator trace to. */
    static final String TRACE_PROPERTY = "glassbox.djl.trace";
    /** Framework (or system) property: {@code auto} or {@code script}, how elementwise formulas run. */
    static final String ELEMENTWISE_PROPERTY = "glassbox.djl.elementwise";
    static final String ELEMENTWISE_AUTO = "auto";
    static final String ELEMENTWISE_SCRIPT = "script";

    private final Path natives;
    private final Path cache;
    private final int threads;
    private final String device;
    private final RequestTraces traces;
    private final String elementwise;
    private volatile State state;
    private NDManager root;

    /**
     * @param version the PyTorch version loaded; null when unavailable
     * @param where   the device in words, for {@link #description()}; null when unavailable
     */
    private record State(Engine engine, Device device, String version, String where, Availability availability) {
        static State unavailable(String reason) {
            return new State(null, null, null, null, Availability.unavailable(reason));
        }
    }

    @Activate
    public DjlBackend(BundleContext context, Map<String, Object> config) {
        this(natives(context, config), resolve(context, CACHE_PROPERTY, "native/djl-cache"), threads(context),
                setting(context, config, "device", DEVICE_PROPERTY, DeviceChoice.AUTO),
                optionalPath(setting(context, config, "trace", TRACE_PROPERTY, null)),
                setting(context, config, "elementwise", ELEMENTWISE_PROPERTY, ELEMENTWISE_AUTO));
    }

    /** For tests and embedding without DS; call {@link #deactivate()} when done. */
    DjlBackend(Path natives, Path cache) {
        this(natives, cache, 0, DeviceChoice.AUTO, null, ELEMENTWISE_AUTO);
    }

    /**
     * @param threads PyTorch's intra-op threads, 0 for its default (one per core)
     * @param device  as {@link DeviceChoice#parse} reads it
     * @param traces  where each request's operator trace goes ({@link RequestTraces}), or null
     * @param elementwise {@value #ELEMENTWISE_AUTO} or {@value #ELEMENTWISE_SCRIPT}; another value
     *                    makes the backend unavailable, saying why
     */
    DjlBackend(Path natives, Path cache, int threads, String device, Path traces, String elementwise) {
        this.natives = natives;
        this.cache = cache;
        this.threads = threads;
        this.device = device;
        this.traces = traces == null ? null : new RequestTraces(traces);
        this.elementwise = elementwise;
    }

    private static Path optionalPath(String value) {
        return value == null ? null : Path.of(value);
    }

    /** The ConfigAdmin property {@code key}, else the framework property, else {@code fallback}. */
    private static String setting(BundleContext context, Map<String, Object> config, String key, String property,
            String fallback) {
        Object configured = config == null ? null : config.get(key);
        if (configured != null && !configured.toString().isBlank()) {
            return configured.toString().trim();
        }
        String value = context.getProperty(property);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    private static Path natives(BundleContext context, Map<String, Object> config) {
        return natives(setting(context, config, "natives", NATIVES_PROPERTY, null), System.getenv("PYTORCH_LIBRARY_PATH"),
                home(context));
    }

    /**
     * The libtorch directory: the configured one, else DJL's {@code PYTORCH_LIBRARY_PATH} (DJL
     * reads it first, whatever directory it is handed), else under {@code home} a CUDA build
     * where one was put, else the CPU build. Null when none of these is known.
     */
    static Path natives(String configured, String environment, Path home) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured.trim());
        }
        if (environment != null && !environment.isBlank()) {
            return Path.of(environment.trim());
        }
        if (home == null) {
            return null;
        }
        Path cuda = home.resolve("native/pytorch/" + PyTorchLoader.CUDA_FLAVOR + "/" + PyTorchLoader.CLASSIFIER);
        return Files.isRegularFile(cuda.resolve(System.mapLibraryName("torch"))) ? cuda
                : home.resolve("native/pytorch/cpu/" + PyTorchLoader.CLASSIFIER);
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
        DeviceChoice choice;
        try {
            choice = DeviceChoice.parse(device);
        } catch (IllegalArgumentException e) {
            s = State.unavailable(e.getMessage());
            state = s;
            return s;
        }
        if (!ELEMENTWISE_AUTO.equals(elementwise) && !ELEMENTWISE_SCRIPT.equals(elementwise)) {
            s = State.unavailable("unknown elementwise '" + elementwise + "' (" + ELEMENTWISE_PROPERTY
                    + ", or elementwise in " + PID + "): use " + ELEMENTWISE_AUTO + " or " + ELEMENTWISE_SCRIPT);
        } else if (natives == null) {
            s = State.unavailable("no PyTorch natives configured (set " + NATIVES_PROPERTY + " or glassbox.home)");
        } else if (!Files.isDirectory(natives)) {
            s = State.unavailable("PyTorch natives not found in " + natives);
        } else {
            try {
                Engine engine = PyTorchLoader.load(natives, cache != null ? cache : natives.resolve("djl-cache"), threads);
                s = place(engine, choice, PyTorchLoader.build(natives));
                if (s.availability().isAvailable()) {
                    root = engine.newBaseManager(s.device());
                }
            } catch (Exception | LinkageError e) {
                s = State.unavailable("PyTorch engine failed to load: " + messages(e));
            }
        }
        state = s;
        return s;
    }

    /** The device {@code choice} asks for, on libtorch {@code build}: a GPU is tried with one small array. */
    private State place(Engine engine, DeviceChoice choice, PyTorchLoader.Build build) {
        String version = build.version();
        return switch (choice) {
            case DeviceChoice.Cpu _ -> onCpu(engine, version, "the CPU");
            case DeviceChoice.Auto _ when !build.cuda() -> onCpu(engine, version, "the CPU");
            case DeviceChoice.Auto _ -> {
                String failure = gpuFailure(engine, 0);
                yield failure == null ? onGpu(engine, version, 0) : onCpu(engine, version,
                        "the CPU (libtorch is a CUDA build, but CUDA device 0 failed: " + failure + ")");
            }
            case DeviceChoice.Cuda c when !build.cuda() -> State.unavailable("CUDA device " + c.index()
                    + " was asked for, but the libtorch in " + natives + " is the CPU build; point " + NATIVES_PROPERTY
                    + " at the lib directory of libtorch " + PyTorchLoader.PYTORCH_VERSION + "+" + PyTorchLoader.CUDA_FLAVOR
                    + ", or of another CUDA build that holds " + PyTorchLoader.OWN_GLUE + " built for it");
            case DeviceChoice.Cuda c -> {
                String failure = gpuFailure(engine, c.index());
                yield failure == null ? onGpu(engine, version, c.index())
                        : State.unavailable("CUDA device " + c.index() + " failed: " + failure);
            }
        };
    }

    private static State onCpu(Engine engine, String version, String where) {
        return new State(engine, Device.cpu(), version, where, Availability.available());
    }

    private static State onGpu(Engine engine, String version, int index) {
        return new State(engine, Device.gpu(index), version, "CUDA device " + index, Availability.available());
    }

    /** Null when an array can be made on GPU {@code index} and read back, else what went wrong. */
    private static String gpuFailure(Engine engine, int index) {
        try (NDManager probe = engine.newBaseManager(Device.gpu(index))) {
            probe.ones(new ai.djl.ndarray.types.Shape(1)).toFloatArray();
            return null;
        } catch (RuntimeException e) {
            return messages(e);
        }
    }

    /** The messages of {@code e} and its causes, joined: libtorch's reason is usually in a cause. */
    private static String messages(Throwable e) {
        String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause.getMessage() != null) {
                reason = reason + ": " + cause.getMessage();
            }
        }
        return reason;
    }

    @Deactivate
    synchronized void deactivate() {
        if (root != null) {
            root.close();
            root = null;
        }
        state = State.unavailable("the djl backend has stopped");
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        State s = state();
        if (s.where() == null) {
            return "DJL " + PyTorchLoader.DJL_VERSION + " with PyTorch " + PyTorchLoader.PYTORCH_VERSION
                    + " on the CPU, or an NVIDIA GPU with a CUDA build of libtorch";
        }
        return "DJL " + PyTorchLoader.DJL_VERSION + " with PyTorch " + s.version() + " on " + s.where()
                + (ELEMENTWISE_SCRIPT.equals(elementwise) ? ", elementwise formulas as TorchScript functions" : "");
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
        return new DjlPreparedModel(graph, models, (weights, formulas) -> new DjlKernels(engine, weights, formulas),
                traces, ELEMENTWISE_SCRIPT.equals(elementwise));
    }
}

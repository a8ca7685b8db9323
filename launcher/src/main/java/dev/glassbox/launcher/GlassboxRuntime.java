package dev.glassbox.launcher;

import dev.glassbox.api.service.ExplanationService;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The Glassbox runtime embedded in a host JVM: an Apache Felix framework that runs the bundles
 * of {@code <home>/bundles/} and offers their {@link ExplanationService}. The host shares the
 * {@code dev.glassbox.api} classes with the bundles through the system bundle, so the service
 * and its exceptions are the host's own types.
 *
 * <pre>{@code
 * try (GlassboxRuntime rt = GlassboxRuntime.builder().home(Path.of("glassbox")).build()) {
 *     ExplanationService service = rt.service();
 *     ...
 * }
 * }</pre>
 */
public final class GlassboxRuntime implements AutoCloseable {

    /** A bundle as listings show it. */
    public record BundleInfo(long id, String symbolicName, String version, String state) {
    }

    private final Framework framework;
    private final Path storage;
    private final Duration startTimeout;
    private final ServiceTracker<ExplanationService, ExplanationService> tracker;
    private final List<String> startFailures;
    private final Thread cleanup;

    private GlassboxRuntime(Builder b) throws IOException, BundleException {
        this.startTimeout = b.startTimeout;
        this.storage = Files.createTempDirectory("glassbox-felix-");
        Map<String, String> props = new HashMap<>();
        props.put(Constants.FRAMEWORK_STORAGE, storage.resolve("cache").toString());
        props.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        props.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, apiExports());
        // Without a deploy dir FileInstall still needs one: an empty one that goes with the storage.
        Path deploy = b.deployDir != null ? b.deployDir : storage.resolve("deploy");
        Files.createDirectories(deploy);
        props.put("felix.fileinstall.dir", deploy.toAbsolutePath().toString());
        props.put("felix.fileinstall.poll", "500");
        props.put("felix.fileinstall.noInitialDelay", "true");
        props.put("felix.fileinstall.log.level", "1");
        // The Gogo shell must not read stdin unless the console asks for it (gosh.args overridden).
        props.put("gosh.args", "--nointeractive");
        props.putAll(b.properties);

        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, GlassboxRuntime.class.getClassLoader())
                .findFirst().orElseThrow(() -> new IllegalStateException("no OSGi FrameworkFactory on the class path"));
        this.framework = factory.newFramework(props);
        this.cleanup = new Thread(this::stopQuietly, "glassbox-runtime-cleanup");
        boolean started = false;
        try {
            framework.start();
            this.tracker = new ServiceTracker<>(framework.getBundleContext(), ExplanationService.class, null);
            tracker.open();
            this.startFailures = startAll(installAll(b.home.resolve("bundles")));
            Runtime.getRuntime().addShutdownHook(cleanup);
            started = true;
        } finally {
            if (!started) {
                stopQuietly();
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The explanation service, waiting up to the start timeout for it to appear.
     *
     * @throws IllegalStateException naming the bundles that did not start when it never appears
     */
    public ExplanationService service() {
        try {
            ExplanationService s = tracker.waitForService(Math.max(1, startTimeout.toMillis()));
            if (s != null) {
                return s;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<String> problems = new ArrayList<>(startFailures);
        for (BundleInfo info : bundles()) {
            if (!info.state().equals("ACTIVE") && !info.state().equals("RESOLVED")) {
                problems.add(info.symbolicName() + " is " + info.state());
            }
        }
        throw new IllegalStateException("the explanation service did not start within " + startTimeout.toMillis()
                + " ms" + (problems.isEmpty() ? " (is glassbox-core installed?)" : ": " + String.join("; ", problems)));
    }

    /** Installs and starts (unless a fragment) the bundle in {@code jar}; returns its symbolic name. */
    public String installBundle(Path jar) throws BundleException {
        Bundle bundle = context().installBundle(jar.toUri().toString());
        if (!isFragment(bundle)) {
            bundle.start();
        }
        return bundle.getSymbolicName();
    }

    /** Uninstalls every bundle with this symbolic name; false if there was none. */
    public boolean uninstallBundle(String symbolicName) throws BundleException {
        boolean found = false;
        for (Bundle bundle : context().getBundles()) {
            if (symbolicName.equals(bundle.getSymbolicName()) && bundle.getBundleId() != 0) {
                bundle.uninstall();
                found = true;
            }
        }
        if (found) {
            // Let importers drop the old revision now rather than at the next refresh.
            framework.adapt(org.osgi.framework.wiring.FrameworkWiring.class).refreshBundles(null);
        }
        return found;
    }

    /**
     * {@code read} applied to every registered service of an SPI type (such as
     * {@link dev.glassbox.api.lrp.Rule}), each held only for that call; in ranking order.
     */
    public <S, R> List<R> readServices(Class<S> type, java.util.function.Function<S, R> read) {
        BundleContext ctx = context();
        List<R> out = new ArrayList<>();
        try {
            List<ServiceReference<S>> refs = new ArrayList<>(ctx.getServiceReferences(type, null));
            refs.sort(Comparator.reverseOrder());
            for (ServiceReference<S> ref : refs) {
                S service = ctx.getService(ref);
                if (service != null) {
                    try {
                        out.add(read.apply(service));
                    } finally {
                        ctx.ungetService(ref);
                    }
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new AssertionError("no filter given", e);
        }
        return out;
    }

    /** The installed bundles, system bundle first. */
    public List<BundleInfo> bundles() {
        List<BundleInfo> out = new ArrayList<>();
        for (Bundle bundle : context().getBundles()) {
            out.add(new BundleInfo(bundle.getBundleId(), bundle.getSymbolicName(), bundle.getVersion().toString(),
                    stateName(bundle.getState())));
        }
        out.sort(Comparator.comparingLong(BundleInfo::id));
        return out;
    }

    /** The framework's context, for launcher code that talks to other services (the console). */
    BundleContext context() {
        BundleContext ctx = framework.getBundleContext();
        if (ctx == null) {
            throw new IllegalStateException("the runtime is stopped");
        }
        return ctx;
    }

    /** Blocks until the framework stops, e.g. after the interactive shell exits. */
    void awaitStop() throws InterruptedException {
        framework.waitForStop(0);
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook does the same work
        }
        stopQuietly();
    }

    private void stopQuietly() {
        try {
            if (tracker != null) {
                tracker.close();
            }
            framework.stop();
            FrameworkEvent event = framework.waitForStop(startTimeout.toMillis());
            if (event.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                System.err.println("glassbox: warning: the runtime did not stop within " + startTimeout.toMillis() + " ms");
            }
        } catch (BundleException | InterruptedException | IllegalStateException e) {
            // stopping is best effort; the storage is removed below either way
        }
        deleteTree(storage);
    }

    private List<Bundle> installAll(Path dir) throws IOException, BundleException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("no bundles directory " + dir + " (set glassbox.home to the runtime)");
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.jar")) {
            stream.forEach(jars::add);
        }
        jars.sort(null);
        List<Bundle> installed = new ArrayList<>();
        BundleContext ctx = framework.getBundleContext();
        for (Path jar : jars) {
            // reference: runs the jar in place instead of copying it into the storage (faster start)
            installed.add(ctx.installBundle("reference:" + jar.toUri()));
        }
        return installed;
    }

    /** Starts every non-fragment; returns one line per failure instead of giving up on the rest. */
    private static List<String> startAll(List<Bundle> bundles) {
        List<String> failures = new ArrayList<>();
        for (Bundle bundle : bundles) {
            if (isFragment(bundle)) {
                continue;
            }
            try {
                bundle.start();
            } catch (BundleException e) {
                failures.add(bundle.getSymbolicName() + ": " + e.getMessage());
            }
        }
        return List.copyOf(failures);
    }

    private static boolean isFragment(Bundle bundle) {
        BundleRevision rev = bundle.adapt(BundleRevision.class);
        return rev != null && (rev.getTypes() & BundleRevision.TYPE_FRAGMENT) != 0;
    }

    /**
     * The API's own Export-Package (from its jar, or from the classes directory bnd also writes
     * the manifest into), so versions and uses constraints match what bnd wrote.
     */
    private static String apiExports() {
        URL location = ExplanationService.class.getProtectionDomain().getCodeSource().getLocation();
        Manifest mf = null;
        try {
            Path path = Path.of(location.toURI());
            if (Files.isDirectory(path)) {
                try (InputStream in = Files.newInputStream(path.resolve("META-INF/MANIFEST.MF"))) {
                    mf = new Manifest(in);
                }
            } else {
                try (InputStream in = Files.newInputStream(path); JarInputStream jar = new JarInputStream(in)) {
                    mf = jar.getManifest();
                }
            }
        } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot read the manifest of the Glassbox API at " + location, e);
        }
        String exports = mf == null ? null : mf.getMainAttributes().getValue(Constants.EXPORT_PACKAGE);
        if (exports == null || exports.isBlank()) {
            throw new IllegalStateException("the Glassbox API at " + location + " exports no packages");
        }
        return exports;
    }

    private static String stateName(int state) {
        return switch (state) {
            case Bundle.UNINSTALLED -> "UNINSTALLED";
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            case Bundle.ACTIVE -> "ACTIVE";
            default -> String.valueOf(state);
        };
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // a leftover temp directory is not worth failing the host for
        }
    }

    /** Configures a runtime; {@link #home} is required. */
    public static final class Builder {
        private Path home;
        private Path deployDir;
        private final Map<String, String> properties = new HashMap<>();
        private Duration startTimeout = Duration.ofSeconds(30);

        private Builder() {
        }

        /** The runtime directory whose {@code bundles/} are installed and started. */
        public Builder home(Path dir) {
            this.home = Objects.requireNonNull(dir, "home");
            return this;
        }

        /** A directory FileInstall watches: jars dropped in are installed, deleted ones uninstalled. */
        public Builder deployDir(Path dir) {
            this.deployDir = dir;
            return this;
        }

        /** A framework property, e.g. {@code glassbox.threads}; bundles read it from their context. */
        public Builder property(String key, String value) {
            properties.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
            return this;
        }

        public Builder properties(Map<String, String> props) {
            properties.putAll(props);
            return this;
        }

        /** How long {@link #service()} waits for the service, and {@link #close()} for the stop. */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Starts the framework and the bundles; the service may appear a little later. */
        public GlassboxRuntime build() throws IOException, BundleException {
            if (home == null) {
                throw new IllegalStateException("home directory not set");
            }
            return new GlassboxRuntime(this);
        }
    }
}

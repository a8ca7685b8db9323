package dev.glassbox.djl.pytorch;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtEngineProvider;
import ai.djl.util.Utils;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts DJL's PyTorch engine offline from a directory that holds libtorch: the files of
 * {@code ai.djl.pytorch:pytorch-native-cpu}, unpacked at build time, a CUDA build of libtorch
 * 2.7.1 that the user supplies, or a libtorch of another version beside JNI glue built for it
 * ({@link #build}). Nothing is downloaded:
 *
 * <ul>
 *   <li>{@code PYTORCH_LIBRARY_PATH} (a system property, which DJL reads after the
 *       environment) names the library directory while the engine loads, and is restored
 *       afterwards;</li>
 *   <li>the JNI glue ({@code libdjl_torch.so}) of {@code pytorch-jni} 2.7.1-0.35.1 does not
 *       carry DJL 0.36.0's version, so DJL would download another; it is copied from the
 *       embedded jar into the engine cache under the name DJL looks for there, unless the
 *       libtorch directory holds glue of its own, which DJL looks for first;</li>
 *   <li>the engine is created from its provider directly (no ServiceLoader lookup), with the
 *       thread context class loader set to this bundle's class loader for DJL's own
 *       resource lookups.</li>
 * </ul>
 *
 * The JNI libraries bind to the class loader of the DJL classes that load them, this
 * bundle's, and load once per JVM. DJL keeps the engine in a static field of its provider, so
 * every caller in this class loader (a backend bundle updated or reinstalled any number of
 * times) gets the same working engine. Another class loader (this bundle updated, reinstalled,
 * or started in a second runtime in the same JVM) cannot load them again: it is refused with
 * that reason before it tries, as a JVM-wide claim (a system property) is taken first.
 */
public final class PyTorchLoader {
    public static final String PYTORCH_VERSION = "2.7.1";
    public static final String DJL_VERSION = "0.36.0";
    /** The one platform whose natives are assembled. */
    public static final String CLASSIFIER = "linux-x86_64";
    /** DJL reads it from the environment, else from the system properties. */
    private static final String LIBRARY_PATH = "PYTORCH_LIBRARY_PATH";
    /** System property: which instance of this class (one per class loader) owns the natives. */
    static final String NATIVES_OWNER = "glassbox.djl.pytorch.natives.owner";
    private static final String INSTANCE = UUID.randomUUID().toString();
    /** The directory libtorch was loaded from by this instance, once it was. */
    private static Path loadedFrom;
    /** The only CUDA flavor whose JNI glue {@code pytorch-jni} 2.7.1-0.35.1 carries. */
    public static final String CUDA_FLAVOR = "cu128";
    /** JNI glue that a libtorch directory may hold, built for that libtorch; DJL loads it first. */
    public static final String OWN_GLUE = System.mapLibraryName("djl_torch");
    /** A build's version as libtorch's {@code build-version} or torch's {@code version.py} state it. */
    private static final Pattern BUILD_VERSION = Pattern.compile("(\\d+\\.\\d+\\.\\d+)[^+\\s'\"]*(?:\\+(\\w+))?");

    private PyTorchLoader() {
    }

    /**
     * What a libtorch directory holds.
     *
     * @param version the PyTorch version, such as {@code 2.7.1}
     * @param flavor  DJL's name for the build: {@code cpu}, or {@code cu} and the CUDA version
     * @param ownGlue whether the directory holds {@link #OWN_GLUE}, which DJL then loads
     *                instead of the embedded glue
     */
    public record Build(String version, String flavor, boolean ownGlue) {
        public boolean cuda() {
            return !"cpu".equals(flavor);
        }
    }

    /**
     * @param libDir   directory with libtorch.so, libtorch_cpu.so, libc10.so, libgomp
     * @param cacheDir DJL's cache (writable): the engine cache and the JNI glue go here
     * @param threads  PyTorch's intra-op threads, 0 for its default
     */
    public static synchronized Engine load(Path libDir, Path cacheDir, int threads) throws IOException {
        Build build = build(libDir);
        Path dir = libDir.toAbsolutePath().normalize();
        String environment = System.getenv(LIBRARY_PATH);
        if (environment != null && !environment.isBlank() && !Path.of(environment.trim()).toAbsolutePath().normalize().equals(dir)) {
            throw new IOException("the environment's " + LIBRARY_PATH + " (" + environment + "), which DJL reads first,"
                    + " is not " + dir + ": unset it or configure that directory");
        }
        requireEnvironment("PYTORCH_FLAVOR", build.flavor(), dir);
        requireEnvironment("PYTORCH_VERSION", build.version(), dir);
        if (loadedFrom != null && !loadedFrom.equals(dir)) {
            throw new IOException("libtorch from " + loadedFrom + " is already loaded in this JVM; native libraries"
                    + " load once per JVM: restart the runtime to use " + dir);
        }
        if (!System.getProperty("os.name", "").startsWith("Linux") || !"amd64".equals(System.getProperty("os.arch"))) {
            throw new IOException("only linux-x86_64 natives are assembled, this is "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        }
        Object owner = System.getProperties().putIfAbsent(NATIVES_OWNER, INSTANCE);
        if (owner != null && !owner.equals(INSTANCE)) {
            throw new IOException("libtorch was loaded in this JVM by an earlier instance of the glassbox-djl-pytorch"
                    + " bundle (updated, reinstalled, or in another runtime); native libraries load once per JVM:"
                    + " restart the runtime to use djl");
        }
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        // what the directory holds, not what a property may say: DJL finds the JNI glue by these
        System.setProperty("PYTORCH_FLAVOR", build.flavor());
        if (threads > 0) {
            setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
        System.setProperty("PYTORCH_VERSION", build.version());
        setIfAbsent("DJL_CACHE_DIR", cacheDir.toString());
        setIfAbsent("ENGINE_CACHE_DIR", cacheDir.resolve("engines").toString());
        if (!build.ownGlue()) {
            installJniGlue(build.flavor());
        }
        if (build.cuda()) {
            setenvIfAbsent("NVIDIA_TF32_OVERRIDE", "0");
        }
        Thread thread = Thread.currentThread();
        ClassLoader tccl = thread.getContextClassLoader();
        String previous = System.getProperty(LIBRARY_PATH);
        try {
            thread.setContextClassLoader(PyTorchLoader.class.getClassLoader());
            System.setProperty(LIBRARY_PATH, libDir.toAbsolutePath().toString());
            Engine engine = new PtEngineProvider().getEngine();
            loadedFrom = dir;
            return engine;
        } finally {
            if (previous == null) {
                System.clearProperty(LIBRARY_PATH);
            } else {
                System.setProperty(LIBRARY_PATH, previous);
            }
            thread.setContextClassLoader(tccl);
        }
    }

    /**
     * Copies the JNI glue for {@code flavor} from the embedded {@code pytorch-jni} to where DJL
     * looks first (its engine cache, environment included), unless it is there already.
     *
     * @return the glue's path
     */
    static Path installJniGlue(String flavor) throws IOException {
        Path engineCache = Utils.getEngineCacheDir("pytorch").resolve(PYTORCH_VERSION + "-" + flavor + "-" + CLASSIFIER);
        Path jni = engineCache.resolve(DJL_VERSION + "-" + System.mapLibraryName("djl_torch"));
        if (!Files.isRegularFile(jni)) {
            Files.createDirectories(engineCache);
            String resource = "/jnilib/" + CLASSIFIER + "/" + flavor + "/" + System.mapLibraryName("djl_torch");
            try (InputStream in = PtEngineProvider.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IOException("the embedded pytorch-jni has no " + resource);
                }
                Path tmp = Files.createTempFile(engineCache, "jni", ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, jni, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return jni;
    }

    /**
     * Which build of libtorch {@code libDir} holds, from its files alone (nothing is loaded).
     * The version comes from a version file: {@code build-version} in the directory or beside it
     * (libtorch's archive has it beside {@code lib/}), or {@code version.py} beside it (a pip
     * install's {@code torch/}). A CUDA build ({@code libtorch_cuda.so} present) must have one.
     * Without {@link #OWN_GLUE} in the directory, the embedded glue must fit: a CPU build
     * without a version file is taken for {@value #PYTORCH_VERSION}, one with a version file
     * must say so, and a CUDA build must be {@value #PYTORCH_VERSION} for CUDA 12
     * ({@link #CUDA_FLAVOR}).
     *
     * @throws IOException naming the directory, when there is no libtorch in it, or it is a
     *         build that the embedded glue does not drive and it holds no glue of its own
     */
    public static Build build(Path libDir) throws IOException {
        if (!Files.isRegularFile(libDir.resolve(System.mapLibraryName("torch")))) {
            throw new IOException("no libtorch in " + libDir);
        }
        boolean cuda = Files.isRegularFile(libDir.resolve(System.mapLibraryName("torch_cuda")));
        boolean ownGlue = Files.isRegularFile(libDir.resolve(OWN_GLUE))
                || Files.isRegularFile(libDir.resolve(DJL_VERSION + "-" + OWN_GLUE));
        Path dir = libDir.toAbsolutePath();
        Path parent = dir.getParent() == null ? dir : dir.getParent();
        Matcher version = null;
        Path versionFile = null;
        for (Path candidate : List.of(dir.resolve("build-version"), parent.resolve("build-version"),
                parent.resolve("version.py"))) {
            if (Files.isRegularFile(candidate)) {
                String text = Files.readString(candidate, StandardCharsets.UTF_8);
                int at = text.indexOf("__version__");
                version = BUILD_VERSION.matcher(at < 0 ? text : text.substring(at));
                if (!version.find()) {
                    throw new IOException("no version in " + candidate);
                }
                versionFile = candidate;
                break;
            }
        }
        if (version == null) {
            if (cuda) {
                throw new IOException("the CUDA build of libtorch in " + libDir + " has no version file: copy libtorch's"
                        + " build-version into it");
            }
            return new Build(PYTORCH_VERSION, "cpu", ownGlue);
        }
        String release = version.group(1);
        String local = version.group(2);
        if (ownGlue) {
            return new Build(release, !cuda ? "cpu" : local != null && local.startsWith("cu") ? local : "cu", true);
        }
        boolean fits = PYTORCH_VERSION.equals(release) && (!cuda || local != null && local.startsWith("cu12"));
        if (!fits) {
            throw new IOException("the libtorch in " + libDir + " is " + version.group() + " (" + versionFile
                    + "); the embedded JNI glue drives PyTorch " + PYTORCH_VERSION + " for CUDA 12 ("
                    + PYTORCH_VERSION + "+" + CUDA_FLAVOR + ") or the CPU: build " + OWN_GLUE + " for this libtorch"
                    + " into the directory (tools/build-djl-jni.sh)");
        }
        return new Build(PYTORCH_VERSION, cuda ? CUDA_FLAVOR : "cpu", false);
    }

    /** {@code setenv(name, value, 0)}: native libraries read the C environment, which Java cannot set. */
    static void setenvIfAbsent(String name, String value) throws IOException {
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int status = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            if (status != 0) {
                throw new IOException("setenv " + name + " failed");
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException("setenv " + name + ": " + e, e);
        }
    }

    /** DJL reads {@code name} from the environment before the system properties: it must agree. */
    private static void requireEnvironment(String name, String expected, Path dir) throws IOException {
        String value = System.getenv(name);
        if (value != null && !value.isBlank() && !value.trim().equals(expected)) {
            throw new IOException("the environment's " + name + " is " + value + ", but the libtorch in " + dir + " is "
                    + expected + " (DJL reads the environment first): unset it");
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}

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
 * {@code ai.djl.pytorch:pytorch-native-cpu}, unpacked at build time, or a CUDA build of
 * libtorch 2.7.1 that the user supplies ({@link #flavor}). Nothing is downloaded:
 *
 * <ul>
 *   <li>{@code PYTORCH_LIBRARY_PATH} (a system property, which DJL reads after the
 *       environment) names the library directory while the engine loads, and is restored
 *       afterwards;</li>
 *   <li>the JNI glue ({@code libdjl_torch.so}) of {@code pytorch-jni} 2.7.1-0.35.1 does not
 *       carry DJL 0.36.0's version, so DJL would download another; it is copied from the
 *       embedded jar into the engine cache under the name DJL looks for first;</li>
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
    /** A build's version as libtorch's {@code build-version} or torch's {@code version.py} state it. */
    private static final Pattern BUILD_VERSION = Pattern.compile("(\\d+\\.\\d+\\.\\d+)[^+\\s'\"]*(?:\\+(\\w+))?");

    private PyTorchLoader() {
    }

    /**
     * @param libDir   directory with libtorch.so, libtorch_cpu.so, libc10.so, libgomp
     * @param cacheDir DJL's cache (writable): the engine cache and the JNI glue go here
     * @param threads  PyTorch's intra-op threads, 0 for its default
     */
    public static synchronized Engine load(Path libDir, Path cacheDir, int threads) throws IOException {
        String flavor = flavor(libDir);
        Path dir = libDir.toAbsolutePath().normalize();
        String environment = System.getenv(LIBRARY_PATH);
        if (environment != null && !environment.isBlank() && !Path.of(environment.trim()).toAbsolutePath().normalize().equals(dir)) {
            throw new IOException("the environment's " + LIBRARY_PATH + " (" + environment + "), which DJL reads first,"
                    + " is not " + dir + ": unset it or configure that directory");
        }
        requireEnvironment("PYTORCH_FLAVOR", flavor, dir);
        requireEnvironment("PYTORCH_VERSION", PYTORCH_VERSION, dir);
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
        System.setProperty("PYTORCH_FLAVOR", flavor);
        if (threads > 0) {
            setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
        System.setProperty("PYTORCH_VERSION", PYTORCH_VERSION);
        setIfAbsent("DJL_CACHE_DIR", cacheDir.toString());
        setIfAbsent("ENGINE_CACHE_DIR", cacheDir.resolve("engines").toString());
        installJniGlue(flavor);
        if (!"cpu".equals(flavor)) {
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
     * Which build of libtorch {@code libDir} holds: {@code cpu}, or {@link #CUDA_FLAVOR} when
     * {@code libtorch_cuda.so} is there. A CUDA build must say it is PyTorch
     * {@value #PYTORCH_VERSION} for CUDA 12 in a version file: {@code build-version} in the
     * directory or beside it (libtorch's archive has it beside {@code lib/}), or
     * {@code version.py} beside it (a pip install's {@code torch/}). Only files are read;
     * nothing is loaded.
     *
     * @throws IOException naming the directory, when there is no libtorch in it, or a CUDA build
     *         is of another version or has no version file
     */
    public static String flavor(Path libDir) throws IOException {
        if (!Files.isRegularFile(libDir.resolve(System.mapLibraryName("torch")))) {
            throw new IOException("no libtorch in " + libDir);
        }
        if (!Files.isRegularFile(libDir.resolve(System.mapLibraryName("torch_cuda")))) {
            return "cpu";
        }
        Path dir = libDir.toAbsolutePath();
        Path parent = dir.getParent() == null ? dir : dir.getParent();
        for (Path versionFile : List.of(dir.resolve("build-version"), parent.resolve("build-version"),
                parent.resolve("version.py"))) {
            if (!Files.isRegularFile(versionFile)) {
                continue;
            }
            String text = Files.readString(versionFile, StandardCharsets.UTF_8);
            int at = text.indexOf("__version__");
            Matcher m = BUILD_VERSION.matcher(at < 0 ? text : text.substring(at));
            if (!m.find()) {
                throw new IOException("no version in " + versionFile);
            }
            String cuda = m.group(2);
            if (!PYTORCH_VERSION.equals(m.group(1)) || cuda == null || !cuda.startsWith("cu12")) {
                throw new IOException("the libtorch in " + libDir + " is " + m.group() + " (" + versionFile
                        + "); this build's JNI glue drives PyTorch " + PYTORCH_VERSION + " for CUDA 12 ("
                        + PYTORCH_VERSION + "+" + CUDA_FLAVOR + ") or the CPU");
            }
            return CUDA_FLAVOR;
        }
        throw new IOException("the CUDA build of libtorch in " + libDir + " has no version file: copy libtorch's"
                + " build-version into it (this build's JNI glue drives only PyTorch " + PYTORCH_VERSION
                + " for CUDA 12)");
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

package dev.glassbox.backend.djl;

import ai.djl.engine.Engine;
import ai.djl.pytorch.engine.PtEngineProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Starts DJL's PyTorch engine offline from a directory that holds libtorch (the files of
 * {@code ai.djl.pytorch:pytorch-native-cpu}, unpacked at build time). Nothing is downloaded:
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
 * Native libraries load once per JVM: a second class loader (this bundle updated or
 * reinstalled) cannot load them again, and reports that as the reason it is unavailable.
 */
final class PyTorchLoader {
    static final String PYTORCH_VERSION = "2.7.1";
    static final String DJL_VERSION = "0.36.0";
    private static final String CLASSIFIER = "linux-x86_64";
    /** DJL reads it from the environment, else from the system properties. */
    private static final String LIBRARY_PATH = "PYTORCH_LIBRARY_PATH";

    private PyTorchLoader() {
    }

    /**
     * @param libDir   directory with libtorch.so, libtorch_cpu.so, libc10.so, libgomp
     * @param cacheDir DJL's cache (writable): the engine cache and the JNI glue go here
     * @param threads  PyTorch's intra-op threads, 0 for its default
     */
    static Engine load(Path libDir, Path cacheDir, int threads) throws IOException {
        if (!Files.isRegularFile(libDir.resolve(System.mapLibraryName("torch")))) {
            throw new IOException("no libtorch in " + libDir);
        }
        if (!System.getProperty("os.name", "").startsWith("Linux") || !"amd64".equals(System.getProperty("os.arch"))) {
            throw new IOException("only linux-x86_64 natives are assembled, this is "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        }
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        setIfAbsent("PYTORCH_FLAVOR", "cpu");
        if (threads > 0) {
            setIfAbsent("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
        setIfAbsent("PYTORCH_VERSION", PYTORCH_VERSION);
        setIfAbsent("DJL_CACHE_DIR", cacheDir.toString());
        setIfAbsent("ENGINE_CACHE_DIR", cacheDir.resolve("engines").toString());
        Path engineCache = Path.of(System.getProperty("ENGINE_CACHE_DIR")).resolve("pytorch")
                .resolve(PYTORCH_VERSION + "-cpu-" + CLASSIFIER);
        Path jni = engineCache.resolve(DJL_VERSION + "-" + System.mapLibraryName("djl_torch"));
        if (!Files.isRegularFile(jni)) {
            Files.createDirectories(engineCache);
            String resource = "/jnilib/" + CLASSIFIER + "/cpu/" + System.mapLibraryName("djl_torch");
            try (InputStream in = PtEngineProvider.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IOException("the embedded pytorch-jni has no " + resource);
                }
                Path tmp = Files.createTempFile(engineCache, "jni", ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, jni, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Thread thread = Thread.currentThread();
        ClassLoader tccl = thread.getContextClassLoader();
        synchronized (PyTorchLoader.class) {
            String previous = System.getProperty(LIBRARY_PATH);
            try {
                thread.setContextClassLoader(PyTorchLoader.class.getClassLoader());
                System.setProperty(LIBRARY_PATH, libDir.toAbsolutePath().toString());
                return new PtEngineProvider().getEngine();
            } finally {
                if (previous == null) {
                    System.clearProperty(LIBRARY_PATH);
                } else {
                    System.setProperty(LIBRARY_PATH, previous);
                }
                thread.setContextClassLoader(tccl);
            }
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}

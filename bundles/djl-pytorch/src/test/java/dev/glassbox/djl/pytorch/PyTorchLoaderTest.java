package dev.glassbox.djl.pytorch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PyTorchLoaderTest {

    /** What a second instance of the bundle sees: refused before any native library is touched. */
    @Test
    void nativesOwnedByAnotherClassLoaderAreRefusedWithTheReason(@TempDir Path tmp) throws IOException {
        Files.createFile(tmp.resolve(System.mapLibraryName("torch")));
        System.setProperty(PyTorchLoader.NATIVES_OWNER, "an earlier instance");
        try {
            IOException e = assertThrows(IOException.class, () -> PyTorchLoader.load(tmp, tmp.resolve("cache"), 1));
            assertTrue(e.getMessage().contains("native libraries load once per JVM: restart the runtime"),
                    e.getMessage());
            assertEquals("an earlier instance", System.getProperty(PyTorchLoader.NATIVES_OWNER));
        } finally {
            System.clearProperty(PyTorchLoader.NATIVES_OWNER);
        }
    }

    @Test
    void aDirectoryWithOnlyLibtorchIsTheCpuBuild(@TempDir Path tmp) throws IOException {
        Files.createFile(tmp.resolve(System.mapLibraryName("torch")));
        assertEquals("cpu", flavor(tmp));
        Files.delete(tmp.resolve(System.mapLibraryName("torch")));
        assertTrue(assertThrows(IOException.class, () -> flavor(tmp)).getMessage()
                .contains("no libtorch in " + tmp));
    }

    /** The libtorch archive's layout: {@code libtorch/lib} and {@code libtorch/build-version}. */
    @Test
    void aCudaBuildIsCheckedByItsBuildVersion(@TempDir Path tmp) throws IOException {
        Path lib = cudaBuild(tmp.resolve("libtorch"));
        assertTrue(assertThrows(IOException.class, () -> flavor(lib)).getMessage()
                .contains("has no version file: copy libtorch's build-version into it"));
        Files.writeString(lib.resolve("build-version"), "2.7.1+cu128\n");
        assertEquals(PyTorchLoader.CUDA_FLAVOR, flavor(lib), "copied into the directory");
        Files.writeString(lib.resolve("build-version"), "2.8.0+cu128\n");
        assertTrue(assertThrows(IOException.class, () -> flavor(lib)).getMessage().contains("is 2.8.0+cu128 ("));
        Files.delete(lib.resolve("build-version"));
        Files.writeString(lib.resolveSibling("build-version"), "2.7.1+cu128\n");
        assertEquals(PyTorchLoader.CUDA_FLAVOR, flavor(lib));
        Files.writeString(lib.resolveSibling("build-version"), "2.7.1+cu126\n");
        assertEquals(PyTorchLoader.CUDA_FLAVOR, flavor(lib), "CUDA 12 minor versions are compatible");
        for (String other : new String[] {"2.8.0+cu128", "2.7.1+cu118", "2.7.1"}) {
            Files.writeString(lib.resolveSibling("build-version"), other + "\n");
            IOException e = assertThrows(IOException.class, () -> flavor(lib), other);
            assertTrue(e.getMessage().contains("is " + other + " (") && e.getMessage().contains("PyTorch 2.7.1 for CUDA 12"),
                    e.getMessage());
        }
    }

    /** A pip install's layout: {@code torch/lib} and {@code torch/version.py}. */
    @Test
    void aCudaBuildIsCheckedByTorchsVersionModule(@TempDir Path tmp) throws IOException {
        Path lib = cudaBuild(tmp.resolve("torch"));
        Files.writeString(lib.resolveSibling("version.py"), """
                from typing import Optional
                __all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']
                __version__ = '2.7.1+cu128'
                debug = False
                cuda: Optional[str] = '12.8'
                """);
        assertEquals(PyTorchLoader.CUDA_FLAVOR, flavor(lib));
        Files.writeString(lib.resolveSibling("version.py"), "__version__ = '2.9.0+cu130'\ncuda = '13.0'\n");
        assertTrue(assertThrows(IOException.class, () -> flavor(lib)).getMessage()
                .contains("is 2.9.0+cu130 ("));
    }

    /**
     * A libtorch of another version runs with JNI glue built for it in its directory (DJL
     * loads that first), whatever its version; the embedded glue is then not installed.
     */
    @Test
    void anotherVersionIsTakenWithGlueOfItsOwn(@TempDir Path tmp) throws IOException {
        Path lib = cudaBuild(tmp.resolve("torch"));
        Files.writeString(lib.resolveSibling("version.py"), "__version__ = '2.11.0+cu130'\ncuda = '13.0'\n");
        assertTrue(assertThrows(IOException.class, () -> PyTorchLoader.build(lib)).getMessage()
                .contains("build libdjl_torch.so for this libtorch into the directory (tools/build-djl-jni.sh)"));
        Files.createFile(lib.resolve("libdjl_torch.so"));
        assertEquals(new PyTorchLoader.Build("2.11.0", "cu130", true), PyTorchLoader.build(lib));
        Files.delete(lib.resolve("libdjl_torch.so"));
        Files.createFile(lib.resolve("0.36.0-libdjl_torch.so"));
        assertEquals(new PyTorchLoader.Build("2.11.0", "cu130", true), PyTorchLoader.build(lib), "DJL's versioned name");
        Files.delete(lib.resolve(System.mapLibraryName("torch_cuda")));
        assertEquals(new PyTorchLoader.Build("2.11.0", "cpu", true), PyTorchLoader.build(lib));
        Files.delete(lib.resolve("0.36.0-libdjl_torch.so"));
        assertTrue(assertThrows(IOException.class, () -> PyTorchLoader.build(lib)).getMessage()
                .contains("is 2.11.0+cu130 ("), "a CPU build of another version without glue");
        Files.writeString(lib.resolveSibling("version.py"), "__version__ = '2.7.1+cpu'\n");
        assertEquals(new PyTorchLoader.Build("2.7.1", "cpu", false), PyTorchLoader.build(lib));
    }

    /** The flavor DJL is told, as DjlBackend and DJL's LibUtils use it. */
    private static String flavor(Path lib) throws IOException {
        return PyTorchLoader.build(lib).flavor();
    }

    /** Where DJL 0.36.0's LibUtils looks for the glue of a libtorch directory: {@code <engines>/pytorch/<version>-<flavor>-<os>/}. */
    @Test
    void theJniGlueOfEachFlavorLandsWhereDjlLooks(@TempDir Path tmp) throws IOException {
        String previous = System.getProperty("ENGINE_CACHE_DIR");
        System.setProperty("ENGINE_CACHE_DIR", tmp.toString());
        try {
            for (String flavor : new String[] {"cpu", PyTorchLoader.CUDA_FLAVOR}) {
                Path glue = PyTorchLoader.installJniGlue(flavor);
                assertEquals(tmp.resolve("pytorch/2.7.1-" + flavor + "-linux-x86_64/0.36.0-libdjl_torch.so"), glue);
                assertTrue(Files.size(glue) > 1_000_000, glue + ": " + Files.size(glue));
            }
            assertTrue(assertThrows(IOException.class, () -> PyTorchLoader.installJniGlue("cu118")).getMessage()
                    .contains("the embedded pytorch-jni has no /jnilib/linux-x86_64/cu118/libdjl_torch.so"));
        } finally {
            if (previous == null) {
                System.clearProperty("ENGINE_CACHE_DIR");
            } else {
                System.setProperty("ENGINE_CACHE_DIR", previous);
            }
        }
    }

    /** What libcudnn will read: the C environment, set once and never overwritten. */
    @Test
    void setenvReachesTheCEnvironmentAndKeepsAValueAlreadySet() throws Throwable {
        String name = "GLASSBOX_TEST_" + System.nanoTime();
        assertEquals(null, cGetenv(name));
        PyTorchLoader.setenvIfAbsent(name, "0");
        assertEquals("0", cGetenv(name));
        PyTorchLoader.setenvIfAbsent(name, "1");
        assertEquals("0", cGetenv(name));
    }

    private static String cGetenv(String name) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().find("getenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = (MemorySegment) getenv.invokeExact(arena.allocateFrom(name));
            return value.equals(MemorySegment.NULL) ? null : value.reinterpret(64).getString(0);
        }
    }

    private static Path cudaBuild(Path root) throws IOException {
        Path lib = Files.createDirectories(root.resolve("lib"));
        Files.createFile(lib.resolve(System.mapLibraryName("torch")));
        Files.createFile(lib.resolve(System.mapLibraryName("torch_cuda")));
        return lib;
    }
}

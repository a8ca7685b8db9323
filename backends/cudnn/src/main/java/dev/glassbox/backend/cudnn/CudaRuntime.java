package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The CUDA runtime calls ({@code libcudart}) that tell whether a device can be used. Each
 * function is a downcall handle looked up once when the library loads; a call that returns
 * an error status throws a {@link CudaException} naming it, with the runtime's own sentence.
 */
@SuppressWarnings("restricted") // this is the binding layer: native access is its job
final class CudaRuntime {
    private static final Linker LINKER = Linker.nativeLinker();
    /** {@code cudaSuccess}. */
    static final int SUCCESS = 0;

    private final Path file;
    private final MethodHandle getDeviceCount;
    private final MethodHandle runtimeGetVersion;
    private final MethodHandle driverGetVersion;
    private final MethodHandle getErrorString;

    private CudaRuntime(Path file, SymbolLookup lib) {
        this.file = file;
        getDeviceCount = handle(lib, "cudaGetDeviceCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        runtimeGetVersion = handle(lib, "cudaRuntimeGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        driverGetVersion = handle(lib, "cudaDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getErrorString = handle(lib, "cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /**
     * Loads {@code file} for the life of the JVM (a CUDA runtime is never unloaded).
     *
     * @throws IllegalArgumentException if it does not load or lacks one of the functions
     */
    static CudaRuntime load(Path file) {
        return new CudaRuntime(file, SymbolLookup.libraryLookup(file, Arena.global()));
    }

    private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor signature) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new IllegalArgumentException("no function " + name + " in the library"));
        return LINKER.downcallHandle(symbol, signature);
    }

    Path file() {
        return file;
    }

    /** The number of CUDA devices; throws when there is no usable driver. */
    int deviceCount() {
        return intOut("cudaGetDeviceCount", getDeviceCount);
    }

    /** The runtime's version, e.g. 13000 for 13.0 (needs no device). */
    int runtimeVersion() {
        return intOut("cudaRuntimeGetVersion", runtimeGetVersion);
    }

    /** The driver's CUDA version, 0 when no driver is installed. */
    int driverVersion() {
        return intOut("cudaDriverGetVersion", driverGetVersion);
    }

    /** The runtime's sentence for a status code. */
    String errorString(int status) {
        try {
            MemorySegment text = (MemorySegment) getErrorString.invokeExact(status);
            return text.equals(MemorySegment.NULL) ? "unknown status" : text.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("cudaGetErrorString failed: " + t, t);
        }
    }

    /** Calls {@code int f(int*)} and returns the int, or throws naming {@code call}. */
    private int intOut(String call, MethodHandle f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            int status = (int) f.invokeExact(out);
            check(call, status);
            return out.get(JAVA_INT, 0);
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(call + " failed: " + t, t);
        }
    }

    void check(String call, int status) {
        if (status != SUCCESS) {
            throw new CudaException(call, status, errorString(status));
        }
    }
}

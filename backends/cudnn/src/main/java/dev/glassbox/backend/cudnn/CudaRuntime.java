package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The CUDA runtime calls ({@code libcudart}) the backend makes: device queries, device memory
 * and copies. A call that returns an error status throws a {@link CudaException} naming it,
 * with the runtime's own sentence.
 */
final class CudaRuntime {
    /** {@code cudaSuccess}. */
    static final int SUCCESS = 0;
    /** {@code cudaMemcpyKind}. */
    static final int HOST_TO_DEVICE = 1;
    static final int DEVICE_TO_HOST = 2;
    static final int DEVICE_TO_DEVICE = 3;

    private final NativeLibrary lib;
    private final MethodHandle getDeviceCount;
    private final MethodHandle runtimeGetVersion;
    private final MethodHandle driverGetVersion;
    private final MethodHandle getErrorString;
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final MethodHandle memcpy;
    private final MethodHandle deviceSynchronize;

    private CudaRuntime(NativeLibrary lib) {
        this.lib = lib;
        getDeviceCount = lib.function("cudaGetDeviceCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        runtimeGetVersion = lib.function("cudaRuntimeGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        driverGetVersion = lib.function("cudaDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getErrorString = lib.function("cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        malloc = lib.function("cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        free = lib.function("cudaFree", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        memcpy = lib.function("cudaMemcpy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        deviceSynchronize = lib.function("cudaDeviceSynchronize", FunctionDescriptor.of(JAVA_INT));
    }

    /**
     * Loads {@code file} for the life of the JVM.
     *
     * @throws IllegalArgumentException if it does not load or lacks one of the functions
     */
    static CudaRuntime load(Path file) {
        return new CudaRuntime(NativeLibrary.load(file));
    }

    Path file() {
        return lib.file();
    }

    /** The number of CUDA devices; throws when there is no usable driver. */
    int deviceCount() {
        return NativeLibrary.intOut("cudaGetDeviceCount", this::check, (out, a) -> (int) getDeviceCount.invokeExact(out));
    }

    /** The runtime's version, e.g. 13000 for 13.0 (needs no device). */
    int runtimeVersion() {
        return NativeLibrary.intOut("cudaRuntimeGetVersion", this::check,
                (out, a) -> (int) runtimeGetVersion.invokeExact(out));
    }

    /** The driver's CUDA version, 0 when no driver is installed. */
    int driverVersion() {
        return NativeLibrary.intOut("cudaDriverGetVersion", this::check, (out, a) -> (int) driverGetVersion.invokeExact(out));
    }

    /** The runtime's sentence for a status code. */
    String errorString(int status) {
        try {
            return NativeLibrary.string((MemorySegment) getErrorString.invokeExact(status), "unknown status");
        } catch (Throwable t) {
            throw NativeLibrary.failure("cudaGetErrorString", t);
        }
    }

    /** A device allocation of {@code bytes} bytes, as an address. */
    long malloc(long bytes) {
        return NativeLibrary.longOut("cudaMalloc(" + bytes + " bytes)", this::check,
                (out, a) -> (int) malloc.invokeExact(out, bytes));
    }

    void free(long address) {
        NativeLibrary.call("cudaFree", this::check, () -> (int) free.invokeExact(address));
    }

    /** A blocking copy of {@code bytes} bytes; {@code kind} is one of the constants above. */
    void memcpy(long dst, long src, long bytes, int kind) {
        NativeLibrary.call("cudaMemcpy", this::check, () -> (int) memcpy.invokeExact(dst, src, bytes, kind));
    }

    /** Waits for the device; reports an error a kernel launched earlier left behind. */
    void synchronize() {
        NativeLibrary.call("cudaDeviceSynchronize", this::check, () -> (int) deviceSynchronize.invokeExact());
    }

    void check(String call, int status) {
        if (status != SUCCESS) {
            throw new CudaException(call, status, errorString(status));
        }
    }
}

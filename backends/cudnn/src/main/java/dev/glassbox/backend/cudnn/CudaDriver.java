package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The CUDA driver calls ({@code libcuda}) that load the backend's own PTX kernels and launch
 * them, and the device's primary context: made current on the calling thread before each call,
 * the runtime, cuDNN, cuBLAS and these kernels all use it, so they share memory and the default
 * stream.
 */
final class CudaDriver {
    static final int SUCCESS = 0;

    private final NativeLibrary lib;
    private final MethodHandle init;
    private final MethodHandle getErrorString;
    private final MethodHandle moduleLoadData;
    private final MethodHandle moduleUnload;
    private final MethodHandle moduleGetFunction;
    private final MethodHandle launchKernel;
    private final MethodHandle deviceGet;
    private final MethodHandle primaryContextRetain;
    private final MethodHandle primaryContextRelease;
    private final MethodHandle contextSetCurrent;

    private CudaDriver(NativeLibrary lib) {
        this.lib = lib;
        init = lib.function("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        getErrorString = lib.function("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        moduleLoadData = lib.function("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        moduleUnload = lib.function("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        moduleGetFunction = lib.function("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        // CUresult cuLaunchKernel(CUfunction f, unsigned gridX, gridY, gridZ, blockX, blockY, blockZ,
        //                         unsigned sharedMemBytes, CUstream stream, void **kernelParams, void **extra)
        launchKernel = lib.function("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        deviceGet = lib.function("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        primaryContextRetain = lib.function("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        primaryContextRelease = lib.function("cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        contextSetCurrent = lib.function("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    }

    /** @throws IllegalArgumentException if it does not load or lacks one of the functions */
    static CudaDriver load(Path file) {
        return new CudaDriver(NativeLibrary.load(file));
    }

    Path file() {
        return lib.file();
    }

    void init() {
        NativeLibrary.call("cuInit", this::check, () -> (int) init.invokeExact(0));
    }

    /** The handle of device {@code ordinal}. */
    int device(int ordinal) {
        return NativeLibrary.intOut("cuDeviceGet", this::check, (out, a) -> (int) deviceGet.invokeExact(out, ordinal));
    }

    /** The device's primary context (the one the runtime, cuDNN and cuBLAS use), retained until released. */
    long retainPrimaryContext(int device) {
        return NativeLibrary.longOut("cuDevicePrimaryCtxRetain", this::check,
                (out, a) -> (int) primaryContextRetain.invokeExact(out, device));
    }

    void releasePrimaryContext(int device) {
        NativeLibrary.call("cuDevicePrimaryCtxRelease", this::check,
                () -> (int) primaryContextRelease.invokeExact(device));
    }

    /** Makes {@code context} current on the calling (carrier) thread. */
    void setCurrent(long context) {
        NativeLibrary.call("cuCtxSetCurrent", this::check, () -> (int) contextSetCurrent.invokeExact(context));
    }

    /** The driver's sentence for a status code. */
    String errorString(int status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int s = (int) getErrorString.invokeExact(status, out);
            return s != SUCCESS ? "unknown status" : NativeLibrary.string(out.get(ADDRESS, 0), "unknown status");
        } catch (Throwable t) {
            throw NativeLibrary.failure("cuGetErrorString", t);
        }
    }

    /** Loads a PTX text (the driver compiles it for the current device); returns the module handle. */
    long loadModule(String ptx) {
        return NativeLibrary.longOut("cuModuleLoadData", this::check,
                (out, a) -> (int) moduleLoadData.invokeExact(out, a.allocateFrom(ptx)));
    }

    void unloadModule(long module) {
        NativeLibrary.call("cuModuleUnload", this::check, () -> (int) moduleUnload.invokeExact(module));
    }

    long function(long module, String name) {
        return NativeLibrary.longOut("cuModuleGetFunction(" + name + ")", this::check,
                (out, a) -> (int) moduleGetFunction.invokeExact(out, module, a.allocateFrom(name)));
    }

    /**
     * Launches {@code function} on the default stream with a 1-D grid; {@code params} is the
     * {@code void*[]} of pointers to each argument's value.
     */
    void launch(String name, long function, int blocks, int threads, MemorySegment params) {
        NativeLibrary.call("cuLaunchKernel(" + name + ")", this::check, () -> (int) launchKernel.invokeExact(function,
                blocks, 1, 1, threads, 1, 1, 0, 0L, params, MemorySegment.NULL));
    }

    void check(String call, int status) {
        if (status != SUCCESS) {
            throw new CudaException(call, status, errorString(status));
        }
    }
}

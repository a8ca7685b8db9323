package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Availability;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Whether the cuDNN backend's native side is here, step by step, with the first step that
 * fails as the reason: the library files first (cheap: no library loads on a machine without
 * them), then a device the CUDA runtime can use, then the driver library the kernels load through.
 */
final class CudaEnvironment {

    /** The driver's CUDA version that loads PTX ISA 7.0 (build-ptx.sh), as cudaDriverGetVersion reports it. */
    static final int MIN_DRIVER_CUDA = 11000;

    private CudaEnvironment() {
    }

    /** The first missing step, or available; never throws (an unexpected failure is the reason). */
    static Availability probe(List<Path> searchPath) {
        try {
            return steps(searchPath);
        } catch (RuntimeException | LinkageError e) {
            // e.g. native access denied to an embedding host (IllegalCallerException)
            return Availability.unavailable("cannot probe CUDA: " + e);
        }
    }

    private static Availability steps(List<Path> searchPath) {
        Optional<Path> cudart = NativeLibraries.find("cudart", searchPath);
        if (cudart.isEmpty()) {
            return missing("CUDA runtime", "cudart", searchPath);
        }
        for (String[] lib : new String[][] {{"cuDNN", "cudnn"}, {"cuBLAS", "cublas"}}) {
            if (NativeLibraries.find(lib[1], searchPath).isEmpty()) {
                return missing(lib[0], lib[1], searchPath);
            }
        }
        CudaRuntime runtime;
        try {
            runtime = CudaRuntime.load(cudart.get());
        } catch (IllegalArgumentException e) {
            return Availability.unavailable("cannot load the CUDA runtime " + cudart.get() + ": " + e.getMessage());
        }
        int devices;
        try {
            devices = runtime.deviceCount();
        } catch (CudaException e) {
            return Availability.unavailable("no usable CUDA device: " + e.getMessage());
        }
        if (devices == 0) {
            return Availability.unavailable("no CUDA device (cudaGetDeviceCount found none)");
        }
        int driver = runtime.driverVersion();
        if (driver < MIN_DRIVER_CUDA) {
            return Availability.unavailable("the CUDA driver supports CUDA " + driver / 1000 + "." + driver % 1000 / 10
                    + "; the kernels (PTX ISA 7.0) need a driver for CUDA 11.0 or newer");
        }
        if (NativeLibraries.find("cuda", searchPath).isEmpty()) {
            return missing("CUDA driver library", "cuda", searchPath);
        }
        return Availability.available();
    }

    /**
     * Loads the four libraries and opens device 0 with them; call after {@link #probe} said
     * available.
     *
     * @throws IllegalStateException naming what is missing or failed
     */
    static GpuDevice open(List<Path> searchPath) {
        return new GpuDevice(CudaRuntime.load(file("cudart", searchPath)), CudaDriver.load(file("cuda", searchPath)),
                Cudnn.load(file("cudnn", searchPath)), Cublas.load(file("cublas", searchPath)));
    }

    private static Path file(String name, List<Path> searchPath) {
        return NativeLibraries.find(name, searchPath)
                .orElseThrow(() -> new IllegalStateException("no lib" + name + ".so in " + searchPath));
    }

    private static Availability missing(String what, String name, List<Path> searchPath) {
        return Availability.unavailable(what + " not found: no lib" + name + ".so in " + searchPath + " (set -D"
                + NativeLibraries.PATH_PROPERTY + "=DIR)");
    }
}

package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Availability;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Whether the cuDNN backend's native side is here, step by step, with the first step that
 * fails as the reason: the library files first (cheap: no library loads on a machine without
 * them), then a device the CUDA runtime can use.
 */
final class CudaEnvironment {

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
        return Availability.available();
    }

    private static Availability missing(String what, String name, List<Path> searchPath) {
        return Availability.unavailable(what + " not found: no lib" + name + ".so in " + searchPath + " (set -D"
                + NativeLibraries.PATH_PROPERTY + "=DIR)");
    }
}

package dev.glassbox.backend.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.api.backend.Availability;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA runtime through java.lang.foreign, on whatever this machine has: without a GPU the
 * calls that need none still answer and the device query fails with the runtime's own reason.
 */
class CudaRuntimeTest {

    private static CudaRuntime runtime() {
        Optional<Path> file = NativeLibraries.find("cudart", NativeLibraries.searchPath());
        assumeTrue(file.isPresent(), () -> "no libcudart on " + NativeLibraries.searchPath());
        return CudaRuntime.load(file.get());
    }

    @Test
    void theRuntimeAnswersWithoutADevice() {
        CudaRuntime rt = runtime();
        assertTrue(rt.runtimeVersion() >= 11000, "runtime version " + rt.runtimeVersion());
        assertTrue(rt.driverVersion() >= 0);
        assertEquals("no error", rt.errorString(CudaRuntime.SUCCESS));
        // cudaErrorInsufficientDriver, what a machine without a GPU driver gets
        assertTrue(rt.errorString(35).toLowerCase(java.util.Locale.ROOT).contains("driver"), rt.errorString(35));
    }

    @Test
    void aFailedCallNamesItselfAndTheRuntimesReason() {
        CudaRuntime rt = runtime();
        CudaException e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class,
                () -> rt.check("cudaMalloc", 2));
        assertEquals("cudaMalloc", e.call());
        assertEquals(2, e.status());
        assertEquals("cudaMalloc returned 2 (" + rt.errorString(2) + ")", e.getMessage());
        try {
            int devices = rt.deviceCount();
            assertTrue(devices >= 0);
        } catch (CudaException noDevice) {
            assertEquals("cudaGetDeviceCount", noDevice.call());
            assertTrue(noDevice.status() != 0);
        }
    }

    @Test
    void theProbeNamesTheFirstThingMissing(@TempDir Path dir) throws Exception {
        Availability none = CudaEnvironment.probe(List.of(dir));
        assertFalse(none.isAvailable());
        assertEquals("unavailable: CUDA runtime not found: no libcudart.so in [" + dir + "] (set -Dglassbox.cuda.path=DIR)",
                none.toString());
        // the files are looked for before anything loads: a runtime file without cuDNN beside it is not opened
        java.nio.file.Files.createFile(dir.resolve("libcudart.so.13"));
        Availability noCudnn = CudaEnvironment.probe(List.of(dir));
        assertTrue(noCudnn.toString().startsWith("unavailable: cuDNN not found: no libcudnn.so in ["), noCudnn.toString());
        Availability here = new CudnnBackend().availability();
        System.out.println("cudnn backend here: " + here);
        assertTrue(here.isAvailable() || here.toString().matches("unavailable: (CUDA runtime|cuDNN|cuBLAS) not found: .*"
                + "|unavailable: no usable CUDA device: cudaGetDeviceCount returned .*"
                + "|unavailable: no CUDA device .*|unavailable: CUDA driver library not found: .*"), here.toString());
    }
}

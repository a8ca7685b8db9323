package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.djl.pytorch.PyTorchLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Without natives, or without the device asked for, the backend stays registered and says why it cannot run. */
class AvailabilityTest {

    @Test
    void missingNativesMakeTheBackendUnavailableWithAReason(@TempDir Path tmp) {
        DjlBackend backend = new DjlBackend(tmp.resolve("nowhere"), tmp.resolve("cache"));
        try {
            Availability a = backend.availability();
            assertFalse(a.isAvailable());
            assertTrue(a.toString().contains("PyTorch natives not found in " + tmp.resolve("nowhere")), a.toString());
            assertEquals("djl", backend.id());
            UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                    () -> backend.prepare(BackendRun.graph()));
            assertTrue(e.getMessage().contains("unavailable"), e.getMessage());
        } finally {
            backend.deactivate();
        }
    }

    @Test
    void aDirectoryWithoutLibtorchIsReported(@TempDir Path tmp) {
        DjlBackend backend = new DjlBackend(tmp, tmp.resolve("cache"));
        try {
            assertTrue(backend.availability().toString().contains("no libtorch in " + tmp), backend.availability()
                    .toString());
        } finally {
            backend.deactivate();
        }
    }

    @Test
    void anUnknownElementwiseModeIsNamedWithTheAcceptedOnes(@TempDir Path tmp) {
        DjlBackend backend = new DjlBackend(tmp, tmp.resolve("cache"), 0, DeviceChoice.AUTO, null, "fused");
        try {
            assertEquals("unavailable: unknown elementwise 'fused' (glassbox.djl.elementwise, or elementwise in "
                    + "dev.glassbox.backend.djl): use auto or script", backend.availability().toString());
        } finally {
            backend.deactivate();
        }
    }

    @Test
    void anUnknownDeviceIsNamedWithTheAcceptedForms(@TempDir Path tmp) {
        for (String device : new String[] {"tpu", "cuda:x", "cuda:-1"}) {
            DjlBackend backend = new DjlBackend(tmp, tmp.resolve("cache"), 0, device, null, DjlBackend.ELEMENTWISE_AUTO);
            try {
                assertEquals("unavailable: unknown device '" + device + "' (glassbox.djl.device, or device in "
                        + "dev.glassbox.backend.djl): use auto, cpu, cuda or cuda:N", backend.availability().toString());
            } finally {
                backend.deactivate();
            }
        }
        assertEquals(new DeviceChoice.Cuda(3), DeviceChoice.parse(" CUDA:3 "));
        assertEquals(new DeviceChoice.Cuda(0), DeviceChoice.parse("cuda"));
        assertEquals(new DeviceChoice.Cpu(), DeviceChoice.parse("cpu"));
        assertEquals(new DeviceChoice.Auto(), DeviceChoice.parse("auto"));
    }

    /** The CPU build answers {@code cuda} with what to configure instead, and {@code cpu} and {@code auto} on the CPU. */
    @Test
    void theCpuBuildOfLibtorchRefusesCudaAndRunsTheRestOnTheCpu() {
        assumeTrue(Backends.unavailable() == null, Backends::unavailable);
        Path natives = Path.of(System.getProperty("glassbox.djl.natives"));
        Path cache = Path.of(System.getProperty("glassbox.djl.cache"));
        assumeTrue(!build(natives).cuda(), "the natives under test are a CUDA build");
        DjlBackend cuda = new DjlBackend(natives, cache, 0, "cuda:1", null, DjlBackend.ELEMENTWISE_AUTO);
        try {
            assertEquals("DJL 0.36.0 with PyTorch 2.7.1 on the CPU, or an NVIDIA GPU with a CUDA build of libtorch",
                    cuda.description(), "unavailable: where it could run");
            assertEquals("unavailable: CUDA device 1 was asked for, but the libtorch in " + natives + " is the CPU build;"
                    + " point glassbox.djl.natives at the lib directory of libtorch 2.7.1+cu128, or of another CUDA build"
                    + " that holds libdjl_torch.so built for it",
                    cuda.availability().toString());
        } finally {
            cuda.deactivate();
        }
        for (String device : new String[] {"cpu", "auto"}) {
            DjlBackend backend = new DjlBackend(natives, cache, 0, device, null, DjlBackend.ELEMENTWISE_AUTO);
            try {
                assertTrue(backend.availability().isAvailable(), backend.availability().toString());
                assertEquals("DJL 0.36.0 with PyTorch 2.7.1 on the CPU", backend.description());
            } finally {
                backend.deactivate();
            }
        }
    }

    @Test
    void nativesAreTheConfiguredThenDjlsVariableThenACudaBuildInTheRuntimeThenTheCpuBuild(
            @TempDir Path home) throws IOException {
        Path cpu = home.resolve("native/pytorch/cpu/linux-x86_64");
        Path cuda = home.resolve("native/pytorch/cu128/linux-x86_64");
        assertEquals(Path.of("/opt/libtorch/lib"), DjlBackend.natives(" /opt/libtorch/lib ", "/elsewhere", home));
        assertEquals(Path.of("/elsewhere"), DjlBackend.natives(null, "/elsewhere", home));
        assertEquals(cpu, DjlBackend.natives("", " ", home));
        Files.createDirectories(cuda);
        assertEquals(cpu, DjlBackend.natives(null, null, home), "an empty cu128 directory is not a build");
        Files.createFile(cuda.resolve(System.mapLibraryName("torch")));
        assertEquals(cuda, DjlBackend.natives(null, null, home));
        assertEquals(null, DjlBackend.natives(null, null, null));
    }

    private static PyTorchLoader.Build build(Path natives) {
        try {
            return PyTorchLoader.build(natives);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

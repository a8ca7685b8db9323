package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Without natives the backend stays registered and says why it cannot run. */
class AvailabilityTest {

    @Test
    void missingNativesMakeTheBackendUnavailableWithAReason(@org.junit.jupiter.api.io.TempDir Path tmp) {
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

    /** libtorch reads it at its first allocation, so the loader puts it in the process environment first. */
    @Test
    void theEngineLoadsWithHugePagesForLargeTensors() throws Throwable {
        String why = Backends.unavailable();
        Assumptions.assumeTrue(why == null, () -> "DJL backend " + why);
        Linker linker = Linker.nativeLinker();
        MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().find("getenv").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = (MemorySegment) getenv.invokeExact(arena.allocateFrom("THP_MEM_ALLOC_ENABLE"));
            assertFalse(value.equals(MemorySegment.NULL), "THP_MEM_ALLOC_ENABLE is not set");
            String expected = System.getenv().getOrDefault("THP_MEM_ALLOC_ENABLE", "1");
            assertEquals(expected, value.reinterpret(16).getString(0));
        }
    }

    @Test
    void aDirectoryWithoutLibtorchIsReported(@org.junit.jupiter.api.io.TempDir Path tmp) {
        DjlBackend backend = new DjlBackend(tmp, tmp.resolve("cache"));
        try {
            assertTrue(backend.availability().toString().contains("no libtorch in " + tmp), backend.availability()
                    .toString());
        } finally {
            backend.deactivate();
        }
    }
}

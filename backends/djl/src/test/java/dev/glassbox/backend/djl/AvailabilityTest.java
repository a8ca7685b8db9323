package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import java.nio.file.Path;
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

package dev.glassbox.djl.pytorch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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

}

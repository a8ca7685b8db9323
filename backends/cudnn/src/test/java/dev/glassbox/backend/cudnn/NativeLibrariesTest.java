package dev.glassbox.backend.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeLibrariesTest {

    @Test
    void thePlainNameWinsElseTheHighestVersion(@TempDir Path tmp) throws Exception {
        Path a = Files.createDirectories(tmp.resolve("a"));
        Path b = Files.createDirectories(tmp.resolve("b"));
        for (String f : List.of("libcudnn.so.9", "libcudnn.so.9.10.2", "libcudnn.so.9.2.1", "libcudnn.so.x",
                "libcudnn_ops.so.9", "libcublas.so.12")) {
            Files.createFile(a.resolve(f));
        }
        Files.createFile(b.resolve("libcudnn.so"));
        assertEquals(Optional.of(a.resolve("libcudnn.so.9.10.2")), NativeLibraries.find("cudnn", List.of(a, b)));
        assertEquals(Optional.of(b.resolve("libcudnn.so")), NativeLibraries.find("cudnn", List.of(b, a)));
        assertEquals(Optional.of(a.resolve("libcublas.so.12")), NativeLibraries.find("cublas", List.of(a, b)));
        assertEquals(Optional.empty(), NativeLibraries.find("cudart", List.of(tmp.resolve("absent"), a, b)));
    }

    @Test
    void theSearchPathPutsThePropertyFirstThenTheEnvironment() {
        List<Path> path = NativeLibraries.searchPath("/opt/x" + File.pathSeparator + "/opt/y",
                Map.of("CUDA_HOME", "/cuda", "LD_LIBRARY_PATH", "/ld" + File.pathSeparator + "/opt/x"));
        assertEquals(List.of(Path.of("/opt/x"), Path.of("/opt/y"), Path.of("/cuda/lib64"), Path.of("/ld"),
                Path.of("/usr/local/cuda/lib64"), Path.of("/usr/lib/x86_64-linux-gnu")), path);
        assertTrue(NativeLibraries.searchPath(null, Map.of()).contains(Path.of("/usr/local/cuda/lib64")));
    }
}

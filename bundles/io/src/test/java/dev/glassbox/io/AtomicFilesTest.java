package dev.glassbox.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReplacesWholeFiles() throws IOException {
        Path f = dir.resolve("a.bin");
        AtomicFiles.write(f, "first".getBytes(StandardCharsets.US_ASCII));
        assertEquals("first", Files.readString(f));
        AtomicFiles.write(f, out -> {
            out.write("second, ".getBytes(StandardCharsets.US_ASCII));
            out.close(); // a body closing its stream must not lose the rest
            out.write("longer".getBytes(StandardCharsets.US_ASCII));
        });
        assertEquals("second, longer", Files.readString(f));
        assertEquals(List.of(f), list());
    }

    @Test
    void failingWriterLeavesNoFileAndNoTemp() throws IOException {
        Path f = dir.resolve("out.npy");
        IOException boom = new IOException("disk on fire");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[100_000]); // more than the buffer: part of it reached the temp file
            throw boom;
        }));
        assertSame(boom, thrown);
        assertFalse(Files.exists(f));
        assertEquals(List.of(), list());
    }

    @Test
    void failingWriterKeepsThePreviousContent() throws IOException {
        Path f = dir.resolve("keep.txt");
        Files.writeString(f, "old");
        IllegalStateException boom = new IllegalStateException("bug");
        assertSame(boom, assertThrows(IllegalStateException.class, () -> AtomicFiles.write(f, out -> {
            out.write("new".getBytes(StandardCharsets.US_ASCII));
            throw boom;
        })));
        assertEquals("old", Files.readString(f));
        assertEquals(List.of(f), list());
    }

    @Test
    void missingDirectoryFailsCleanly() {
        Path f = dir.resolve("no/such/dir/x.npy");
        assertThrows(NoSuchFileException.class,
                () -> Npy.write(f, HostTensor.wrap(Shape.of(1), new float[] {1})));
        assertFalse(Files.exists(dir.resolve("no")));
    }

    @Test
    void npyWriterGoesThroughTheTempFile() throws IOException {
        Path f = dir.resolve("x.npy");
        Npy.write(f, HostTensor.wrap(Shape.of(2), new float[] {1, 2}));
        assertEquals(List.of(f), list());
        assertArrayEquals(new float[] {1, 2}, Npy.read(f).data());
    }

    private List<Path> list() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}

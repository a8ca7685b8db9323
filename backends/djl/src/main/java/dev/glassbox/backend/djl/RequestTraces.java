package dev.glassbox.backend.djl;

import dev.glassbox.djl.pytorch.OperatorTrace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * PyTorch's operator trace of whole requests (a request is a root scope, from open to close),
 * each to the next file {@code djl-trace-N.json} of a directory, N counting from 1: where the
 * time of a forward pass or an explanation goes, operator by operator. The engine's profiler
 * is process-wide, so a backend has one of these for all its prepared models, and one request
 * is traced at a time: one that opens while another is traced runs untraced, and its
 * operators may show in that trace under their own thread id.
 */
final class RequestTraces {
    private final Path dir;
    private final AtomicBoolean tracing = new AtomicBoolean();
    private final AtomicInteger written = new AtomicInteger();

    /** @param dir where the traces go (made when the first request is traced) */
    RequestTraces(Path dir) {
        this.dir = dir;
    }

    /**
     * Starts tracing unless a trace is under way; true when the caller must {@link #end} it.
     *
     * @param cuda whether the request runs on a GPU (CUDA events are then recorded too)
     */
    boolean begin(boolean cuda) {
        if (!tracing.compareAndSet(false, true)) {
            return false;
        }
        try {
            Files.createDirectories(dir);
            OperatorTrace.start(cuda);
            return true;
        } catch (IOException | RuntimeException e) {
            tracing.set(false);
            throw new IllegalStateException("cannot trace the request into " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Stops the trace {@link #begin} started and writes it whole to the next file. */
    void end() {
        Path file = dir.resolve("djl-trace-" + written.incrementAndGet() + ".json");
        Path partial = dir.resolve(file.getFileName() + ".partial");
        try {
            OperatorTrace.stop(partial);
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(partial);
            } catch (IOException ignored) {
                // the error below names the file that was not written
            }
            throw new IllegalStateException("cannot write the operator trace " + file + ": " + e.getMessage(), e);
        } finally {
            tracing.set(false);
        }
    }
}

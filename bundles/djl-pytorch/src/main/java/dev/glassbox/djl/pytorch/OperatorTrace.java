package dev.glassbox.djl.pytorch;

import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;

/**
 * PyTorch's operator profiler as DJL drives it, process-wide: every ATen operator called
 * between {@link #start} and {@link #stop}, on any thread, is written to a Chrome trace (JSON:
 * name, input shapes, start and host duration in microseconds, thread id). It slows every call
 * down, so it is for finding where time goes, not for timing.
 */
public final class OperatorTrace {
    private OperatorTrace() {
    }

    /**
     * Starts recording. {@code cuda}: also record CUDA events around each operator (the engine
     * must run on a GPU).
     */
    public static void start(boolean cuda) {
        JniUtils.startProfile(cuda, true, false);
    }

    /** Stops recording and writes what was recorded to {@code file}. */
    public static void stop(Path file) {
        JniUtils.stopProfile(file.toString());
    }
}

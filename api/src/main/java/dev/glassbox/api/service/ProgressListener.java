package dev.glassbox.api.service;

/** Receives progress of a long request: {@code done} of {@code total} steps. */
@FunctionalInterface
public interface ProgressListener {

    ProgressListener NONE = (done, total) -> { };

    void progress(long done, long total);
}

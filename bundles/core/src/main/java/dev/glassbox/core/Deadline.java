package dev.glassbox.core;

import dev.glassbox.api.DeadlineExceededException;
import java.time.Duration;

/** The deadline of one request; also set when the caller gives up on it. */
final class Deadline {
    private final long expiresAtNanos;
    private final Duration timeout;
    private final String method;
    private volatile boolean abandoned;

    Deadline(Duration timeout, String method) {
        this.timeout = timeout;
        this.method = method;
        this.expiresAtNanos = System.nanoTime() + timeout.toNanos();
    }

    long remainingNanos() {
        return Math.max(0, expiresAtNanos - System.nanoTime());
    }

    void abandon() {
        abandoned = true;
    }

    void check() {
        if (abandoned || System.nanoTime() - expiresAtNanos > 0 || Thread.currentThread().isInterrupted()) {
            throw exceeded();
        }
    }

    DeadlineExceededException exceeded() {
        return new DeadlineExceededException("request ran past its deadline of " + seconds(timeout), "method " + method);
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}

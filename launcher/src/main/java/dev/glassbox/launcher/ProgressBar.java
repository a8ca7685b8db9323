package dev.glassbox.launcher;

import dev.glassbox.api.service.ProgressListener;
import java.io.PrintWriter;

/** A one-line {@code \r} progress bar on stderr; draws nothing when disabled (no terminal, --quiet). */
final class ProgressBar implements ProgressListener, AutoCloseable {
    private static final int WIDTH = 30;
    private static final long MIN_INTERVAL_NANOS = 100_000_000L;

    private final PrintWriter err;
    private final String label;
    private final boolean enabled;
    private long lastDraw;
    private boolean drawn;

    ProgressBar(PrintWriter err, String label, boolean enabled) {
        this.err = err;
        this.label = label;
        this.enabled = enabled;
    }

    @Override
    public synchronized void progress(long done, long total) {
        long now = System.nanoTime();
        if (!enabled || total <= 0 || (done < total && drawn && now - lastDraw < MIN_INTERVAL_NANOS)) {
            return;
        }
        int filled = (int) Math.min(WIDTH, WIDTH * done / total);
        err.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total);
        err.flush();
        lastDraw = now;
        drawn = true;
    }

    /** Clears the bar so the next line starts clean. */
    @Override
    public synchronized void close() {
        if (drawn) {
            err.print("\r" + " ".repeat(label.length() + WIDTH + 24) + "\r");
            err.flush();
        }
    }
}

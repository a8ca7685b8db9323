package dev.glassbox.backend.java;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * Splits a loop over independent items (batch items, channels, rows) across the backend's
 * {@link ForkJoinPool}. Work is estimated in multiply-adds per item; below
 * {@link #MIN_PARALLEL_WORK} the loop runs on the caller's thread, because forking costs
 * tens of microseconds and most explainer calls on small models are cheaper than that.
 */
final class Parallel {
    /** Total work under which forking does not pay (roughly 50 microseconds of arithmetic). */
    static final long MIN_PARALLEL_WORK = 1L << 17;

    /** A loop body over items {@code [lo, hi)}; it may allocate scratch once per range. */
    @FunctionalInterface
    interface RangeBody {
        void run(int lo, int hi);
    }

    private final ForkJoinPool pool;

    /** @param pool where to fork, or {@code null} to run everything on the caller's thread */
    Parallel(ForkJoinPool pool) {
        this.pool = pool;
    }

    int parallelism() {
        return pool == null ? 1 : pool.getParallelism();
    }

    /** Runs {@code body} over {@code [0, count)}, split into ranges when the work is large enough. */
    void forRange(int count, long workPerItem, RangeBody body) {
        long total = count * Math.max(1L, workPerItem);
        int threads = parallelism();
        // A shut-down pool means the component was deactivated mid-request: finish inline.
        if (threads < 2 || count < 2 || total < MIN_PARALLEL_WORK || pool.isShutdown()) {
            body.run(0, count);
            return;
        }
        // A few chunks per thread balance uneven items without fine-grained overhead.
        int chunks = (int) Math.max(2, Math.min(count, Math.min(threads * 4L, total / (MIN_PARALLEL_WORK / 2))));
        Chunks task = new Chunks(body, count, chunks, 0, chunks);
        if (ForkJoinTask.getPool() == pool) {
            task.invoke();
        } else {
            pool.invoke(task);
        }
    }

    private static final class Chunks extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient RangeBody body;
        private final int count;
        private final int chunks;
        private final int lo;
        private final int hi;

        Chunks(RangeBody body, int count, int chunks, int lo, int hi) {
            this.body = body;
            this.count = count;
            this.chunks = chunks;
            this.lo = lo;
            this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                body.run((int) ((long) lo * count / chunks), (int) ((long) hi * count / chunks));
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunks(body, count, chunks, lo, mid), new Chunks(body, count, chunks, mid, hi));
        }
    }
}

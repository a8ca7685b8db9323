package dev.glassbox.core;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads requests run on: one stays alive and takes every request while it is free, and
 * another is started only when every thread is busy (concurrent requests, or one that hangs
 * past its deadline). Native engines keep per-thread state: libtorch's OpenMP runtime gives
 * each calling thread its own worker team, and once there are more workers than cores they
 * sleep between parallel regions instead of spinning. A new thread per request (a plain
 * cached pool: the next request often arrives before the last thread is idle again) made the
 * resnet18 forward pass on djl 1.7x slower (92 ms against 55 ms, 2 cores).
 */
final class RequestThreads {
    /** How long a request waits for a thread that is finishing its last one before another starts. */
    private static final long HANDOFF_MILLIS = 20;

    private RequestThreads() {
    }

    static ExecutorService start() {
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
                new Handoff(), r -> {
                    Thread t = new Thread(r, "glassbox-request-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.prestartCoreThread();
        return pool;
    }

    /**
     * A direct handoff that waits briefly for a taker: the executor starts a thread only when
     * no idle one takes the request within {@link #HANDOFF_MILLIS}. Idle threads wait in LIFO
     * order, so the most recently used one is taken first.
     */
    private static final class Handoff extends SynchronousQueue<Runnable> {
        @Override
        public boolean offer(Runnable task) {
            try {
                return offer(task, HANDOFF_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}

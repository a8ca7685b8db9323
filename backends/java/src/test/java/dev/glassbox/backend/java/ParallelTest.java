package dev.glassbox.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void smallWorkStaysOnTheCallerAndLargeWorkSpreads() {
        ForkJoinPool pool = new ForkJoinPool(2);
        try {
            Parallel par = new Parallel(pool);
            Set<Thread> threads = ConcurrentHashMap.newKeySet();
            par.forRange(10, 100, (lo, hi) -> threads.add(Thread.currentThread()));
            assertEquals(Set.of(Thread.currentThread()), threads, "below the threshold nothing forks");

            threads.clear();
            int[] covered = new int[64];
            par.forRange(64, Parallel.MIN_PARALLEL_WORK, (lo, hi) -> {
                threads.add(Thread.currentThread());
                for (int i = lo; i < hi; i++) {
                    covered[i]++;
                }
                sleep(); // long enough that the second worker steals its share
            });
            int[] once = new int[64];
            Arrays.fill(once, 1);
            assertArrayEquals(once, covered, "every item exactly once");
            assertEquals(2, threads.size(), "both workers took part");
            assertTrue(threads.stream().allMatch(t -> t instanceof ForkJoinWorkerThread));
        } finally {
            pool.shutdown();
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

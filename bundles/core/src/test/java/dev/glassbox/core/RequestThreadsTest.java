package dev.glassbox.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RequestThreadsTest {

    @Test
    void requestsOneAfterAnotherRunOnTheSameThread() throws Exception {
        ExecutorService requests = RequestThreads.start();
        try {
            Map<Thread, Integer> used = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                used.merge(requests.submit(Thread::currentThread).get(), 1, Integer::sum);
            }
            int most = used.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
            // a plain cached pool spreads these over several threads (the next request often comes
            // before the last thread waits again); a slow machine may still miss the handoff rarely
            assertTrue(most >= 190, "threads used: " + used.values());
        } finally {
            requests.shutdownNow();
        }
    }

    @Test
    void aRequestThatHangsDoesNotHoldUpTheNext() throws Exception {
        ExecutorService requests = RequestThreads.start();
        CountDownLatch release = new CountDownLatch(1);
        try {
            Future<Thread> hanging = requests.submit(() -> {
                release.await();
                return Thread.currentThread();
            });
            Future<Thread> next = requests.submit(Thread::currentThread);
            Thread other = next.get(5, TimeUnit.SECONDS);
            release.countDown();
            assertNotEquals(hanging.get(5, TimeUnit.SECONDS), other);
            assertEquals(true, other.isDaemon());
        } finally {
            release.countDown();
            requests.shutdownNow();
        }
    }
}

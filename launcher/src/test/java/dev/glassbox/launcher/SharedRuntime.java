package dev.glassbox.launcher;

import java.time.Duration;

/**
 * One runtime per test JVM for the suites that need the djl backend. libtorch loads once per
 * JVM, into the class loader of the first glassbox-djl-pytorch bundle that asks, so a second
 * runtime in the same JVM sees the djl backend unavailable; failsafe runs these suites in a JVM
 * of their own (the {@code backends} execution in the launcher's pom), sharing this runtime.
 */
final class SharedRuntime {
    private static GlassboxRuntime runtime;

    private SharedRuntime() {
    }

    static synchronized GlassboxRuntime get() throws Exception {
        if (runtime == null) {
            GlassboxRuntime rt = GlassboxRuntime.builder().home(Main.home().toAbsolutePath())
                    .startTimeout(Duration.ofSeconds(60)).build();
            Runtime.getRuntime().addShutdownHook(new Thread(rt::close, "glassbox-shared-runtime-stop"));
            runtime = rt;
        }
        return runtime;
    }
}

package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.service.BackendInfo;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * Updating glassbox-djl-pytorch gives its classes a new class loader, which may not load
 * libtorch again in this JVM: the djl backend, refreshed with it, stays registered and says
 * so. A runtime of its own, in the default execution: afterwards no runtime in this JVM can use
 * djl, which the {@code backends} execution's shared runtime must.
 */
class DjlWrapperUpdateIT {
    static final String WRAPPER_BUNDLE = "glassbox-djl-pytorch";

    @Test
    void updatingTheWrapperLeavesDjlUnavailableWithTheReason() throws Exception {
        OnnxConformanceIT.skipUnless(Files.isDirectory(Main.home().resolve("native/pytorch")),
                "DjlWrapperUpdateIT: no libtorch in " + Main.home().resolve("native/pytorch"));
        try (GlassboxRuntime runtime = GlassboxRuntime.builder().home(Main.home().toAbsolutePath())
                .startTimeout(Duration.ofSeconds(60)).build()) {
            // Loads libtorch in the wrapper's class loader (or finds it claimed by an earlier runtime here).
            BackendInfo before = DjlReinstallIT.djl(runtime.service()).orElseThrow();
            assertTrue(before.availability().isAvailable() || reasonSaysRestart(before), before.toString());

            Bundle wrapper = Arrays.stream(runtime.context().getBundles())
                    .filter(b -> WRAPPER_BUNDLE.equals(b.getSymbolicName())).findFirst().orElseThrow();
            wrapper.update();
            CountDownLatch refreshed = new CountDownLatch(1);
            runtime.context().getBundle(0).adapt(FrameworkWiring.class).refreshBundles(List.of(wrapper),
                    event -> refreshed.countDown());
            assertTrue(refreshed.await(60, TimeUnit.SECONDS), "the refresh after updating " + WRAPPER_BUNDLE);

            BackendInfo after = DjlReinstallIT.awaitDjl(runtime);
            assertFalse(after.availability().isAvailable(), after.toString());
            assertTrue(reasonSaysRestart(after), after.toString());
            assertTrue(runtime.service().backends().stream().anyMatch(b -> b.id().equals("java")
                    && b.availability().isAvailable()), runtime.service().backends().toString());
        }
    }

    private static boolean reasonSaysRestart(BackendInfo djl) {
        return djl.availability().toString().contains("native libraries load once per JVM: restart the runtime");
    }
}

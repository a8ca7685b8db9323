package dev.glassbox.backend.djl;

import dev.glassbox.api.backend.Availability;
import dev.glassbox.backend.java.JavaBackend;
import java.nio.file.Path;

/**
 * The DJL backend under test and the Java backend it is compared with, shared by the test
 * classes (the engine loads once per JVM).
 */
final class Backends {
    static final DjlBackend DJL = new DjlBackend(path("glassbox.djl.natives"), path("glassbox.djl.cache"));
    /** As {@link #DJL}, with each elementwise formula one TorchScript function, as on a GPU set to {@code script}. */
    static final DjlBackend DJL_SCRIPTED = new DjlBackend(path("glassbox.djl.natives"), path("glassbox.djl.cache"), 0,
            DeviceChoice.AUTO, null, DjlBackend.ELEMENTWISE_SCRIPT);
    static final JavaBackend JAVA = new JavaBackend(2);

    private Backends() {
    }

    private static Path path(String property) {
        String value = System.getProperty(property);
        return value == null ? null : Path.of(value);
    }

    /** Why the DJL backend cannot run here, or null when it can. */
    static String unavailable() {
        Availability a = DJL.availability();
        return a.isAvailable() ? null : a.toString();
    }
}

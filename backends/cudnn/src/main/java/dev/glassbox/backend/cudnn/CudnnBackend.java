package dev.glassbox.backend.cudnn;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import java.nio.file.Path;
import java.util.List;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;

/**
 * The cuDNN backend as the runtime sees it. So far only its binding layer exists: it installs
 * and reports why it cannot run here (the first missing library or device), and where all of
 * that is present it still reports itself unavailable until its kernels are built, rather
 * than accept work it cannot do. Ranked above djl, so that it becomes the default where it
 * can run.
 *
 * <p>The libraries are looked for first in the directories of ConfigAdmin PID {@value #PID},
 * property {@code path} (e.g. a file {@code dev.glassbox.backend.cudnn.config} in the deploy
 * directory), then on {@link NativeLibraries}' search path; a changed configuration probes again.
 */
@Component(service = Backend.class, property = {"id=" + CudnnBackend.ID, "service.ranking:Integer=20"},
        configurationPid = CudnnBackend.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class CudnnBackend implements Backend {

    public static final String ID = "cudnn";
    static final String PID = "dev.glassbox.backend.cudnn";

    @interface Config {
        /** Directories with the CUDA, cuDNN and cuBLAS libraries, separated like PATH; searched first. */
        String path() default "";
    }

    private volatile List<Path> searchPath = NativeLibraries.searchPath();
    /** Probed once per configuration, when first asked: a library search and at most one device query. */
    private volatile Availability availability;

    @Activate
    @Modified
    void configure(Config config) {
        String property = System.getProperty(NativeLibraries.PATH_PROPERTY);
        searchPath = NativeLibraries.searchPath(
                property == null ? config.path() : config.path() + java.io.File.pathSeparator + property, System.getenv());
        availability = null;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "NVIDIA cuDNN and cuBLAS through java.lang.foreign (binding layer only, no kernels yet)";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = CudaEnvironment.probe(searchPath);
            if (a.isAvailable()) {
                a = Availability.unavailable("the CUDA libraries and a device are here, but the cuDNN kernels are not"
                        + " built yet");
            }
            availability = a;
        }
        return a;
    }

    @Override
    public PreparedModel prepare(Graph graph) {
        throw new UnsupportedFeatureException("backend " + ID + " is " + availability(), "--backend " + ID);
    }
}

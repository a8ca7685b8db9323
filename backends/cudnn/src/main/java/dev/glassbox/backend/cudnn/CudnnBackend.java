package dev.glassbox.backend.cudnn;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.backend.support.Arguments;
import java.nio.file.Path;
import java.util.List;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;

/**
 * The cuDNN backend as the runtime sees it: available where the CUDA runtime, cuDNN, cuBLAS,
 * the driver and a device are all present; elsewhere it installs and reports the first thing
 * missing. Ranked above djl, so that it becomes the default where it can run. The device
 * (handles, the PTX module) opens on the first {@link #prepare} and closes with the component.
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

        /** Device memory kept in freed buffers for reuse ({@link CachingDevice}), in MiB; read when the device opens. */
        int cacheMegabytes() default 2048;
    }

    private volatile List<Path> searchPath = NativeLibraries.searchPath();
    private volatile long cacheBytes = 2048L << 20;
    /** Probed once per configuration, when first asked: a library search and at most one device query. */
    private volatile Availability availability;
    private Device device;

    @Activate
    @Modified
    void configure(Config config) {
        String property = System.getProperty(NativeLibraries.PATH_PROPERTY);
        searchPath = NativeLibraries.searchPath(
                property == null ? config.path() : config.path() + java.io.File.pathSeparator + property, System.getenv());
        cacheBytes = Math.max(0, (long) config.cacheMegabytes()) << 20;
        availability = null;
    }

    @Deactivate
    synchronized void deactivate() {
        if (device != null) {
            device.close();
            device = null;
        }
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "NVIDIA GPU: cuDNN convolutions, cuBLAS GEMMs and PTX kernels through java.lang.foreign (float32, no TF32)";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = CudaEnvironment.probe(searchPath);
            availability = a;
        }
        return a;
    }

    /**
     * @throws UnsupportedFeatureException if the backend is unavailable here (with the reason)
     *         or the graph uses an op this build does not know (naming the node)
     */
    @Override
    public PreparedModel prepare(Graph graph) {
        Availability a = availability();
        if (!a.isAvailable()) {
            throw new UnsupportedFeatureException("backend " + ID + " is " + a, "--backend " + ID);
        }
        Arguments.requireKnownOps(graph, ID);
        return new DevicePreparedModel(graph, device());
    }

    private synchronized Device device() {
        if (device == null) {
            try {
                device = new CachingDevice(CudaEnvironment.open(searchPath), cacheBytes);
            } catch (RuntimeException | LinkageError e) {
                availability = Availability.unavailable("cannot open the GPU: " + e.getMessage());
                throw new UnsupportedFeatureException("backend " + ID + " is " + availability, "--backend " + ID, e);
            }
        }
        return device;
    }
}

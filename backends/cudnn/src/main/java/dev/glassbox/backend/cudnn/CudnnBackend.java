package dev.glassbox.backend.cudnn;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import org.osgi.service.component.annotations.Component;

/**
 * The cuDNN backend as the runtime sees it. So far only its binding layer exists: it installs
 * and reports why it cannot run here (the first missing library or device), and where all of
 * that is present it still reports itself unavailable until its kernels are built, rather
 * than accept work it cannot do. Ranked above djl, so that it becomes the default where it
 * can run.
 */
@Component(service = Backend.class, property = {"id=" + CudnnBackend.ID, "service.ranking:Integer=20"})
public final class CudnnBackend implements Backend {

    public static final String ID = "cudnn";

    /** Probed once, when first asked: a library search and at most one device query. */
    private volatile Availability availability;

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
            a = CudaEnvironment.probe(NativeLibraries.searchPath());
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

package dev.glassbox.api.backend;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.TensorScope;
import org.osgi.annotation.versioning.ProviderType;

/** A graph ready to run on one backend. Closing it frees what {@code prepare} allocated. */
@ProviderType
public interface PreparedModel extends AutoCloseable {

    Graph graph();

    /** The backend id, for reports. */
    String backendId();

    /** A new root scope for the tensors of one request. */
    TensorScope openScope();

    Kernels kernels();

    @Override
    void close();
}

package dev.glassbox.api.tensor;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A tensor owned by a backend, possibly in device memory. It belongs to the
 * {@link TensorScope} it was created in; closing the scope frees it. Using a tensor after
 * its scope closed is an error the backend reports.
 */
@ProviderType
public interface Tensor {

    Shape shape();

    /** Copies the values to the heap. */
    HostTensor toHost();
}

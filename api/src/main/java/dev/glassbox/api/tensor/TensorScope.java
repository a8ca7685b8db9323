package dev.glassbox.api.tensor;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Owns the tensors of one computation and frees them together, like an
 * {@link java.lang.foreign.Arena}. Scopes come from a prepared model; a child scope frees its
 * tensors before its parent does.
 */
@ProviderType
public interface TensorScope extends AutoCloseable {

    /** A scope whose tensors are freed when it or this scope closes, whichever comes first. */
    TensorScope child();

    /** Number of tensors this scope (children included) currently owns; for leak checks. */
    int liveTensors();

    /** Frees every tensor created in this scope and its children. Idempotent. */
    @Override
    void close();
}

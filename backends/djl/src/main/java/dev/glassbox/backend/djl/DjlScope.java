package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.support.OwningScope;

/**
 * A {@link TensorScope} over an {@link NDManager}: a child scope has a sub-manager of its
 * parent's, and closing a scope closes its manager, which frees every array in it (including
 * any a kernel left behind). {@link #liveTensors()} counts the tensors handed out, children
 * included; bookkeeping and thread safety as every backend's ({@link OwningScope}).
 */
final class DjlScope extends OwningScope<DjlScope, DjlTensor> {
    private final NDManager manager;
    private final Runnable afterClose;

    /** @param afterClose run once the scope is closed (a request's trace ends there), or null */
    DjlScope(DjlScope parent, NDManager manager, Runnable afterClose) {
        super(parent);
        this.manager = manager;
        this.afterClose = afterClose;
    }

    NDManager manager() {
        return manager;
    }

    /** Moves {@code array} into this scope's manager and wraps it as a tensor of this scope. */
    DjlTensor adopt(Shape shape, NDArray array, String label) {
        return own(new DjlTensor(shape, array, label), label);
    }

    @Override
    protected void taken(DjlTensor tensor) {
        tensor.array().attach(manager);
    }

    /**
     * Keeps {@code array} until this scope closes without handing it out (a recorded
     * forward pass's input leaf, which may be closed sooner).
     */
    void hold(NDArray array, String label) {
        synchronized (this) {
            if (!isClosed()) {
                array.attach(manager);
                return;
            }
        }
        array.close();
        throw new IllegalStateException("cannot keep " + label + ": its scope is closed");
    }

    @Override
    protected DjlScope newChild() {
        return new DjlScope(this, manager.newSubManager(), null);
    }

    @Override
    protected void release(DjlTensor tensor) {
        tensor.free();
    }

    @Override
    protected void closed() {
        try {
            manager.close();
        } finally {
            if (afterClose != null) {
                afterClose.run();
            }
        }
    }
}

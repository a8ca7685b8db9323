package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A {@link TensorScope} over an {@link NDManager}: a child scope has a sub-manager of its
 * parent's, and closing a scope closes its manager, which frees every array in it (including
 * any a kernel left behind). {@link #liveTensors()} counts the tensors handed out, children
 * included. Thread-safe as the Java backend's scope: locks are never held across scopes.
 */
final class DjlScope implements TensorScope {
    private final DjlScope parent;
    private final NDManager manager;
    private final List<DjlTensor> tensors = new ArrayList<>();
    private final Set<DjlScope> children = new LinkedHashSet<>();
    private boolean closed;

    DjlScope(DjlScope parent, NDManager manager) {
        this.parent = parent;
        this.manager = manager;
    }

    NDManager manager() {
        return manager;
    }

    /** Moves {@code array} into this scope's manager and wraps it as a tensor of this scope. */
    DjlTensor adopt(Shape shape, NDArray array, String label) {
        synchronized (this) {
            if (closed) {
                array.close();
                throw new IllegalStateException("cannot create " + label + ": its scope is closed");
            }
            array.attach(manager);
            DjlTensor t = new DjlTensor(shape, array, label);
            tensors.add(t);
            return t;
        }
    }

    /**
     * Keeps {@code array} until this scope closes without handing it out (a recorded
     * forward pass's input leaf, which may be closed sooner).
     */
    void hold(NDArray array, String label) {
        synchronized (this) {
            if (closed) {
                array.close();
                throw new IllegalStateException("cannot keep " + label + ": its scope is closed");
            }
            array.attach(manager);
        }
    }

    @Override
    public TensorScope child() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("cannot open a child of a closed scope");
            }
            DjlScope child = new DjlScope(this, manager.newSubManager());
            children.add(child);
            return child;
        }
    }

    @Override
    public int liveTensors() {
        List<DjlScope> kids;
        int n;
        synchronized (this) {
            n = tensors.size();
            kids = List.copyOf(children);
        }
        for (DjlScope kid : kids) {
            n += kid.liveTensors();
        }
        return n;
    }

    @Override
    public void close() {
        List<DjlScope> kids;
        List<DjlTensor> own;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            kids = List.copyOf(children);
            children.clear();
            own = List.copyOf(tensors);
            tensors.clear();
        }
        for (DjlScope kid : kids) {
            kid.close();
        }
        for (DjlTensor t : own) {
            t.free();
        }
        manager.close();
        if (parent != null) {
            parent.forget(this);
        }
    }

    private synchronized void forget(DjlScope child) {
        children.remove(child);
    }
}

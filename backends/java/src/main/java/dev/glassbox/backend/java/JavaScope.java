package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Owns the tensors created in it and its child scopes. Closing frees them (drops the arrays
 * for the garbage collector and makes later use fail loudly).
 *
 * <p>Thread-safe: explainers may work in one scope from several threads. Locks are never
 * held while calling into another scope, so a parent and a child closing at the same time
 * cannot deadlock. A closed child leaves its parent's list, so a long request that opens a
 * child per step does not accumulate dead scopes.
 */
final class JavaScope implements TensorScope {
    private final JavaScope parent;
    private final List<JavaTensor> tensors = new ArrayList<>();
    private final Set<JavaScope> children = new LinkedHashSet<>();
    private boolean closed;

    JavaScope(JavaScope parent) {
        this.parent = parent;
    }

    /** Wraps {@code data} (not copied) as a tensor owned by this scope. */
    JavaTensor adopt(Shape shape, float[] data, String label) {
        JavaTensor t = new JavaTensor(shape, data, label);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("cannot create " + t + ": its scope is closed");
            }
            tensors.add(t);
        }
        return t;
    }

    @Override
    public TensorScope child() {
        JavaScope child = new JavaScope(this);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("cannot open a child of a closed scope");
            }
            children.add(child);
        }
        return child;
    }

    @Override
    public int liveTensors() {
        List<JavaScope> kids;
        int n;
        synchronized (this) {
            n = tensors.size();
            kids = List.copyOf(children);
        }
        for (JavaScope kid : kids) {
            n += kid.liveTensors();
        }
        return n;
    }

    synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        List<JavaScope> kids;
        List<JavaTensor> own;
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
        for (JavaScope kid : kids) {
            kid.close();
        }
        for (JavaTensor t : own) {
            t.free();
        }
        if (parent != null) {
            parent.forget(this);
        }
    }

    private synchronized void forget(JavaScope child) {
        children.remove(child);
    }
}

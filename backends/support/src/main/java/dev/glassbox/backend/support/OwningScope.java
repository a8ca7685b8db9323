package dev.glassbox.backend.support;

import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The bookkeeping of a {@link TensorScope}: the resources (tensors) it owns, its open children,
 * and closing in order (children first, then its own resources, then whatever the backend
 * holds for the scope as a whole). Thread-safe: explainers may work in one scope from several
 * threads. Locks are never held while calling into another scope, so a parent and a child
 * closing at the same time cannot deadlock, and a closed child leaves its parent's set, so a
 * long request that opens a child per step does not accumulate dead scopes.
 *
 * @param <S> the backend's scope type
 * @param <R> what it owns
 */
public abstract class OwningScope<S extends OwningScope<S, R>, R> implements TensorScope {
    private final S parent;
    private final List<R> owned = new ArrayList<>();
    private final Set<S> children = new LinkedHashSet<>();
    private boolean closed;

    protected OwningScope(S parent) {
        this.parent = parent;
    }

    /** A new scope whose parent is this one (called under this scope's lock). */
    protected abstract S newChild();

    /** Frees one resource: on close, or at once when it arrives after the close. */
    protected abstract void release(R resource);

    /** Called under the lock when {@code resource} is taken in, e.g. to move it into the scope's memory pool. */
    protected void taken(R resource) {
    }

    /** Frees what the scope holds as a whole, after its resources (e.g. a memory manager). */
    protected void closed() {
    }

    protected final synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Takes {@code resource} in.
     *
     * @throws IllegalStateException (after releasing it) if this scope has closed
     */
    protected final R own(R resource, String label) {
        synchronized (this) {
            if (!closed) {
                taken(resource);
                owned.add(resource);
                return resource;
            }
        }
        release(resource);
        throw new IllegalStateException("cannot create " + label + ": its scope is closed");
    }

    @Override
    public final S child() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("cannot open a child of a closed scope");
            }
            S child = newChild();
            children.add(child);
            return child;
        }
    }

    @Override
    public final int liveTensors() {
        List<S> kids;
        int n;
        synchronized (this) {
            n = owned.size();
            kids = List.copyOf(children);
        }
        for (S kid : kids) {
            n += kid.liveTensors();
        }
        return n;
    }

    @Override
    public final void close() {
        List<S> kids;
        List<R> own;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            kids = List.copyOf(children);
            children.clear();
            own = List.copyOf(owned);
            owned.clear();
        }
        for (S kid : kids) {
            kid.close();
        }
        for (R r : own) {
            release(r);
        }
        closed();
        if (parent != null) {
            ((OwningScope<S, R>) parent).forget(this);
        }
    }

    private synchronized void forget(OwningScope<S, R> child) {
        children.remove(child);
    }
}

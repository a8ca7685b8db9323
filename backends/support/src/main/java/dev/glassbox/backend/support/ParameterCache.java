package dev.glassbox.backend.support;

import dev.glassbox.api.tensor.HostTensor;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A backend's copies of parameters for one prepared model, keyed by the identity of their
 * {@link HostTensor} and held weakly: a graph's weights are uploaded once, and the modified
 * weights an LRP rule passes (a new HostTensor per layer, made once) are uploaded on first use
 * and released once the rule drops them (checked on every lookup). Closing releases the rest.
 *
 * @param <V> what a parameter becomes on the backend
 */
public final class ParameterCache<V> implements AutoCloseable {
    private final Function<HostTensor, V> upload;
    private final Consumer<V> release;
    private final ReferenceQueue<HostTensor> queue = new ReferenceQueue<>();
    private final Map<Key, V> values = new HashMap<>();
    private boolean closed;

    /**
     * @param upload  makes the backend's copy of a parameter
     * @param release frees one copy
     */
    public ParameterCache(Function<HostTensor, V> upload, Consumer<V> release) {
        this.upload = upload;
        this.release = release;
    }

    /**
     * A weak key that compares by the identity of its referent: equal while both point to the
     * same object; a cleared key equals only itself, so it can still be removed once enqueued.
     */
    private static final class Key extends WeakReference<HostTensor> {
        private final int hash;

        Key(HostTensor referent, ReferenceQueue<HostTensor> queue) {
            super(referent, queue);
            hash = System.identityHashCode(referent);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return this == o || o instanceof Key k && k.hash == hash && k.get() != null && k.get() == get();
        }
    }

    /** The copy of {@code host} (owned by this cache), uploaded on first use. */
    public synchronized V get(HostTensor host) {
        if (closed) {
            throw new IllegalStateException("the prepared model is closed");
        }
        expunge();
        V value = values.get(new Key(host, null));
        if (value == null) {
            value = upload.apply(host);
            values.put(new Key(host, queue), value);
        }
        return value;
    }

    /** Number of parameters held, for tests. */
    public synchronized int size() {
        expunge();
        return values.size();
    }

    private void expunge() {
        for (Object r; (r = queue.poll()) != null; ) {
            V value = values.remove(r);
            if (value != null) {
                release.accept(value);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            values.values().forEach(release);
            values.clear();
        }
    }
}

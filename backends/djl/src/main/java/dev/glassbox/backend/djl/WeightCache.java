package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.glassbox.api.tensor.HostTensor;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;

/**
 * Device copies of parameters, keyed by the identity of their {@link HostTensor} and held
 * weakly: a graph's weights are uploaded once per prepared model, and the modified weights
 * an LRP rule passes (a new HostTensor per layer, made once) are uploaded on first use and
 * freed once the rule drops them.
 */
final class WeightCache implements AutoCloseable {
    private final NDManager manager;
    private final ReferenceQueue<HostTensor> queue = new ReferenceQueue<>();
    private final Map<Key, NDArray> arrays = new HashMap<>();
    private boolean closed;

    WeightCache(NDManager manager) {
        this.manager = manager;
    }

    private static final class Key extends WeakReference<HostTensor> {
        private final int hash;

        Key(HostTensor t, ReferenceQueue<HostTensor> q) {
            super(t, q);
            hash = System.identityHashCode(t);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            return o instanceof Key k && k.hash == hash && k.get() != null && k.get() == get();
        }
    }

    /** The array of {@code host} (not to be closed by the caller). */
    synchronized NDArray get(HostTensor host) {
        if (closed) {
            throw new IllegalStateException("prepared model is closed");
        }
        expunge();
        Key probe = new Key(host, null);
        NDArray a = arrays.get(probe);
        if (a == null) {
            long[] dims = new long[host.shape().rank()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = host.shape().dim(i);
            }
            a = manager.create(host.data(), new Shape(dims));
            arrays.put(new Key(host, queue), a);
        }
        return a;
    }

    synchronized int size() {
        expunge();
        return arrays.size();
    }

    private void expunge() {
        for (Object r; (r = queue.poll()) != null; ) {
            NDArray a = arrays.remove(r);
            if (a != null) {
                a.close();
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        arrays.clear();
        manager.close();
    }
}

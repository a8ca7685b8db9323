package dev.glassbox.backend.support;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;

/**
 * A weak key that compares by the identity of its referent, for caches of device copies keyed
 * by a parameter's {@code HostTensor}: two keys are equal while both still point to the same
 * object; a cleared key equals only itself, so it can still be removed once enqueued.
 */
public final class IdentityKey<T> extends WeakReference<T> {
    private final int hash;

    public IdentityKey(T referent, ReferenceQueue<? super T> queue) {
        super(referent, queue);
        hash = System.identityHashCode(referent);
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
        return o instanceof IdentityKey<?> k && k.hash == hash && k.get() != null && k.get() == get();
    }
}

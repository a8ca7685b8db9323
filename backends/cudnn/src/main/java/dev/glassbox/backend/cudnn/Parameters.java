package dev.glassbox.backend.cudnn;

import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.backend.support.IdentityKey;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.HashMap;
import java.util.Map;

/**
 * Device copies of parameters for one prepared model, keyed by the identity of their
 * {@link HostTensor} and held weakly: a graph's weights are uploaded once, the modified
 * weights an LRP rule passes are uploaded on first use and freed once the rule drops them
 * (checked on every lookup), and closing frees the rest.
 */
final class Parameters implements AutoCloseable {
    private final Device device;
    private final ReferenceQueue<HostTensor> queue = new ReferenceQueue<>();
    private final Map<IdentityKey<HostTensor>, Long> buffers = new HashMap<>();
    private boolean closed;

    Parameters(Device device) {
        this.device = device;
    }

    /** The device buffer holding {@code host}'s values (owned by this cache). */
    synchronized long get(HostTensor host) {
        if (closed) {
            throw new IllegalStateException("the prepared model is closed");
        }
        expunge();
        IdentityKey<HostTensor> probe = new IdentityKey<>(host, null);
        Long address = buffers.get(probe);
        if (address == null) {
            address = device.allocate(host.data().length);
            try {
                device.copyIn(host.data(), address);
            } catch (RuntimeException e) {
                device.free(address);
                throw e;
            }
            buffers.put(new IdentityKey<>(host, queue), address);
        }
        return address;
    }

    /** Number of parameters on the device, for tests. */
    synchronized int size() {
        expunge();
        return buffers.size();
    }

    private void expunge() {
        for (Reference<? extends HostTensor> r; (r = queue.poll()) != null; ) {
            Long address = buffers.remove(r);
            if (address != null) {
                device.free(address);
            }
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            buffers.values().forEach(device::free);
            buffers.clear();
        }
    }
}

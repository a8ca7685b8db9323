package dev.glassbox.backend.cudnn;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keeps freed buffers for reuse by the next allocation of the same size, in front of another
 * device: {@code cudaFree} waits for the whole device, and an explanation frees hundreds of
 * tensors of a handful of sizes, the same ones request after request. Reuse is safe without
 * waiting because all work goes to one stream in order: a later kernel that writes a reused
 * buffer runs after every earlier one that read it. Cached bytes are capped; beyond the cap
 * the least recently freed sizes go back to the device first.
 *
 * <p>{@link #liveAllocations()} counts the buffers handed out and not yet freed (what a leak
 * test counts), not those in the cache.
 */
final class CachingDevice extends ForwardingDevice {
    private final long capacityBytes;
    private final Map<Long, Long> sizes = new HashMap<>();
    /** Free buffers by size in floats, least recently used size first. */
    private final LinkedHashMap<Long, ArrayDeque<Long>> cache = new LinkedHashMap<>(16, 0.75f, true);
    private long cachedBytes;

    CachingDevice(Device device, long capacityBytes) {
        super(device);
        this.capacityBytes = capacityBytes;
    }

    @Override
    public synchronized long allocate(long floats) {
        if (floats == 0) {
            return 0;
        }
        ArrayDeque<Long> free = cache.get(floats);
        long address;
        if (free != null && !free.isEmpty()) {
            address = free.pop();
            cachedBytes -= floats * Float.BYTES;
        } else {
            address = device.allocate(floats);
        }
        sizes.put(address, floats);
        return address;
    }

    @Override
    public synchronized void free(long address) {
        if (address == 0) {
            return;
        }
        Long floats = sizes.remove(address);
        if (floats == null) {
            throw new IllegalArgumentException("buffer " + Long.toHexString(address) + " is not allocated here");
        }
        cache.computeIfAbsent(floats, f -> new ArrayDeque<>()).push(address);
        cachedBytes += floats * Float.BYTES;
        trim(capacityBytes);
    }

    /** Frees cached buffers, least recently used sizes first, until at most {@code bytes} stay cached. */
    private void trim(long bytes) {
        Iterator<Map.Entry<Long, ArrayDeque<Long>>> sizesByAge = cache.entrySet().iterator();
        while (cachedBytes > bytes && sizesByAge.hasNext()) {
            Map.Entry<Long, ArrayDeque<Long>> e = sizesByAge.next();
            while (cachedBytes > bytes && !e.getValue().isEmpty()) {
                device.free(e.getValue().pop());
                cachedBytes -= e.getKey() * Float.BYTES;
            }
            if (e.getValue().isEmpty()) {
                sizesByAge.remove();
            }
        }
    }

    @Override
    public synchronized int liveAllocations() {
        return sizes.size();
    }

    /** Buffers kept for reuse, for tests. */
    synchronized int cachedBuffers() {
        return cache.values().stream().mapToInt(ArrayDeque::size).sum();
    }

    /** Frees the cache, then closes the device behind it. */
    @Override
    public synchronized void close() {
        trim(0);
        device.close();
    }
}

package dev.glassbox.backend.cudnn;

import java.util.concurrent.atomic.AtomicInteger;

/** Counts kernel launches; closing it leaves the device behind it open (the tests share one). */
final class LaunchCounter extends ForwardingDevice {
    private final AtomicInteger launches = new AtomicInteger();

    LaunchCounter(Device device) {
        super(device);
    }

    int launches() {
        return launches.get();
    }

    @Override
    public void launch(Kernel kernel, long n, Object... args) {
        launches.incrementAndGet();
        super.launch(kernel, n, args);
    }

    @Override
    public void close() {
    }
}

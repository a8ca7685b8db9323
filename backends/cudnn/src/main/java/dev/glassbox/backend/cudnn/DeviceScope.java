package dev.glassbox.backend.cudnn;

import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.OwningScope;

/**
 * Owns the device buffers of the tensors created in it and its child scopes, and frees them
 * when it closes (bookkeeping and thread safety as every backend's: {@link OwningScope}).
 */
final class DeviceScope extends OwningScope<DeviceScope, DeviceTensor> {
    private final Device device;

    DeviceScope(Device device, DeviceScope parent) {
        super(parent);
        this.device = device;
    }

    /** A new uninitialised tensor owned by this scope. */
    DeviceTensor allocate(Shape shape, String label) {
        return own(new DeviceTensor(device, shape, device.allocate(shape.size()), label), label + " " + shape);
    }

    @Override
    protected DeviceScope newChild() {
        return new DeviceScope(device, this);
    }

    @Override
    protected void release(DeviceTensor tensor) {
        tensor.free();
    }
}

package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.support.ParameterCache;

/**
 * A graph ready for the device: its parameters are uploaded on first use and stay on the device
 * until the model closes. Scopes opened from it free their own tensors.
 */
final class DevicePreparedModel implements PreparedModel {
    private final Graph graph;
    private final Device device;
    private final ParameterCache<Long> parameters;
    private final DeviceKernels kernels;
    private volatile boolean closed;

    DevicePreparedModel(Graph graph, Device device) {
        this.graph = graph;
        this.device = device;
        this.parameters = new ParameterCache<>(host -> upload(device, host), device::free);
        this.kernels = new DeviceKernels(device, parameters);
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backendId() {
        return CudnnBackend.ID;
    }

    @Override
    public TensorScope openScope() {
        if (closed) {
            throw new IllegalStateException("prepared model " + graph.name() + " is closed");
        }
        return new DeviceScope(device, null);
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    /** A device buffer with {@code host}'s values; nothing is left allocated if the copy fails. */
    private static long upload(Device device, HostTensor host) {
        long address = device.allocate(host.data().length);
        try {
            device.copyIn(host.data(), address);
        } catch (RuntimeException e) {
            device.free(address);
            throw e;
        }
        return address;
    }

    /** Number of parameters on the device, for leak tests. */
    int parametersOnDevice() {
        return parameters.size();
    }

    /** Frees the parameters; scopes already opened stay usable until their owners close them. */
    @Override
    public void close() {
        closed = true;
        parameters.close();
    }
}

package dev.glassbox.backend.cudnn;

import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;

/** The backend over a given device (the CPU twin, or an opened GPU), for tests through the public API. */
record DeviceBackend(Device device) implements Backend {

    @Override
    public String id() {
        return CudnnBackend.ID;
    }

    @Override
    public String description() {
        return "cudnn backend on " + device;
    }

    @Override
    public Availability availability() {
        return Availability.available();
    }

    @Override
    public PreparedModel prepare(Graph graph) {
        return new DevicePreparedModel(graph, device);
    }
}

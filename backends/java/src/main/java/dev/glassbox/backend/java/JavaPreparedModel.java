package dev.glassbox.backend.java;

import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.TensorScope;

/** A graph checked for this backend. Nothing is allocated up front: parameters stay in the graph. */
final class JavaPreparedModel implements PreparedModel {
    private final Graph graph;
    private final JavaKernels kernels;
    private volatile boolean closed;

    JavaPreparedModel(Graph graph, JavaKernels kernels) {
        this.graph = graph;
        this.kernels = kernels;
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backendId() {
        return JavaBackend.ID;
    }

    @Override
    public TensorScope openScope() {
        if (closed) {
            throw new IllegalStateException("prepared model " + graph.name() + " is closed");
        }
        return new JavaScope(null);
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    /** Scopes already opened stay usable until their owners close them. */
    @Override
    public void close() {
        closed = true;
    }
}

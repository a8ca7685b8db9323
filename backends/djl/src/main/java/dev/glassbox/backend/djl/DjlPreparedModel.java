package dev.glassbox.backend.djl;

import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.TensorScope;

/**
 * A graph on the DJL backend: one NDManager per model, under which the weight cache, the
 * compiled formulas and every request scope live. Closing the model frees its weights and
 * formulas; request scopes opened before stay usable until their owners close them (they are
 * sub-managers of their own root).
 */
final class DjlPreparedModel implements PreparedModel {
    private final Graph graph;
    private final NDManager root;
    private final WeightCache weights;
    /** Null unless formulas are scripted. */
    private final ScriptedFormulas formulas;
    private final DjlKernels kernels;
    private final RequestTraces traces;
    private volatile boolean closed;

    /**
     * @param traces   the backend's request traces, or null
     * @param scripted whether elementwise formulas run as TorchScript functions ({@link ScriptedFormulas})
     */
    DjlPreparedModel(Graph graph, NDManager root, DjlKernels.Factory factory, RequestTraces traces, boolean scripted) {
        this.graph = graph;
        this.root = root;
        this.traces = traces;
        this.weights = new WeightCache(root.newSubManager());
        this.formulas = scripted ? new ScriptedFormulas(root.newSubManager()) : null;
        this.kernels = factory.kernels(weights, formulas);
    }

    @Override
    public Graph graph() {
        return graph;
    }

    @Override
    public String backendId() {
        return DjlBackend.ID;
    }

    @Override
    public TensorScope openScope() {
        if (closed) {
            throw new IllegalStateException("prepared model " + graph.name() + " is closed");
        }
        boolean traced = traces != null && traces.begin(root.getDevice().isGpu());
        try {
            return new DjlScope(null, root.newSubManager(), traced ? traces::end : null);
        } catch (RuntimeException e) {
            if (traced) {
                traces.end();
            }
            throw e;
        }
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    /** Number of parameter arrays uploaded (for tests). */
    int cachedWeights() {
        return weights.size();
    }

    /** Number of elementwise formulas compiled to TorchScript (for tests). */
    int compiledFormulas() {
        return formulas == null ? 0 : formulas.size();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            weights.close();
            if (formulas != null) {
                formulas.close();
            }
        }
    }
}

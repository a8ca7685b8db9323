package dev.glassbox.core;

import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.BackwardObserver;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.Propagator;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.service.ProgressListener;
import dev.glassbox.api.tensor.TensorScope;

/** What one explanation request hands its explainer. */
record RequestContext(PreparedModel model, Propagator propagator, Trace trace, TensorScope scope,
                      Deadline deadline, ProgressListener listener, BackwardObserver perLayer)
        implements ExplainContext {

    @Override
    public void checkDeadline() {
        deadline.check();
    }

    @Override
    public void progress(long done, long total) {
        listener.progress(done, total);
    }
}

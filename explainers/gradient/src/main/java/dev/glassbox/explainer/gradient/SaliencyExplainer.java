package dev.glassbox.explainer.gradient;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/** Saliency maps (Simonyan et al. 2014): the absolute gradient. */
@Component(service = Explainer.class)
public final class SaliencyExplainer implements Explainer {

    @Override
    public String id() {
        return "saliency";
    }

    @Override
    public String description() {
        return "absolute gradient of the target logit (Simonyan et al. 2014)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of();
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        var kernels = ctx.model().kernels();
        return kernels.abs(TargetGradients.of(ctx, ctx.trace(), request.targets(), ctx.scope()), ctx.scope()).toHost();
    }
}

package dev.glassbox.explainer.gradient;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/** Gradient times input (Shrikumar et al. 2016); equals LRP-0 on bias-free ReLU networks. */
@Component(service = Explainer.class)
public final class GradientTimesInputExplainer implements Explainer {

    @Override
    public String id() {
        return "gradient-x-input";
    }

    @Override
    public String description() {
        return "gradient of the target logit times the input (Shrikumar et al. 2016)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of();
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        var kernels = ctx.model().kernels();
        var grad = TargetGradients.of(ctx, ctx.trace(), request.targets(), ctx.scope());
        return kernels.multiply(grad, ctx.trace().input(), ctx.scope()).toHost();
    }
}

package dev.glassbox.explainer.gradient;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/** The plain gradient of the target logit with respect to the input. */
@Component(service = Explainer.class)
public final class GradientExplainer implements Explainer {

    @Override
    public String id() {
        return "gradient";
    }

    @Override
    public String description() {
        return "gradient of the target logit with respect to the input";
    }

    @Override
    public List<Option<?>> options() {
        return List.of();
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        return TargetGradients.of(ctx, ctx.trace(), request.targets(), ctx.perLayer(), ctx.scope()).toHost();
    }
}

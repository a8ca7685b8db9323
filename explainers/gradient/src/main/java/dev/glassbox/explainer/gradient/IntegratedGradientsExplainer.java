package dev.glassbox.explainer.gradient;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * Integrated gradients (Sundararajan et al. 2017) with the Riemann midpoint rule:
 * {@code (x - b) * mean_k grad f(b + a_k (x - b))}, {@code a_k = (k + 0.5) / steps}.
 */
@Component(service = Explainer.class)
public final class IntegratedGradientsExplainer implements Explainer {

    static final Option.IntOption STEPS = new Option.IntOption("steps",
            "number of points on the path from the baseline to the input (midpoint rule)", 32, 1, 100_000);
    static final Option.TextOption BASELINE = new Option.TextOption("baseline",
            "'zero', or a .npy file shaped like one input item (or like the whole batch)", "zero");

    @Override
    public String id() {
        return "integrated-gradients";
    }

    @Override
    public String description() {
        return "integrated gradients from a baseline, midpoint rule (Sundararajan et al. 2017)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of(STEPS, BASELINE);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        HostTensor input = request.input();
        int steps = request.options().get(STEPS);
        float[] x = input.data();
        float[] base = baseline(request.options().get(BASELINE), input.shape());
        float[] sum = new float[x.length];
        double[] acc = new double[x.length];
        TargetGradients.overVariants(ctx, input, request.targets(), steps,
                (k, out, offset) -> {
                    float alpha = (float) ((k + 0.5) / steps);
                    for (int i = 0; i < x.length; i++) {
                        out[offset + i] = base[i] + alpha * (x[i] - base[i]);
                    }
                },
                (k, grads, offset) -> {
                    for (int i = 0; i < acc.length; i++) {
                        acc[i] += grads[offset + i];
                    }
                });
        for (int i = 0; i < sum.length; i++) {
            sum[i] = (float) ((x[i] - base[i]) * acc[i] / steps);
        }
        return HostTensor.wrap(input.shape(), sum);
    }

    /** The baseline expanded to the batch. */
    private static float[] baseline(String spec, Shape batchShape) {
        float[] out = new float[batchShape.size()];
        if (spec.equals("zero")) {
            return out;
        }
        HostTensor b = Npy.read(Path.of(spec));
        Shape item = batchShape.withoutBatch();
        if (b.shape().equals(batchShape)) {
            return b.data().clone();
        }
        if (!b.shape().equals(item) && !b.shape().equals(item.withBatch(1))) {
            throw new InvalidOptionException("baseline shape " + b.shape() + " matches neither the input item " + item
                    + " nor the batch " + batchShape, "--baseline " + spec);
        }
        int per = item.size();
        for (int i = 0; i < batchShape.dim(0); i++) {
            System.arraycopy(b.data(), 0, out, i * per, per);
        }
        return out;
    }
}

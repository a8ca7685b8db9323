package dev.glassbox.explainer.gradient;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import java.util.List;
import java.util.Random;
import org.osgi.service.component.annotations.Component;

/**
 * SmoothGrad (Smilkov et al. 2017): the mean gradient over noisy copies of the input, with
 * Gaussian noise of standard deviation {@code noise * (max(x) - min(x))} per item.
 * Deterministic for a given seed.
 */
@Component(service = Explainer.class)
public final class SmoothGradExplainer implements Explainer {

    static final Option.IntOption SAMPLES = new Option.IntOption("samples",
            "number of noisy copies averaged", 32, 1, 100_000);
    static final Option.DoubleOption NOISE = new Option.DoubleOption("noise",
            "noise standard deviation as a fraction of each item's value range", 0.1, 0.0, 10.0);
    static final Option.IntOption SEED = new Option.IntOption("seed",
            "random seed of the noise", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);

    @Override
    public String id() {
        return "smoothgrad";
    }

    @Override
    public String description() {
        return "mean gradient over Gaussian-noised copies of the input (Smilkov et al. 2017)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of(SAMPLES, NOISE, SEED);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        HostTensor input = request.input();
        int samples = request.options().get(SAMPLES);
        double noise = request.options().get(NOISE);
        float[] x = input.data();
        int n = input.shape().dim(0);
        int per = x.length / n;
        float[] sigma = new float[n];
        for (int i = 0; i < n; i++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            for (int j = i * per; j < (i + 1) * per; j++) {
                lo = Math.min(lo, x[j]);
                hi = Math.max(hi, x[j]);
            }
            sigma[i] = (float) (noise * (hi - lo));
        }
        // Variants are drawn in order from one generator, so batching does not change results.
        Random random = new Random(request.options().get(SEED));
        double[] acc = new double[x.length];
        TargetGradients.overVariants(ctx, input, request.targets(), samples,
                (k, out, offset) -> {
                    for (int j = 0; j < x.length; j++) {
                        out[offset + j] = x[j] + (float) (sigma[j / per] * random.nextGaussian());
                    }
                },
                (k, grads, offset) -> {
                    for (int j = 0; j < acc.length; j++) {
                        acc[j] += grads[offset + j];
                    }
                });
        float[] mean = new float[x.length];
        for (int j = 0; j < mean.length; j++) {
            mean[j] = (float) (acc[j] / samples);
        }
        return HostTensor.wrap(input.shape(), mean);
    }
}

package dev.glassbox.explainer.gradient;

import dev.glassbox.api.explain.BackwardObserver;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.Arrays;

/** Gradients of each item's target logit with respect to its input, through the propagator. */
final class TargetGradients {
    private TargetGradients() {
    }

    /** The gradient at a forward pass already made (the request's own trace, say). */
    static Tensor of(ExplainContext ctx, Trace trace, int[] targets, TensorScope scope) {
        return of(ctx, trace, targets, BackwardObserver.NONE, scope);
    }

    /** As above, telling {@code observer} the gradient at every value on the way. */
    static Tensor of(ExplainContext ctx, Trace trace, int[] targets, BackwardObserver observer, TensorScope scope) {
        Shape out = trace.output().shape();
        int classes = out.size() / out.dim(0);
        float[] ones = new float[targets.length];
        Arrays.fill(ones, 1f);
        HostTensor seed = HostTensor.oneHot(classes, targets, ones).reshape(out);
        return ctx.propagator().backward(trace, ctx.model().graph().output(),
                ctx.model().kernels().upload(seed, scope), node -> NodeRule.gradient(), observer, scope);
    }

    /** The gradient at new inputs: a forward and a backward pass in a scope of their own. */
    static HostTensor at(ExplainContext ctx, HostTensor inputs, int[] targets) {
        try (TensorScope scope = ctx.scope().child()) {
            Trace trace = ctx.propagator().forward(ctx.model(), ctx.model().kernels().upload(inputs, scope), scope);
            return of(ctx, trace, targets, scope).toHost();
        }
    }

    /**
     * Gradients at {@code count} variants of every request item, batched so that each pass
     * carries about {@link #PASS_SIZE} items. {@code variant.fill(k, out, offset)} writes variant
     * {@code k} of the whole batch into {@code out} from {@code offset}; {@code accumulate}
     * receives the gradient of that batch.
     */
    static void overVariants(ExplainContext ctx, HostTensor input, int[] targets, int count, Variant variant,
                             Accumulator accumulate) {
        int n = input.shape().dim(0);
        int per = input.shape().size();
        int chunk = Math.max(1, Math.min(count, PASS_SIZE / n));
        for (int first = 0; first < count; first += chunk) {
            ctx.checkDeadline();
            int k = Math.min(chunk, count - first);
            float[] batch = new float[per * k];
            int[] batchTargets = new int[n * k];
            for (int j = 0; j < k; j++) {
                variant.fill(first + j, batch, j * per);
                System.arraycopy(targets, 0, batchTargets, j * n, n);
            }
            Shape itemShape = input.shape().withoutBatch();
            HostTensor grads = at(ctx, HostTensor.wrap(itemShape.withBatch(n * k), batch), batchTargets);
            float[] g = grads.data();
            for (int j = 0; j < k; j++) {
                accumulate.add(first + j, g, j * per);
            }
            ctx.progress(first + k, count);
        }
    }

    /** Items per forward/backward pass when explainers batch their variants. */
    static final int PASS_SIZE = 32;

    @FunctionalInterface
    interface Variant {
        /** Writes variant {@code k} (input-sized) into {@code out[offset ..]}. */
        void fill(int k, float[] out, int offset);
    }

    @FunctionalInterface
    interface Accumulator {
        /** The gradient of variant {@code k} is {@code grads[offset ..]} (input-sized). */
        void add(int k, float[] grads, int offset);
    }
}

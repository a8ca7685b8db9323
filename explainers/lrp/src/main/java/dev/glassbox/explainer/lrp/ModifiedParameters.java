package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Supplier;

/**
 * Layers with elementwise-modified parameters ({@code W+}, {@code W + g W+}, {@code W^2}, ...),
 * and constants derived from them, computed once per layer and modification and kept while
 * the layer's weights live, so repeated explanations of a model reuse them (and backends reuse
 * their device copies, which they cache by parameter identity).
 */
final class ModifiedParameters {
    // Keyed by the layer record: its parameters compare by identity, so equal keys are the same layer.
    private final Map<Op.Linear, Map<String, Op>> cache = new WeakHashMap<>();

    /**
     * The layer with {@code f} applied to every weight and {@code g} to every bias (no bias when
     * {@code g} is null or the layer has none).
     *
     * @param key names the modification, e.g. {@code "gamma+0.25"}; equal keys mean equal results
     */
    Op.Linear modify(Op.Linear layer, String key, DoubleUnaryOperator f, DoubleUnaryOperator g) {
        return derive(layer, key, () -> layer.withParameters(map(layer.weight(), f),
                g == null || layer.bias() == null ? null : map(layer.bias(), g)));
    }

    /** A layer derived from {@code layer} in another way, made once per {@code key} and kept as long. */
    Op.Linear derive(Op.Linear layer, String key, Supplier<Op.Linear> make) {
        return (Op.Linear) cached(layer, key, make);
    }

    /** A constant derived from {@code layer} (a value that does not depend on the input), kept as long. */
    Op.Constant constant(Op.Linear layer, String key, Supplier<Op.Constant> make) {
        return (Op.Constant) cached(layer, key, make);
    }

    private synchronized Op cached(Op.Linear layer, String key, Supplier<? extends Op> make) {
        return cache.computeIfAbsent(layer, l -> new HashMap<>()).computeIfAbsent(key, k -> make.get());
    }

    /** {@code f} applied to every value of {@code t}, in double, rounded to float. */
    static HostTensor map(HostTensor t, DoubleUnaryOperator f) {
        float[] in = t.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = (float) f.applyAsDouble(in[i]);
        }
        return HostTensor.wrap(t.shape(), out);
    }
}

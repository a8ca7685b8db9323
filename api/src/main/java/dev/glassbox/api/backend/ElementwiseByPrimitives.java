package dev.glassbox.api.backend;

import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@link Kernels#evaluate}'s default: one primitive call per distinct node. */
final class ElementwiseByPrimitives {
    private final Kernels k;
    private final List<Tensor> inputs;
    private final TensorScope scope;
    private final Map<Elementwise, Tensor> done = new HashMap<>();

    ElementwiseByPrimitives(Kernels k, List<Tensor> inputs, TensorScope scope) {
        for (Tensor t : inputs) {
            if (!t.shape().equals(inputs.get(0).shape())) {
                throw new IllegalArgumentException("evaluate: inputs of shapes " + inputs.get(0).shape() + " and "
                        + t.shape());
            }
        }
        this.k = k;
        this.inputs = inputs;
        this.scope = scope;
    }

    List<Tensor> evaluate(List<Elementwise> expressions) {
        List<Tensor> out = new ArrayList<>(expressions.size());
        for (Elementwise e : expressions) {
            // a bare input is copied (1 * x is exact): results are new tensors of the scope
            out.add(e instanceof Elementwise.Input ? k.scale(value(e), 1f, scope) : value(e));
        }
        return List.copyOf(out);
    }

    private Tensor value(Elementwise e) {
        Tensor t = done.get(e);
        if (t == null) {
            t = switch (e) {
                case Elementwise.Input in -> input(in.index());
                case Elementwise.Add n -> k.add(value(n.a()), value(n.b()), scope);
                case Elementwise.Subtract n -> k.subtract(value(n.a()), value(n.b()), scope);
                case Elementwise.Multiply n -> k.multiply(value(n.a()), value(n.b()), scope);
                case Elementwise.Divide n -> k.divide(value(n.a()), value(n.b()), scope);
                case Elementwise.Scale n -> k.scale(value(n.a()), n.factor(), scope);
                case Elementwise.Abs n -> k.abs(value(n.a()), scope);
                case Elementwise.Clamp n -> k.clamp(value(n.a()), n.min(), n.max(), scope);
                case Elementwise.PositiveMask n -> k.positiveMask(value(n.a()), scope);
                case Elementwise.Stabilize n -> k.stabilize(value(n.z()), n.eps(), scope);
            };
            done.put(e, t);
        }
        return t;
    }

    private Tensor input(int index) {
        if (index >= inputs.size()) {
            throw new IllegalArgumentException("evaluate: input " + index + " of " + inputs.size());
        }
        return inputs.get(index);
    }
}

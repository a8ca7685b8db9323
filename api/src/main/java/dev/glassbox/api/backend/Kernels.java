package dev.glassbox.api.backend;

import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The operations explainers compose. Every result is created in (and owned by) the given
 * scope. Inputs are batched activations; shapes are checked and a mismatch is an
 * {@link IllegalArgumentException} naming the op.
 */
@ProviderType
public interface Kernels {

    /** Copies a host tensor into this backend. */
    Tensor upload(HostTensor host, TensorScope scope);

    /** Runs {@code op} on its activation inputs. */
    Tensor forward(Op op, List<Tensor> inputs, TensorScope scope);

    /**
     * The vector-Jacobian product of {@code op} at {@code inputs}: for each input, the
     * gradient of {@code sum(outputGradient * op(inputs))} with respect to that input.
     *
     * @param output the forward result at {@code inputs} (kernels may use it, e.g. MaxPool)
     */
    List<Tensor> inputGradients(Op op, List<Tensor> inputs, Tensor output, Tensor outputGradient,
                                TensorScope scope);

    /** {@code a + b}, same shapes. */
    Tensor add(Tensor a, Tensor b, TensorScope scope);

    /** {@code a * b} elementwise, same shapes. */
    Tensor multiply(Tensor a, Tensor b, TensorScope scope);

    /** {@code factor * a}. */
    Tensor scale(Tensor a, float factor, TensorScope scope);

    /** {@code |a|} elementwise. */
    Tensor abs(Tensor a, TensorScope scope);

    /** {@code a - b}, same shapes. */
    Tensor subtract(Tensor a, Tensor b, TensorScope scope);

    /** {@code a / b} elementwise, same shapes (IEEE semantics: no exception on zero). */
    Tensor divide(Tensor a, Tensor b, TensorScope scope);

    /** {@code min(max(a, min), max)} elementwise; infinite bounds leave that side open. */
    Tensor clamp(Tensor a, float min, float max, TensorScope scope);

    /** {@code 1} where {@code a > 0}, else {@code 0}. */
    Tensor positiveMask(Tensor a, TensorScope scope);

    /**
     * The LRP stabilizer {@code z + eps * (sign(z) + [z == 0])}: moves {@code z} away from zero
     * by {@code eps}, zeros towards the positive side.
     */
    Tensor stabilize(Tensor z, float eps, TensorScope scope);

    /**
     * Each of {@code expressions} over {@code inputs} (all of one shape), as new tensors in
     * {@code scope}. The results are those of the primitives applied node by node, as this
     * default does (a subexpression that occurs twice is computed once); a backend may instead
     * compute them in one pass over memory, with the primitives' arithmetic.
     *
     * @throws IllegalArgumentException if the inputs differ in shape or an expression names an
     *         input that is not there
     */
    default List<Tensor> evaluate(List<Elementwise> expressions, List<Tensor> inputs, TensorScope scope) {
        return new ElementwiseByPrimitives(this, inputs, scope).evaluate(expressions);
    }

    /**
     * The sum of every element of {@code expression} over {@code inputs} (all of one shape),
     * read back to the host. This default evaluates the expression into a temporary tensor and
     * reduces it with {@link Op.ReduceSum}; a backend may instead sum during the one pass of
     * {@link #evaluate}, with no tensor written (and in double precision). A NaN or an infinity
     * in the values makes the sum NaN or infinite.
     *
     * @throws IllegalArgumentException as {@link #evaluate}
     */
    default double sum(Elementwise expression, List<Tensor> inputs, TensorScope scope) {
        try (TensorScope temporary = scope.child()) {
            Tensor values = evaluate(List.of(expression), inputs, temporary).get(0);
            List<Integer> axes = new ArrayList<>();
            for (int i = 0; i < values.shape().rank(); i++) {
                axes.add(i);
            }
            return forward(new Op.ReduceSum(axes, true), List.of(values), temporary).toHost().data()[0];
        }
    }
}

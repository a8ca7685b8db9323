package dev.glassbox.api.backend;

/**
 * An elementwise expression over same-shaped tensors, made of the elementwise primitives of
 * {@link Kernels} (each node means exactly that primitive). {@link Kernels#evaluate} computes
 * several such expressions at once, so a backend can make one pass over memory where the
 * primitives one by one would make a pass (and an intermediate tensor) per node: an LRP rule's
 * "mask, stabilize, divide" chain is a dozen passes over tensors that do not fit in cache.
 *
 * <pre>{@code
 * Elementwise r = Elementwise.input(0), z = Elementwise.input(1);
 * Tensor s = kernels.evaluate(List.of(r.dividedBy(z.stabilized(1e-6f))), List.of(rt, zt), scope).get(0);
 * }</pre>
 */
public sealed interface Elementwise {

    /** The {@code index}-th input tensor. */
    record Input(int index) implements Elementwise {
        public Input {
            if (index < 0) {
                throw new IllegalArgumentException("input index " + index + " < 0");
            }
        }
    }

    /** {@link Kernels#add}. */
    record Add(Elementwise a, Elementwise b) implements Elementwise {
    }

    /** {@link Kernels#subtract}. */
    record Subtract(Elementwise a, Elementwise b) implements Elementwise {
    }

    /** {@link Kernels#multiply}. */
    record Multiply(Elementwise a, Elementwise b) implements Elementwise {
    }

    /** {@link Kernels#divide}. */
    record Divide(Elementwise a, Elementwise b) implements Elementwise {
    }

    /** {@link Kernels#scale}. */
    record Scale(Elementwise a, float factor) implements Elementwise {
    }

    /** {@link Kernels#abs}. */
    record Abs(Elementwise a) implements Elementwise {
    }

    /** {@link Kernels#clamp}. */
    record Clamp(Elementwise a, float min, float max) implements Elementwise {
    }

    /** {@link Kernels#positiveMask}. */
    record PositiveMask(Elementwise a) implements Elementwise {
    }

    /** {@link Kernels#stabilize}. */
    record Stabilize(Elementwise z, float eps) implements Elementwise {
    }

    static Elementwise input(int index) {
        return new Input(index);
    }

    default Elementwise plus(Elementwise b) {
        return new Add(this, b);
    }

    default Elementwise minus(Elementwise b) {
        return new Subtract(this, b);
    }

    default Elementwise times(Elementwise b) {
        return new Multiply(this, b);
    }

    default Elementwise dividedBy(Elementwise b) {
        return new Divide(this, b);
    }

    default Elementwise scaled(float factor) {
        return new Scale(this, factor);
    }

    default Elementwise abs() {
        return new Abs(this);
    }

    default Elementwise clamped(float min, float max) {
        return new Clamp(this, min, max);
    }

    default Elementwise positiveMask() {
        return new PositiveMask(this);
    }

    default Elementwise stabilized(float eps) {
        return new Stabilize(this, eps);
    }
}

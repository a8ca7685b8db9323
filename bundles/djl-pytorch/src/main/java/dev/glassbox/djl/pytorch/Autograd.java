package dev.glassbox.djl.pytorch;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's backward pass seeded with a gradient of the caller's, which DJL's
 * {@link ai.djl.training.GradientCollector} does not offer (it seeds with ones, so a
 * vector-Jacobian product through it costs a product, a sum and their backward steps more).
 */
public final class Autograd {
    private Autograd() {
    }

    /**
     * Back-propagates {@code outputGradient} from {@code output} ({@code output.backward(outputGradient)}
     * in PyTorch): each leaf that requires a gradient and that {@code output} was computed from
     * then holds {@code outputGradient}'s product with the Jacobian. The graph is freed.
     *
     * @throws IllegalArgumentException if the two differ in shape or are not PyTorch arrays
     */
    public static void backward(NDArray output, NDArray outputGradient) {
        if (!(output instanceof PtNDArray out) || !(outputGradient instanceof PtNDArray gradient)) {
            throw new IllegalArgumentException("backward needs PyTorch arrays, got "
                    + output.getClass().getName() + " and " + outputGradient.getClass().getName());
        }
        if (!out.getShape().equals(gradient.getShape())) {
            throw new IllegalArgumentException("output gradient of shape " + gradient.getShape()
                    + " for an output of shape " + out.getShape());
        }
        JniUtils.backward(out, gradient, false, false);
    }
}

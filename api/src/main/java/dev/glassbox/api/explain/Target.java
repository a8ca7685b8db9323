package dev.glassbox.api.explain;

/** Which output an explanation explains. */
public sealed interface Target {

    /** The class the model predicts for each item (its largest logit). */
    record Predicted() implements Target {
    }

    /**
     * Given class indices: one for the whole batch, or one per batch item.
     */
    record Classes(int[] indices) implements Target {
        public Classes {
            if (indices.length == 0) {
                throw new IllegalArgumentException("at least one class index");
            }
            indices = indices.clone();
        }

        @Override
        public int[] indices() {
            return indices.clone();
        }
    }

    /**
     * One neuron of a named node's output: {@code index} counts the values of one item in
     * row-major order (for a feature map {@code [C, H, W]}: {@code (c * H + h) * W + w}).
     * Explaining an intermediate feature: the explanation starts at that value, not at the logits.
     */
    record Neuron(String node, int index) implements Target {
        public Neuron {
            if (node == null || node.isBlank() || index < 0) {
                throw new IllegalArgumentException("a neuron target needs a node name and an index >= 0");
            }
        }
    }

    /**
     * One channel (axis 1) of a named node's output, explained as the sum of its values for
     * each item.
     */
    record Channel(String node, int channel) implements Target {
        public Channel {
            if (node == null || node.isBlank() || channel < 0) {
                throw new IllegalArgumentException("a channel target needs a node name and a channel >= 0");
            }
        }
    }

    static Target predicted() {
        return new Predicted();
    }

    static Target classes(int... indices) {
        return new Classes(indices);
    }
}

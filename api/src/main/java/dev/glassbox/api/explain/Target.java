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

    static Target predicted() {
        return new Predicted();
    }

    static Target classes(int... indices) {
        return new Classes(indices);
    }
}

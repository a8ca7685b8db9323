package dev.glassbox.explainer.actmax;

/**
 * The covariance of real examples as a preconditioner: {@code g -> C g} with
 * {@code C = Xc^T Xc / (N - 1)}, where {@code Xc} are the examples minus their mean. A step along
 * {@code C g} is a gradient step in the whitened coordinates {@code z} of a Gaussian model of the
 * data, {@code x = mean + C^(1/2) z}: the image moves along the directions in which real examples
 * vary, in proportion to how much they vary, and not at all where they never do (a background
 * that is always dark stays dark). {@code C} is never formed: two products with {@code Xc} cost
 * {@code 2 N D} per item, whatever the image size.
 */
final class DataCovariance {
    private final float[] centered;
    private final int count;
    private final int per;

    private DataCovariance(float[] centered, int count, int per) {
        this.centered = centered;
        this.count = count;
        this.per = per;
    }

    /**
     * The covariance of the examples {@code chosen} of {@code examples} ({@code per} values each)
     * about {@code mean}, or {@code null} when they do not vary (fewer than two, or all equal):
     * then there is nothing to step along.
     */
    static DataCovariance of(float[] examples, int[] chosen, int per, double[] mean) {
        if (chosen.length < 2) {
            return null;
        }
        float[] c = new float[chosen.length * per];
        boolean varies = false;
        for (int k = 0; k < chosen.length; k++) {
            for (int j = 0; j < per; j++) {
                float v = (float) (examples[chosen[k] * per + j] - mean[j]);
                c[k * per + j] = v;
                varies |= v != 0;
            }
        }
        return varies ? new DataCovariance(c, chosen.length, per) : null;
    }

    /** Replaces {@code g[off, off + per)} by {@code C g}. */
    void precondition(float[] g, int off) {
        double[] acc = new double[per];
        for (int k = 0; k < count; k++) {
            int row = k * per;
            double dot = 0;
            for (int j = 0; j < per; j++) {
                dot += (double) centered[row + j] * g[off + j];
            }
            for (int j = 0; j < per; j++) {
                acc[j] += dot * centered[row + j];
            }
        }
        double scale = 1.0 / (count - 1);
        for (int j = 0; j < per; j++) {
            g[off + j] = (float) (acc[j] * scale);
        }
    }
}

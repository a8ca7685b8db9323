package dev.glassbox.explainer.actmax;

/**
 * The covariance of real examples as a preconditioner: {@code g -> C g} with
 * {@code C = Xc^T Xc / (N - 1)}, where {@code Xc} are the examples minus their mean. A step along
 * {@code C g} is a gradient step in the whitened coordinates {@code z} of a Gaussian model of the
 * data, {@code x = mean + C^(1/2) z}: the image moves along the directions in which real examples
 * vary, in proportion to how much they vary, and not at all where they never do (a background
 * that is always dark stays dark). Neither {@code C} nor {@code Xc} is formed: the examples are
 * read in place (shared by every item of a request), and the two products cost {@code 2 N D}
 * per item, whatever the image size.
 */
final class DataCovariance {
    private final float[] examples;
    private final int[] chosen;
    private final int per;
    private final float[] mean;

    private DataCovariance(float[] examples, int[] chosen, int per, float[] mean) {
        this.examples = examples;
        this.chosen = chosen;
        this.per = per;
        this.mean = mean;
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
        float[] m = new float[per];
        for (int j = 0; j < per; j++) {
            m[j] = (float) mean[j];
        }
        for (int k : chosen) {
            for (int j = 0; j < per; j++) {
                if (examples[k * per + j] - m[j] != 0) {
                    return new DataCovariance(examples, chosen, per, m);
                }
            }
        }
        return null;
    }

    /** Replaces {@code g[off, off + per)} by {@code C g}. */
    void precondition(float[] g, int off) {
        double[] acc = new double[per];
        for (int k : chosen) {
            int row = k * per;
            double dot = 0;
            for (int j = 0; j < per; j++) {
                dot += (double) (examples[row + j] - mean[j]) * g[off + j];
            }
            for (int j = 0; j < per; j++) {
                acc[j] += dot * (examples[row + j] - mean[j]);
            }
        }
        double scale = 1.0 / (chosen.length - 1);
        for (int j = 0; j < per; j++) {
            g[off + j] = (float) (acc[j] * scale);
        }
    }
}

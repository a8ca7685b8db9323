package dev.glassbox.explainer.actmax;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The "regularize toward the data" prior of one request, per item: the mean that
 * {@code --data-weight} pulls the image back to and, from real examples that vary, their
 * covariance, along which the image then moves. With {@code --prior-top K} an item's prior is
 * made of the K examples that score highest on that item's objective, as Nguyen et al.
 * (Multifaceted Feature Visualization, 2016) start from the mean of the training images that
 * activate a unit most: the image starts among the data that the unit responds to, rather than
 * at the mean of everything.
 *
 * @param mean       each item's prior mean, {@code [N, ...item]} flat
 * @param covariance each item's covariance preconditioner; an entry is null when its examples do not vary
 */
record DataPrior(float[] mean, DataCovariance[] covariance) {

    /** Scores examples: the objective of each item's target on each example, {@code [items][examples]}. */
    @FunctionalInterface
    interface Scorer {
        double[][] scores(float[] examples, int count);
    }

    /** The prior that {@code s} names for a batch of {@code shape} starting at {@code start}. */
    static DataPrior of(ActivationMaximizationExplainer.Settings s, float[] start, Shape shape, Scorer scorer) {
        int n = shape.dim(0);
        if (s.prior().equals("start")) {
            return new DataPrior(start.clone(), new DataCovariance[n]);
        }
        Shape item = shape.withoutBatch();
        HostTensor examples = read(s.prior(), item);
        int count = examples.shape().equals(item) ? 1 : examples.shape().dim(0);
        int per = item.size();
        float[] e = examples.data();
        int top = s.priorTop() == 0 ? count : Math.min(s.priorTop(), count);
        double[][] scores = top < count ? scorer.scores(e, count) : null;
        float[] mean = new float[shape.size()];
        DataCovariance[] covariance = new DataCovariance[n];
        int[] all = IntStream.range(0, count).toArray();
        for (int i = 0; i < n; i++) {
            int[] chosen = scores == null ? all : best(scores[i], top);
            double[] m = new double[per];
            for (int k : chosen) {
                for (int j = 0; j < per; j++) {
                    m[j] += e[k * per + j];
                }
            }
            for (int j = 0; j < per; j++) {
                m[j] /= chosen.length;
                mean[i * per + j] = (float) m[j];
            }
            if (s.covariance()) {
                // without a ranking every item has the same examples: one covariance serves all
                covariance[i] = scores == null && i > 0 ? covariance[0] : DataCovariance.of(e, chosen, per, m);
            }
        }
        return new DataPrior(mean, covariance);
    }

    /** The indices of the {@code k} highest scores, highest first (ties, -0 and +0 too: the earlier example; NaN last). */
    static int[] best(double[] scores, int k) {
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(j -> -rankKey(scores[j])).thenComparingInt(j -> j))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    /** {@code v} with -0 as +0 and NaN below everything, so that equal numbers rank as equals. */
    private static double rankKey(double v) {
        return Double.isNaN(v) ? Double.NEGATIVE_INFINITY : v + 0.0;
    }

    /** The examples of a .npy: one item, or a batch of items. */
    private static HostTensor read(String spec, Shape item) {
        HostTensor examples;
        try {
            examples = Npy.read(Path.of(spec));
        } catch (RuntimeException e) {
            throw new InvalidOptionException("cannot read the prior: " + e.getMessage(), "--prior " + spec);
        }
        Shape es = examples.shape();
        boolean batch = es.rank() == item.rank() + 1 && es.withoutBatch().equals(item) && es.dim(0) > 0;
        if (!es.equals(item) && !batch) {
            throw new InvalidOptionException("prior shape " + es + " matches neither the input item " + item
                    + " nor a batch of items", "--prior " + spec);
        }
        return examples;
    }
}

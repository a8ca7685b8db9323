package dev.glassbox.launcher;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.service.ProgressListener;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * Pixel flipping (Bach et al. 2015; Samek et al. 2017): removes the input's features (sets them
 * to a baseline) in order of decreasing relevance, {@code steps} steps up to a {@code fraction}
 * of all features, and records the target logit after each step; the same in random orders
 * for comparison. A good explanation makes the logit fall fast, so the area over its curve is
 * large.
 *
 * <p>Definitions:
 * <ul>
 *   <li>a feature is one pixel position of an image item {@code [C, H, W]} (or {@code [H, W]})
 *       with all its channels, or a {@code patch x patch} region of positions (region flipping;
 *       the last row and column of regions may be smaller); for items without two image axes,
 *       one element. A feature's relevance is the sum over its elements;</li>
 *   <li>after step {@code k} (0..steps), the {@code round(fraction * F * k / steps)} most
 *       relevant of the {@code F} features are removed; ties keep feature order (row-major);</li>
 *   <li>{@code curve[k]} is the target logit after step {@code k}, averaged over the inputs
 *       ({@code curve[0]} is the unperturbed input); random orders are averaged over inputs and
 *       seeds;</li>
 *   <li>AOPC = {@code mean over k = 0..steps of (curve[0] - curve[k])} (Samek et al. 2017,
 *       eq. 12, with the mean over inputs taken first, which is the same).</li>
 * </ul>
 */
final class PixelFlipping {

    /** Model evaluations per prediction call. */
    static final int BATCH = 256;

    private PixelFlipping() {
    }

    /**
     * @param steps    removal steps after the unperturbed input
     * @param patch    side of the square regions removed together (1: pixels)
     * @param fraction fraction of all features removed by the last step
     * @param baseline what removed elements become: {@code zero}, {@code mean} (each item's mean per
     *                 channel) or a number
     * @param orders   random orders (seeds {@code seed, seed + 1, ...}) for the baseline curve
     * @param seed     first seed of the random orders
     */
    record Settings(int steps, int patch, double fraction, String baseline, int orders, long seed) {
        Settings {
            if (steps < 1) {
                throw new InvalidOptionException("must be at least 1, got " + steps, "--flip-steps");
            }
            if (patch < 1) {
                throw new InvalidOptionException("must be at least 1, got " + patch, "--patch");
            }
            if (!(fraction > 0 && fraction <= 1)) {
                throw new InvalidOptionException("must be in (0, 1], got " + fraction, "--fraction");
            }
            if (orders < 1) {
                throw new InvalidOptionException("must be at least 1, got " + orders, "--random-orders");
            }
            baselineValue(baseline); // checks the text
        }
    }

    /**
     * The curves and their areas.
     *
     * @param removed      features removed after each step, {@code [steps + 1]}
     * @param features     features per item
     * @param curvesRandom the random curve of each seed (mean over inputs)
     */
    record Result(int inputs, int steps, int[] removed, int features, double[] curve, double[] curveRandom,
                  double[][] curvesRandom, double aopc, double aopcRandom) {
    }

    /** The element indices of each feature of an item. */
    static int[][] features(Shape item, int patch) {
        if (item.rank() < 2) {
            if (patch != 1) {
                throw new InvalidOptionException("region flipping needs image inputs [.., H, W], the model's items are "
                        + item, "--patch");
            }
            int[][] out = new int[item.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = new int[] {i};
            }
            return out;
        }
        int h = item.dim(-2);
        int w = item.dim(-1);
        int planes = item.size() / Math.max(1, h * w);
        int rows = (h + patch - 1) / patch;
        int cols = (w + patch - 1) / patch;
        int[][] out = new int[rows * cols][];
        for (int ry = 0; ry < rows; ry++) {
            for (int rx = 0; rx < cols; rx++) {
                int y1 = Math.min(h, (ry + 1) * patch);
                int x1 = Math.min(w, (rx + 1) * patch);
                int[] idx = new int[planes * (y1 - ry * patch) * (x1 - rx * patch)];
                int k = 0;
                for (int p = 0; p < planes; p++) {
                    for (int y = ry * patch; y < y1; y++) {
                        for (int x = rx * patch; x < x1; x++) {
                            idx[k++] = p * h * w + y * w + x;
                        }
                    }
                }
                out[ry * cols + rx] = idx;
            }
        }
        return out;
    }

    /** Each feature's relevance: the sum over its elements of item {@code r[off ..]}. */
    static double[] relevance(float[] r, int off, int[][] features) {
        double[] out = new double[features.length];
        for (int f = 0; f < features.length; f++) {
            double s = 0;
            for (int e : features[f]) {
                s += r[off + e];
            }
            out[f] = Double.isNaN(s) ? Double.NEGATIVE_INFINITY : s;
        }
        return out;
    }

    /** Feature indices by decreasing relevance; equal relevance keeps index order. */
    static int[] order(double[] relevance) {
        Integer[] idx = new Integer[relevance.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Double.compare(relevance[b], relevance[a])); // stable
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    /** A uniformly random order of {@code n} features (Fisher-Yates), the same for the same seed. */
    static int[] randomOrder(int n, long seed) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = i;
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
        return out;
    }

    /** Features removed after step {@code k}. */
    static int removedAt(int k, int steps, int features, double fraction) {
        return (int) Math.round(fraction * features * k / (double) steps);
    }

    /** {@code NaN} for the per-item mean, else the constant; an error naming --flip-baseline otherwise. */
    static double baselineValue(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("zero")) {
            return 0;
        }
        if (s.equals("mean")) {
            return Double.NaN;
        }
        try {
            double v = Double.parseDouble(s);
            if (Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new InvalidOptionException("expected zero, mean or a number, got '" + spec + "'", "--flip-baseline");
    }

    /** The values removed elements of item {@code x[off ..]} take. */
    static float[] baseline(String spec, float[] x, int off, Shape item) {
        double v = baselineValue(spec);
        float[] out = new float[item.size()];
        if (!Double.isNaN(v)) {
            Arrays.fill(out, (float) v);
            return out;
        }
        int planeSize = item.rank() >= 2 ? item.dim(-2) * item.dim(-1) : item.size();
        for (int p = 0; p < item.size() / planeSize; p++) {
            double s = 0;
            for (int j = 0; j < planeSize; j++) {
                s += x[off + p * planeSize + j];
            }
            Arrays.fill(out, p * planeSize, (p + 1) * planeSize, (float) (s / planeSize));
        }
        return out;
    }

    /** One sequence of perturbations: an item removed in one order. */
    private record Sequence(int item, int[] order, int series) {
    }

    /**
     * Runs pixel flipping.
     *
     * @param logits     the model: a batch {@code [B, ...item]} to its logits {@code [B, classes]}
     * @param x          the inputs {@code [N, ...item]}
     * @param relevance  their explanations, shaped like {@code x}
     * @param targets    the class whose logit is recorded, per item
     */
    static Result run(UnaryOperator<HostTensor> logits, HostTensor x, HostTensor relevance, int[] targets, Settings s,
                      ProgressListener progress) {
        Shape shape = x.shape();
        if (!relevance.shape().equals(shape)) {
            throw new IllegalArgumentException("relevance " + relevance.shape() + " for inputs " + shape);
        }
        int n = shape.dim(0);
        Shape item = shape.withoutBatch();
        int per = item.size();
        int[][] features = features(item, s.patch());
        int[] removed = new int[s.steps() + 1];
        for (int k = 0; k <= s.steps(); k++) {
            removed[k] = removedAt(k, s.steps(), features.length, s.fraction());
        }
        // series 0: by relevance; series 1 + j: random order of seed + j (its own order per item)
        List<Sequence> sequences = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sequences.add(new Sequence(i, order(relevance(relevance.data(), i * per, features)), 0));
            for (int j = 0; j < s.orders(); j++) {
                sequences.add(new Sequence(i, randomOrder(features.length, mix(s.seed() + j, i)), 1 + j));
            }
        }
        double[][] sums = new double[1 + s.orders()][s.steps() + 1];
        long total = (long) sequences.size() * (s.steps() + 1);
        long done = 0;
        float[] batch = new float[BATCH * per];
        int[] rowSeries = new int[BATCH];
        int[] rowStep = new int[BATCH];
        int[] rowTarget = new int[BATCH];
        int rows = 0;
        float[] xs = x.data();
        for (Sequence q : sequences) {
            float[] current = Arrays.copyOfRange(xs, q.item() * per, (q.item() + 1) * per);
            float[] base = baseline(s.baseline(), xs, q.item() * per, item);
            for (int k = 0; k <= s.steps(); k++) {
                for (int f = k == 0 ? 0 : removed[k - 1]; f < removed[k]; f++) {
                    for (int e : features[q.order()[f]]) {
                        current[e] = base[e];
                    }
                }
                System.arraycopy(current, 0, batch, rows * per, per);
                rowSeries[rows] = q.series();
                rowStep[rows] = k;
                rowTarget[rows] = targets[q.item()];
                rows++;
                if (rows == BATCH) {
                    evaluate(logits, batch, rows, item, rowSeries, rowStep, rowTarget, sums);
                    done += rows;
                    rows = 0;
                    progress.progress(done, total);
                }
            }
        }
        if (rows > 0) {
            evaluate(logits, batch, rows, item, rowSeries, rowStep, rowTarget, sums);
            done += rows;
            progress.progress(done, total);
        }
        double[] curve = new double[s.steps() + 1];
        double[] curveRandom = new double[s.steps() + 1];
        double[][] curvesRandom = new double[s.orders()][s.steps() + 1];
        for (int k = 0; k <= s.steps(); k++) {
            curve[k] = sums[0][k] / n;
            for (int j = 0; j < s.orders(); j++) {
                curvesRandom[j][k] = sums[1 + j][k] / n;
                curveRandom[k] += sums[1 + j][k] / ((double) n * s.orders());
            }
        }
        return new Result(n, s.steps(), removed, features.length, curve, curveRandom, curvesRandom, aopc(curve),
                aopc(curveRandom));
    }

    /** Area over the perturbation curve: {@code mean over k of (curve[0] - curve[k])}. */
    static double aopc(double[] curve) {
        double s = 0;
        for (double v : curve) {
            s += curve[0] - v;
        }
        return s / curve.length;
    }

    private static void evaluate(UnaryOperator<HostTensor> logits, float[] batch, int rows, Shape item, int[] series,
                                 int[] step, int[] target, double[][] sums) {
        float[] data = rows * item.size() == batch.length ? batch : Arrays.copyOf(batch, rows * item.size());
        HostTensor y = logits.apply(HostTensor.wrap(item.withBatch(rows), data));
        int k = y.shape().size() / rows;
        for (int r = 0; r < rows; r++) {
            sums[series[r]][step[r]] += y.data()[r * k + target[r]];
        }
    }

    /** A seed for item {@code i} of seed {@code seed}: different items get independent orders. */
    private static long mix(long seed, int i) {
        return seed * 0x9E37_79B9_7F4A_7C15L + i;
    }

    /** The result as the one-line JSON object of docs/cli.md, then the settings. */
    static String json(String model, String method, Result r, Settings s) {
        StringBuilder b = new StringBuilder("{");
        b.append("\"model\":").append(Json.string(model))
                .append(",\"method\":").append(Json.string(method))
                .append(",\"inputs\":").append(r.inputs())
                .append(",\"steps\":").append(r.steps())
                .append(",\"aopc\":").append(Json.number(r.aopc()))
                .append(",\"aopc_random\":").append(Json.number(r.aopcRandom()))
                .append(",\"curve\":").append(Json.numbers(r.curve()))
                .append(",\"curve_random\":").append(Json.numbers(r.curveRandom()))
                .append(",\"removed\":").append(Arrays.toString(r.removed()).replace(" ", ""))
                .append(",\"features\":").append(r.features())
                .append(",\"patch\":").append(s.patch())
                .append(",\"fraction\":").append(Json.number(s.fraction()))
                .append(",\"baseline\":").append(Json.string(s.baseline()))
                .append(",\"random_orders\":").append(s.orders())
                .append(",\"random_seed\":").append(s.seed())
                .append('}');
        return b.toString();
    }
}

package dev.glassbox.explainer.actmax;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.osgi.service.component.annotations.Component;

/**
 * Activation maximization (Erhan et al. 2009; Simonyan et al. 2014; Olah et al. 2017): the
 * request's input is the starting image, and the result is that image after {@code --steps}
 * steps of gradient ascent on a class logit, a neuron or a channel's mean, with the regularizers
 * and priors the options switch on. Each item of the batch is optimized for its own target.
 *
 * <p>One step: take random views of the image (jitter and zoom), run the model forward and
 * back through the shared propagator from the objective's value, take the gradient back from
 * the views and average it, scale it to unit RMS (so that the regularizers' weights mean the
 * same whatever the objective's scale), add the regularizers' descent directions (L2 decay,
 * total variation, distance to the data prior), precondition the sum (by the covariance of the
 * prior's real examples, see {@link DataPrior}, or else the decorrelated Fourier
 * parameterization), and move the image by {@code --step-size} times that direction scaled to
 * unit RMS; then blur (every k steps) and clip. The step size falls linearly to a tenth of its
 * value over the run.
 *
 * <p>A step depends only on the image before it, the options and the step number (its random
 * draws come from {@code --seed} and the step number), so a run is deterministic, and a run split
 * into requests with {@code --from-step}/{@code --to-step} gives exactly the same image.
 */
@Component(service = Explainer.class)
public final class ActivationMaximizationExplainer implements Explainer {

    public static final String ID = "actmax";

    static final Option.IntOption STEPS = new Option.IntOption("steps",
            "gradient ascent steps of the whole run", 256, 1, 1_000_000);
    static final Option.DoubleOption STEP_SIZE = new Option.DoubleOption("step-size",
            "RMS change of the image per step at the start of the run (falls linearly to a tenth)", 0.05, 0.0, 1e6);
    static final Option.IntOption SEED = new Option.IntOption("seed",
            "random seed of the initial noise, jitter and zoom", 0, Integer.MIN_VALUE, Integer.MAX_VALUE);
    static final Option.TextOption NODE = new Option.TextOption("node",
            "node (or value) name whose --neuron or --channel is maximized; empty: the class logits", "");
    static final Option.IntOption NEURON = new Option.IntOption("neuron",
            "neuron of --node to maximize: flat row-major index within one item (-1: none)", -1, -1, Integer.MAX_VALUE);
    static final Option.IntOption CHANNEL = new Option.IntOption("channel",
            "channel (axis 1) of --node whose mean activation is maximized (-1: none)", -1, -1, Integer.MAX_VALUE);
    static final Option.TextOption OBJECTIVE = new Option.TextOption("objective",
            "for classes: 'logit' (the target's logit) or 'log-softmax' (its log-probability)", "logit");
    static final Option.DoubleOption NOISE = new Option.DoubleOption("noise",
            "standard deviation of Gaussian noise added to the start image before the first step", 0.1, 0.0, 1e6);
    static final Option.DoubleOption L2 = new Option.DoubleOption("l2",
            "L2 decay: weight of the penalty |x|^2 / 2", 0.0, 0.0, 1e9);
    static final Option.DoubleOption TV = new Option.DoubleOption("tv",
            "weight of the total variation penalty sum of squared neighbour differences", 0.0, 0.0, 1e9);
    static final Option.IntOption JITTER = new Option.IntOption("jitter",
            "random shift of up to this many pixels (each axis) before each step", 2, 0, 1_000_000);
    static final Option.IntOption VIEWS = new Option.IntOption("views",
            "random views (jitter and zoom) per item and step whose gradients are averaged", 1, 1, 1024);
    static final Option.DoubleOption ZOOM = new Option.DoubleOption("zoom",
            "random scaling by a factor in [1 - z, 1 + z] before each step", 0.1, 0.0, 0.9);
    static final Option.IntOption BLUR_EVERY = new Option.IntOption("blur-every",
            "blur the image every k steps (0: never)", 8, 0, 1_000_000);
    static final Option.DoubleOption BLUR = new Option.DoubleOption("blur",
            "standard deviation in pixels of the Gaussian blur", 0.5, 0.0, 1e3);
    static final Option.TextOption CLIP = new Option.TextOption("clip",
            "'on': clip to [--low, --high] after every step; 'off': no clipping", "on");
    static final Option.DoubleOption LOW = new Option.DoubleOption("low",
            "lowest valid input value", 0.0, -1e30, 1e30);
    static final Option.DoubleOption HIGH = new Option.DoubleOption("high",
            "highest valid input value", 1.0, -1e30, 1e30);
    static final Option.DoubleOption DECORRELATE = new Option.DoubleOption("decorrelate",
            "decay d of the Fourier-space parameterization, frequencies scaled by 1/|f|^d (0: pixel space)", 0.5, 0.0, 4.0);
    static final Option.DoubleOption DATA_WEIGHT = new Option.DoubleOption("data-weight",
            "weight of the penalty |x - prior|^2 / 2 that keeps the image near the data prior", 1.5, 0.0, 1e9);
    static final Option.TextOption PRIOR = new Option.TextOption("prior",
            "the data prior: 'start' (the start image) or a .npy of real examples (their mean and covariance)", "start");
    static final Option.IntOption PRIOR_TOP = new Option.IntOption("prior-top",
            "with a .npy prior: for each item, only the K examples that score highest on its objective (0: all)", 50,
            0, Integer.MAX_VALUE);
    static final Option.TextOption COVARIANCE = new Option.TextOption("covariance",
            "'on': step along the covariance of the prior's examples (where they vary) instead of the Fourier basis;"
                    + " 'off': never", "on");
    static final Option.TextOption INIT = new Option.TextOption("init",
            "where step 0 starts: 'input' (the request's input) or 'prior' (each item's data prior mean)", "input");
    static final Option.IntOption FROM_STEP = new Option.IntOption("from-step",
            "first step to run, to resume a run in parts (the initial noise is added at step 0 only)", 0, 0,
            1_000_000);
    static final Option.IntOption TO_STEP = new Option.IntOption("to-step",
            "step to stop before (0: --steps)", 0, 0, 1_000_000);

    private static final List<Option<?>> OPTIONS = List.of(STEPS, STEP_SIZE, SEED, NODE, NEURON, CHANNEL, OBJECTIVE,
            NOISE, L2, TV, JITTER, ZOOM, VIEWS, BLUR_EVERY, BLUR, CLIP, LOW, HIGH, DECORRELATE, DATA_WEIGHT, PRIOR, PRIOR_TOP,
            COVARIANCE, INIT, FROM_STEP, TO_STEP);

    /** Spatial options, which need items with (at least) two image axes. */
    private static final List<Option<?>> SPATIAL = List.of(TV, JITTER, ZOOM, VIEWS, BLUR_EVERY, DECORRELATE);

    /** The parts of a split run share their prior's reading and ranking. */
    private final PriorCache priors = new PriorCache();

    @Override
    public String id() {
        return ID;
    }

    @Override
    public String description() {
        return "activation maximization: the input that maximizes a class logit, neuron or channel (returns the image)";
    }

    @Override
    public List<Option<?>> options() {
        return OPTIONS;
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        Options o = request.options();
        Settings s = Settings.of(o, request.input().shape());
        Objective objective = Objective.resolve(ctx.model().graph(), o.get(NODE), o.get(NEURON), o.get(CHANNEL),
                o.get(OBJECTIVE).trim());
        objective.check(ctx.trace().value(objective.value()).shape());
        return new Run(ctx, request, s, objective, priors).run();
    }

    /** The checked option values of one request. */
    record Settings(int steps, int from, int to, double stepSize, long seed, double noise, double l2, double tv,
                    int jitter, double zoom, int views, int blurEvery, double blur, boolean clip, float low, float high,
                    double decorrelate, double dataWeight, String prior, int priorTop, boolean covariance,
                    boolean initAtPrior, ImageOps.Layout layout) {

        static Settings of(Options o, Shape batch) {
            int steps = o.get(STEPS);
            int from = o.get(FROM_STEP);
            int to = o.get(TO_STEP) == 0 ? steps : o.get(TO_STEP);
            if (to > steps) {
                throw new InvalidOptionException("must be at most --steps " + steps + ", got " + to, "--to-step");
            }
            if (from > to) {
                throw new InvalidOptionException("must be at most the last step " + to + ", got " + from, "--from-step");
            }
            double low = o.get(LOW);
            double high = o.get(HIGH);
            if (!(low < high)) {
                throw new InvalidOptionException("--low " + low + " must be below --high " + high, "--high");
            }
            boolean clip = onOff(o.get(CLIP), "--clip");
            boolean covariance = onOff(o.get(COVARIANCE), "--covariance");
            String init = o.get(INIT).trim();
            if (!init.equals("input") && !init.equals("prior")) {
                throw new InvalidOptionException("expected 'input' or 'prior', got '" + init + "'", "--init");
            }
            ImageOps.Layout layout = ImageOps.Layout.of(batch.withoutBatch());
            boolean image = layout != null;
            if (!image) {
                for (Option<?> spatial : SPATIAL) {
                    if (o.isSet(spatial) && !spatial.defaultValue().equals(o.get(spatial)) && !(((Number) o.get(spatial)).doubleValue() == 0)) {
                        throw new InvalidOptionException("needs inputs with image axes [.., H, W], the model's items are "
                                + batch.withoutBatch(), "--" + spatial.name());
                    }
                }
            }
            return new Settings(steps, from, to, o.get(STEP_SIZE), o.get(SEED), o.get(NOISE), o.get(L2),
                    image ? o.get(TV) : 0, image ? o.get(JITTER) : 0, image ? o.get(ZOOM) : 0, image ? o.get(VIEWS) : 1,
                    image ? o.get(BLUR_EVERY) : 0, o.get(BLUR), clip, (float) low, (float) high,
                    image ? o.get(DECORRELATE) : 0, o.get(DATA_WEIGHT), o.get(PRIOR).trim(), o.get(PRIOR_TOP), covariance,
                    init.equals("prior"), layout);
        }

        private static boolean onOff(String value, String option) {
            return switch (value.trim()) {
                case "on" -> true;
                case "off" -> false;
                default -> throw new InvalidOptionException("expected 'on' or 'off', got '" + value.trim() + "'", option);
            };
        }

        /** The step size of step {@code t}: linear from {@code stepSize} to a tenth of it. */
        double stepSizeAt(int t) {
            double progress = steps <= 1 ? 0 : t / (double) (steps - 1);
            return stepSize * (1 - 0.9 * progress);
        }
    }

    /** The random draws of step {@code step} (the initial noise uses step -1). */
    static SplittableRandom random(long seed, int step) {
        return new SplittableRandom(seed << 32 ^ (step & 0xFFFF_FFFFL) ^ 0x5DEE_CE66_DL);
    }

    /** One request's optimization. */
    private static final class Run {
        private final ExplainContext ctx;
        private final Settings s;
        private final Objective objective;
        private final int[] targets;
        private final Shape shape;
        private final int n;
        private final int per;
        private final float[] x;
        /** Each item's data prior mean, or null when --data-weight is 0. */
        private final float[] prior;
        /** Each item's covariance preconditioner, or null (then the Fourier basis, if any). */
        private final DataCovariance[] covariance;
        private final FourierBasis basis;

        Run(ExplainContext ctx, ExplainRequest request, Settings s, Objective objective, PriorCache priors) {
            this.ctx = ctx;
            this.s = s;
            this.objective = objective;
            this.targets = request.targets();
            this.shape = request.input().shape();
            this.n = shape.dim(0);
            this.per = shape.size() / n;
            this.x = request.input().data().clone();
            // only what uses the prior reads (and ranks) its examples
            boolean used = s.dataWeight() > 0 || s.covariance() || (s.initAtPrior() && s.from() == 0);
            DataPrior p = used ? priors.get(s, x, shape, ctx.model(), objective, targets, this::scores) : null;
            this.prior = s.dataWeight() > 0 ? p.mean() : null;
            this.covariance = p != null ? p.covariance() : new DataCovariance[n];
            if (s.initAtPrior() && s.from() == 0) {
                System.arraycopy(p.mean(), 0, x, 0, x.length);
            }
            this.basis = s.decorrelate() > 0
                    ? new FourierBasis(s.layout().height(), s.layout().width(), s.decorrelate()) : null;
        }

        HostTensor run() {
            if (s.from() == 0 && s.noise() > 0) {
                SplittableRandom r = random(s.seed(), -1);
                for (int i = 0; i < x.length; i++) {
                    x[i] += (float) (s.noise() * r.nextGaussian());
                }
            }
            clip();
            float[] d = new float[x.length];
            int total = s.to() - s.from();
            for (int t = s.from(); t < s.to(); t++) {
                ctx.checkDeadline();
                SplittableRandom r = random(s.seed(), t);
                int v = s.views();
                ImageOps.Warp[] warps = new ImageOps.Warp[n * v];
                boolean warped = false;
                for (int k = 0; k < n * v; k++) {
                    int dy = s.jitter() > 0 ? r.nextInt(-s.jitter(), s.jitter() + 1) : 0;
                    int dx = s.jitter() > 0 ? r.nextInt(-s.jitter(), s.jitter() + 1) : 0;
                    double zoom = s.zoom() > 0 ? 1 + s.zoom() * (2 * r.nextDouble() - 1) : 1;
                    warps[k] = new ImageOps.Warp(zoom, dy, dx);
                    warped |= !warps[k].identity();
                }
                if (warped || v > 1) {
                    // view k of item i is batch item k * n + i, so targets repeat per view
                    float[] views = new float[x.length * v];
                    for (int k = 0; k < n * v; k++) {
                        warps[k].apply(x, (k % n) * per, views, k * per, s.layout());
                    }
                    float[] g = gradient(views, v);
                    Arrays.fill(d, 0f);
                    float[] back = new float[per];
                    for (int k = 0; k < n * v; k++) {
                        warps[k].adjoint(g, k * per, back, 0, s.layout());
                        int off = (k % n) * per;
                        for (int j = 0; j < per; j++) {
                            d[off + j] += back[j] / v;
                        }
                    }
                } else {
                    System.arraycopy(gradient(x, 1), 0, d, 0, d.length);
                }
                // the objective's gradient at unit RMS per item: the regularizers' weights mean the same for
                // a logit, a neuron or a channel, whatever the scale of its gradient
                for (int i = 0; i < n; i++) {
                    scaleToUnitRms(d, i * per, per);
                }
                regularize(d);
                double size = s.stepSizeAt(t);
                for (int i = 0; i < n; i++) {
                    int off = i * per;
                    if (covariance[i] != null) {
                        covariance[i].precondition(d, off);
                    } else if (basis != null) {
                        basis.precondition(d, off, s.layout().planes());
                    }
                    scaleToUnitRms(d, off, per);
                    for (int j = 0; j < per; j++) {
                        x[off + j] += (float) size * d[off + j];
                    }
                }
                if (s.blurEvery() > 0 && (t + 1) % s.blurEvery() == 0) {
                    for (int i = 0; i < n; i++) {
                        ImageOps.blur(x, i * per, s.layout(), s.blur());
                    }
                }
                clip();
                ctx.progress(t + 1 - s.from(), total);
            }
            return HostTensor.wrap(shape, x);
        }

        /** Scales {@code v[off, off + len)} to unit root mean square; leaves zeros (and non-finite values) as they are. */
        private static void scaleToUnitRms(float[] v, int off, int len) {
            double ss = 0;
            for (int j = 0; j < len; j++) {
                ss += (double) v[off + j] * v[off + j];
            }
            double rms = Math.sqrt(ss / len);
            if (rms > 0 && Double.isFinite(rms)) {
                float k = (float) (1 / rms);
                for (int j = 0; j < len; j++) {
                    v[off + j] *= k;
                }
            }
        }

        /** The gradient of the objective (per item) with respect to {@code input}, through the propagator. */
        private float[] gradient(float[] input, int views) {
            int[] viewTargets = new int[n * views];
            for (int k = 0; k < viewTargets.length; k++) {
                viewTargets[k] = targets[k % n];
            }
            try (TensorScope scope = ctx.scope().child()) {
                var kernels = ctx.model().kernels();
                Shape batch = shape.withoutBatch().withBatch(n * views);
                Trace trace = ctx.propagator().forward(ctx.model(), kernels.upload(HostTensor.wrap(batch, input), scope),
                        scope);
                HostTensor activation = trace.value(objective.value()).toHost();
                Tensor seed = kernels.upload(objective.seed(activation, viewTargets), scope);
                Tensor grad = ctx.propagator().backward(trace, objective.value(), seed, node -> NodeRule.gradient(),
                        scope);
                return grad.toHost().data().clone();
            }
        }

        /**
         * The objective of each item's target on each of {@code count} examples: {@code [items][examples]}.
         * The examples go forward in chunks, so a large prior costs time but not memory.
         */
        private double[][] scores(float[] examples, int count) {
            double[][] out = new double[n][count];
            int chunk = 64;
            for (int first = 0; first < count; first += chunk) {
                ctx.checkDeadline();
                int m = Math.min(chunk, count - first);
                float[] part = Arrays.copyOfRange(examples, first * per, (first + m) * per);
                HostTensor activation;
                try (TensorScope scope = ctx.scope().child()) {
                    var kernels = ctx.model().kernels();
                    Trace trace = ctx.propagator().forward(ctx.model(),
                            kernels.upload(HostTensor.wrap(shape.withoutBatch().withBatch(m), part), scope), scope);
                    activation = trace.value(objective.value()).toHost();
                }
                int[] target = new int[m];
                for (int i = 0; i < n; i++) {
                    Arrays.fill(target, targets[i]);
                    System.arraycopy(objective.values(activation, target), 0, out[i], first, m);
                }
            }
            return out;
        }

        /** Adds the regularizers' descent directions to the ascent direction {@code d}. */
        private void regularize(float[] d) {
            if (s.l2() > 0) {
                float k = (float) s.l2();
                for (int j = 0; j < d.length; j++) {
                    d[j] -= k * x[j];
                }
            }
            if (prior != null) {
                float k = (float) s.dataWeight();
                for (int j = 0; j < d.length; j++) {
                    d[j] -= k * (x[j] - prior[j]);
                }
            }
            if (s.tv() > 0) {
                for (int i = 0; i < n; i++) {
                    ImageOps.addTotalVariationDescent(x, i * per, d, i * per, s.layout(), s.tv());
                }
            }
        }

        private void clip() {
            if (s.clip()) {
                for (int j = 0; j < x.length; j++) {
                    x[j] = Math.clamp(x[j], s.low(), s.high());
                }
            }
        }
    }

}

package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.lrp.Rule;
import dev.glassbox.api.lrp.RuleDefaults;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;

/**
 * The LRP rules of {@code lrp-rules.md}, each "modified forward, divide, transposed backward,
 * multiply" over the backend's kernels, so they run on every backend. Conventions follow
 * Zennit: {@code stab(z, e) = z + e (sign(z) + [z == 0])}, {@code e = 1e-6} unless the rule
 * takes its own.
 */
final class Rules {
    static final float STABILIZER = 1e-6f;
    private static final float INF = Float.POSITIVE_INFINITY;

    // Elementwise chains run as one Kernels#evaluate each (one pass over memory where the backend fuses).
    private static final Elementwise IN0 = Elementwise.input(0);
    private static final Elementwise IN1 = Elementwise.input(1);
    private static final Elementwise IN2 = Elementwise.input(2);
    /** Over (R, z): {@code R / stab(z)}. */
    private static final List<Elementwise> STABILIZED_RATIO = List.of(IN0.dividedBy(IN1.stabilized(STABILIZER)));
    /**
     * Over (R, o): {@code |R - R [o > 0]|}, the relevance at the outputs that are not positive.
     * Its sum is zero only if all of it is (it cannot cancel, and a NaN or infinity makes it non-zero).
     */
    private static final Elementwise ELSEWHERE = IN0.minus(IN0.times(IN1.positiveMask())).abs();

    /** Rule names accepted in composites and {@code --rule}. */
    static final List<String> NAMES = List.of("epsilon", "zplus", "alpha-beta", "gamma", "zbox", "wsquare", "flat",
            "pass", "norm", "gradient");

    private final ModifiedParameters modified;
    private final RuleDefaults settings;
    private final Function<String, Rule> contributed;

    /**
     * @param contributed rules other bundles registered, by name (null when there is none);
     *                    asked only for names that are not built in
     */
    Rules(ModifiedParameters modified, RuleDefaults settings, Function<String, Rule> contributed) {
        this.modified = modified;
        this.settings = settings;
        this.contributed = contributed;
    }

    /** The rule {@code spec} bound to {@code node}; an error naming {@code where} if it does not fit. */
    NodeRule create(RuleSpec spec, Node node, String where) {
        return create(spec, node, where, false, false);
    }

    /**
     * As {@link #create(RuleSpec, Node, String)}, knowing whether the node's input is
     * non-negative for every model input ({@link NonNegativeValues}): then the sign-split rules
     * leave out their {@code x-} terms, which are exactly zero. And whether its output is summed
     * with another activation ({@link RelevancePropagation#summedWithActivations}): then gamma
     * does not check whether relevance arrived at positive outputs only (it will not have).
     */
    NodeRule create(RuleSpec spec, Node node, String where, boolean nonNegativeInput, boolean summedOutput) {
        return switch (spec.name()) {
            case "epsilon" -> {
                double e = param(spec, 0, settings.epsilon(), 1, where);
                requireNonNegative(spec, e, where);
                yield linear(spec, node, where, layer -> epsilonOverInputs((float) e));
            }
            case "zplus" -> noParams(spec, where, linear(spec, node, where,
                    layer -> alphaBeta(layer, 1, 0, nonNegativeInput)));
            case "alpha-beta" -> {
                double a = param(spec, 0, settings.alpha(), 2, where);
                double b = param(spec, 1, settings.beta(), 2, where);
                if (a < 0 || b < 0 || Math.abs(a - b - 1) > 1e-9) {
                    throw new InvalidOptionException("rule " + spec + " needs alpha - beta = 1 and both >= 0", where);
                }
                yield linear(spec, node, where, layer -> alphaBeta(layer, (float) a, (float) b, nonNegativeInput));
            }
            case "gamma" -> {
                double g = param(spec, 0, settings.gamma(), 1, where);
                requireNonNegative(spec, g, where);
                yield linear(spec, node, where, layer -> gamma(layer, g, nonNegativeInput, !summedOutput));
            }
            case "zbox" -> {
                double l = param(spec, 0, settings.low(), 2, where);
                double h = param(spec, 1, settings.high(), 2, where);
                if (l > h) {
                    throw new InvalidOptionException("rule " + spec + " needs low <= high", where);
                }
                yield linear(spec, node, where, layer -> zbox(layer, (float) l, (float) h));
            }
            case "wsquare" -> noParams(spec, where, linear(spec, node, where,
                    layer -> inputIndependent(layer, "wsquare", w -> w * w, b -> b * b)));
            case "flat" -> noParams(spec, where, linear(spec, node, where,
                    layer -> layer instanceof Op.Conv2d conv && conv.groups() == 1 ? flatConvolution(conv)
                            : inputIndependent(layer, "flat", w -> 1, null)));
            case "pass" -> {
                noParams(spec, where, null);
                if (node.op().arity() != 1) {
                    throw new InvalidOptionException("rule pass needs a one-input node; " + node.name() + " is "
                            + node.op().type(), where);
                }
                yield step -> List.of(step.upstream());
            }
            case "norm" -> noParams(spec, where, epsilonOverInputs(STABILIZER));
            case "gradient" -> noParams(spec, where, NodeRule.gradient());
            default -> {
                Rule rule = contributed.apply(spec.name());
                if (rule == null) {
                    throw new InvalidOptionException("unknown rule '" + spec.name() + "' (built in: "
                            + String.join(", ", NAMES) + "; or installed by a bundle)", where);
                }
                NodeRule bound = rule.bind(node, spec.params(), settings);
                if (bound == null) {
                    throw new IllegalStateException("rule " + spec.name() + " bound nothing to node " + node.name());
                }
                yield bound;
            }
        };
    }

    /**
     * {@code epsilon(e)}: {@code R_in = x * layer^T(R / stab(z, e))}, with {@code z} the node's
     * own output. Over every input of any node it is also {@code norm} for pools and sums.
     */
    private static NodeRule epsilonOverInputs(float e) {
        List<Elementwise> ratio = List.of(IN0.dividedBy(IN1.stabilized(e))); // over (R, z)
        // over (R, x1, x2): z = x1 + x2 again, bit for bit (one rounded add), instead of one more array read
        Elementwise sumShare = IN0.dividedBy(IN1.plus(IN2).stabilized(e));
        List<Elementwise> sumShares = List.of(IN1.times(sumShare), IN2.times(sumShare));
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            List<Tensor> in = step.inputs();
            if (step.node().op() instanceof Op.Add && in.get(0).shape().equals(step.output().shape())
                    && in.get(1).shape().equals(step.output().shape())) {
                // an Add without broadcasting hands s to both inputs unchanged: one pass, same arithmetic
                return k.evaluate(sumShares, List.of(step.upstream(), in.get(0), in.get(1)), sc);
            }
            Tensor s = k.evaluate(ratio, List.of(step.upstream(), step.output()), sc).get(0);
            List<Tensor> grads = k.inputGradients(step.node().op(), step.inputs(), step.output(), s, sc);
            List<Tensor> out = new ArrayList<>(grads.size());
            for (int i = 0; i < grads.size(); i++) {
                out.add(k.multiply(step.inputs().get(i), grads.get(i), sc));
            }
            return out;
        };
    }

    /**
     * {@code alpha-beta(a, b)}; {@code zplus} is {@code alpha-beta(1, 0)}. Positive
     * contributions {@code x+ W+ (+ b+)} and {@code x- W-}, negative ones {@code x+ W- (+ b-)}
     * and {@code x- W+}.
     */
    private NodeRule alphaBeta(Op.Linear layer, float a, float b, boolean nonNegativeInput) {
        // on x >= 0 every output of W+, b+ is >= 0, so its stabilizer is + e: carried by the bias
        Op.Linear pos = nonNegativeInput ? stabilized(layer, "w+b+", w -> Math.max(w, 0), v -> Math.max(v, 0))
                : modified.modify(layer, "w+b+", w -> Math.max(w, 0), v -> Math.max(v, 0));
        Op.Linear negNoBias = nonNegativeInput ? null : modified.modify(layer, "w-", w -> Math.min(w, 0), null);
        Op.Linear neg = b == 0f ? null : modified.modify(layer, "w-b-", w -> Math.min(w, 0), v -> Math.min(v, 0));
        Op.Linear posNoBias = b == 0f || nonNegativeInput ? null
                : modified.modify(layer, "w+", w -> Math.max(w, 0), null);
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Tensor x = step.inputs().get(0);
            Tensor xp = positivePart(k, x, nonNegativeInput, sc);
            Tensor xn = negativePart(k, x, nonNegativeInput, sc);
            Tensor r = step.upstream();
            Tensor relevance;
            if (nonNegativeInput) {
                Tensor z = k.forward(pos, List.of(x), sc); // >= e everywhere
                relevance = k.multiply(x, vjp(k, pos, x, z, k.divide(r, z, sc), sc), sc);
            } else {
                relevance = twoPaths(k, sc, r, xp, pos, xn, negNoBias, null);
            }
            if (a != 1f) {
                relevance = k.scale(relevance, a, sc);
            }
            if (b != 0f) {
                relevance = k.subtract(relevance, k.scale(twoPaths(k, sc, r, xp, neg, xn, posNoBias, null), b, sc), sc);
            }
            return List.of(relevance);
        };
    }

    /**
     * {@code x1 * l1^T(s) + x2 * l2^T(s)} with {@code s = mask * R / stab(l1(x1) + l2(x2))}:
     * the shape every sign-split rule shares. A null {@code x2} (the negative part of a
     * non-negative input) leaves out its path, which is exactly zero.
     */
    private static Tensor twoPaths(Kernels k, TensorScope sc, Tensor r, Tensor x1, Op.Linear l1, Tensor x2,
                                   Op.Linear l2, Tensor mask) {
        Tensor z1 = k.forward(l1, List.of(x1), sc);
        Tensor z2 = x2 == null ? null : k.forward(l2, List.of(x2), sc);
        Tensor s = k.divide(r, k.stabilize(z2 == null ? z1 : k.add(z1, z2, sc), STABILIZER, sc), sc);
        if (mask != null) {
            s = k.multiply(s, mask, sc);
        }
        Tensor c1 = k.multiply(x1, vjp(k, l1, x1, z1, s, sc), sc);
        if (x2 == null) {
            return c1;
        }
        Tensor c2 = k.multiply(x2, vjp(k, l2, x2, z2, s, sc), sc);
        return k.add(c1, c2, sc);
    }

    /** {@code x+}: {@code x} itself when it is non-negative anyway. */
    private static Tensor positivePart(Kernels k, Tensor x, boolean nonNegative, TensorScope sc) {
        return nonNegative ? x : k.clamp(x, 0f, Float.POSITIVE_INFINITY, sc);
    }

    /** {@code x-}: null (no path) when {@code x} is non-negative. */
    private static Tensor negativePart(Kernels k, Tensor x, boolean nonNegative, TensorScope sc) {
        return nonNegative ? null : k.clamp(x, Float.NEGATIVE_INFINITY, 0f, sc);
    }

    /**
     * Generalized gamma: positive outputs explained by {@code W + g W+}, negative by {@code W + g W-}.
     *
     * @param checkNegatives whether to look for relevance at negative outputs, and leave out
     *                       their part where there is none (false: compute it, zero or not)
     */
    private NodeRule gamma(Op.Linear layer, double g, boolean nonNegativeInput, boolean checkNegatives) {
        if (nonNegativeInput) {
            return gammaOnNonNegative(layer,
                    stabilized(layer, "gamma+" + g, w -> w + g * Math.max(w, 0), v -> v + g * Math.max(v, 0)),
                    stabilized(layer, "gamma delta" + g, w -> g * Math.max(w, 0), v -> g * Math.max(v, 0)), (float) g,
                    checkNegatives);
        }
        Op.Linear up = modified.modify(layer, "gamma+" + g, w -> w + g * Math.max(w, 0), v -> v + g * Math.max(v, 0));
        Op.Linear down = modified.modify(layer, "gamma-" + g, w -> w + g * Math.min(w, 0), v -> v + g * Math.min(v, 0));
        Op.Linear upNoBias = modified.modify(layer, "gamma+nb" + g, w -> w + g * Math.max(w, 0), null);
        Op.Linear downNoBias = modified.modify(layer, "gamma-nb" + g, w -> w + g * Math.min(w, 0), null);
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Tensor x = step.inputs().get(0);
            Tensor xp = positivePart(k, x, false, sc);
            Tensor xn = negativePart(k, x, false, sc);
            Tensor o = step.output();
            Tensor r = step.upstream();
            Tensor outPositive = k.positiveMask(o, sc);
            Tensor fromPositive = twoPaths(k, sc, r, xp, up, xn, downNoBias, outPositive);
            if (checkNegatives && k.sum(ELSEWHERE, List.of(r, o), sc) == 0) {
                return List.of(fromPositive); // no relevance at the other outputs
            }
            Tensor fromNegative = twoPaths(k, sc, r, xp, down, xn, upNoBias, k.positiveMask(k.scale(o, -1f, sc), sc));
            return List.of(k.add(fromPositive, fromNegative, sc));
        };
    }

    /**
     * Gamma on {@code x >= 0}. When relevance arrives only at positive outputs (a layer that
     * feeds a ReLU: relevance below it is {@code x * ...} of a zero activation), {@code sn = 0}
     * and the rule is one modified pass {@code zp = layer(x; Wg+, bg+)} and one VJP (checked by
     * one summing pass, unless {@code checkNegatives} is false). Otherwise one
     * modified pass {@code v = layer(x; g W+, g b+)} instead of two: as {@code W- = W - W+},
     * {@code zp = o + v} and {@code zn = (1 + g) o - v}, and
     * {@code Wg+^T sp + Wg-^T sn = W^T (sp + (1 + g) sn) + (g W+)^T (sp - sn)}, whose two VJPs are
     * those of the passes already made (the layer's own, which gave {@code o}, and {@code v}'s),
     * which backends that record a forward pass for its VJP answer without recomputing it.
     * Neither sum cancels: for {@code o > 0} both terms of {@code zp} are non-negative, for
     * {@code o < 0} both terms of {@code zn} are non-positive. So the stabilizer is known where
     * it counts, {@code + e} on {@code zp} and {@code - e} on {@code zn}: {@code up} and
     * {@code delta} carry {@code + e} in their bias ({@code o + (v + e)}, {@code (1 + g) o - (v + e)}),
     * and a clamp to {@code [e, inf)} or {@code (-inf, -e]} only keeps the outputs whose
     * relevance is zero away from a zero denominator.
     */
    private static NodeRule gammaOnNonNegative(Op.Linear layer, Op.Linear up, Op.Linear delta, float g,
                                               boolean checkNegatives) {
        // over (R, zp): sp = R [o > 0] / max(zp, e), where the check found R = R [o > 0], bit for bit
        List<Elementwise> positiveOnly = List.of(IN0.dividedBy(IN1.clamped(STABILIZER, INF)));
        // over (R, o, v + e): the seeds of the two VJPs, sp + (1 + g) sn and sp - sn
        Elementwise sp = IN0.times(IN1.positiveMask()).dividedBy(IN1.plus(IN2).clamped(STABILIZER, INF));
        Elementwise sn = IN0.times(IN1.scaled(-1f).positiveMask())
                .dividedBy(IN1.scaled(1 + g).minus(IN2).clamped(Float.NEGATIVE_INFINITY, -STABILIZER));
        List<Elementwise> seeds = List.of(sp.plus(sn.scaled(1 + g)), sp.minus(sn));
        // over (x, plain, extra)
        List<Elementwise> combined = List.of(IN0.times(IN1.plus(IN2)));
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Tensor x = step.inputs().get(0);
            Tensor o = step.output();
            Tensor r = step.upstream();
            if (checkNegatives && k.sum(ELSEWHERE, List.of(r, o), sc) == 0) {
                Tensor zp = k.forward(up, List.of(x), sc);
                Tensor s = k.evaluate(positiveOnly, List.of(r, zp), sc).get(0);
                return List.of(k.multiply(x, vjp(k, up, x, zp, s, sc), sc));
            }
            Tensor v = k.forward(delta, List.of(x), sc); // v + e
            List<Tensor> s = k.evaluate(seeds, List.of(r, o, v), sc);
            Tensor plain = vjp(k, layer, x, o, s.get(0), sc);
            Tensor extra = vjp(k, delta, x, v, s.get(1), sc);
            return k.evaluate(combined, List.of(x, plain, extra), sc);
        };
    }

    /**
     * {@code layer} with {@code f} on its weights and {@code g} on its bias, plus the stabilizer
     * {@code e} on the bias (a bias of {@code e} where the layer has none): for a modified layer
     * whose outputs are known to be {@code >= 0} where they count, its output is already
     * {@code stab(z) = z + e} there, without a pass of its own.
     */
    private Op.Linear stabilized(Op.Linear layer, String key, DoubleUnaryOperator f, DoubleUnaryOperator g) {
        return modified.derive(layer, key + " +e", () -> {
            HostTensor bias;
            if (layer.bias() != null) {
                bias = ModifiedParameters.map(layer.bias(), v -> g.applyAsDouble(v) + STABILIZER);
            } else {
                float[] e = new float[outputChannels(layer)];
                Arrays.fill(e, STABILIZER);
                bias = HostTensor.wrap(Shape.of(e.length), e);
            }
            return layer.withParameters(ModifiedParameters.map(layer.weight(), f), bias);
        });
    }

    private static int outputChannels(Op.Linear layer) {
        return switch (layer) {
            case Op.Dense d -> d.weight().shape().dim(0);
            case Op.Conv2d c -> c.weight().shape().dim(0);
            case Op.ConvTranspose2d t -> t.weight().shape().dim(1) * t.groups();
            case Op.BatchNorm b -> b.scale().shape().dim(0);
        };
    }

    /**
     * {@code zbox(l, h)}: input bounded to {@code [l, h]}, the rule for the first layer on pixels.
     * With scalar bounds, {@code layer(l; W+, b+) + layer(h; W-, b-) = layer(1; M, b)} for
     * {@code M = l W+ + h W-}, the same for every item and request ({@link #onesResponse}), and
     * {@code l W+^T s + h W-^T s = M^T s} is one VJP.
     */
    private NodeRule zbox(Op.Linear layer, float low, float high) {
        Op.Linear bounds = modified.modify(layer, "zbox " + low + " " + high,
                w -> low * Math.max(w, 0) + high * Math.min(w, 0), v -> v);
        List<Elementwise> ratio = List.of(IN0.dividedBy(IN1.minus(IN2).stabilized(STABILIZER))); // over (R, o, bounds)
        List<Elementwise> difference = List.of(IN0.times(IN1).minus(IN2)); // over (x, W^T s, M^T s)
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Tensor x = step.inputs().get(0);
            Tensor o = step.output();
            Tensor s = k.evaluate(ratio, List.of(step.upstream(), o, onesResponse(k, bounds, x.shape(), sc)), sc)
                    .get(0);
            // x W^T s - (l W+ + h W-)^T s; a linear layer's VJP is the same at every point, so
            // bounds' is taken at x, where o has the shape of its output
            return k.evaluate(difference, List.of(x, vjp(k, layer, x, o, s, sc), vjp(k, bounds, x, o, s, sc)), sc);
        };
    }

    /** {@code wsquare} and {@code flat}: {@code R_in = layer'^T(R / stab(layer'(1)))}, whatever the input. */
    private NodeRule inputIndependent(Op.Linear layer, String key, DoubleUnaryOperator w,
                                      DoubleUnaryOperator b) {
        Op.Linear mod = modified.modify(layer, key, w, b);
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Tensor x = step.inputs().get(0);
            Tensor z = onesResponse(k, mod, x.shape(), sc);
            Tensor s = k.evaluate(STABILIZED_RATIO, List.of(step.upstream(), z), sc).get(0);
            // a linear layer's VJP is the same at every point: taken at x, where o has z's shape
            return List.of(vjp(k, mod, x, step.output(), s, sc));
        };
    }

    /**
     * {@code layer(1)} for an input of shape {@code input}: the same for every item and every
     * request, so for Dense and Conv2d it is computed once per layer and item shape on the host
     * ({@link OnesResponse}) and kept as a constant the backend holds on its device; other layers
     * run it on a kept ones item per request. Expanded to the batch.
     */
    private Tensor onesResponse(Kernels k, Op.Linear layer, Shape input, TensorScope sc) {
        int[] dims = input.dims();
        dims[0] = 1;
        Shape item = Shape.of(dims);
        Op.Constant onHost = modified.constant(layer, "ones " + item, () -> {
            HostTensor response = OnesResponse.of(layer, item);
            return response == null ? null : new Op.Constant(response);
        });
        Tensor one = onHost != null ? k.forward(onHost, List.of(), sc)
                : k.forward(layer, List.of(k.forward(onesInput(layer, item), List.of(), sc)), sc);
        return batched(k, one, input.dim(0), sc);
    }

    /** An all-ones input item for {@code layer}, kept with it (the backend keeps its device copy). */
    private Op.Constant onesInput(Op.Linear layer, Shape item) {
        return modified.constant(layer, "ones input " + item, () -> new Op.Constant(ones(item)));
    }

    private static HostTensor ones(Shape shape) {
        float[] v = new float[shape.size()];
        Arrays.fill(v, 1f);
        return HostTensor.wrap(shape, v);
    }

    /** {@code one} (an item) expanded to a batch of {@code n}; itself when {@code n} is 1. */
    private static Tensor batched(Kernels k, Tensor one, int n, TensorScope sc) {
        if (n == 1) {
            return one;
        }
        List<Integer> batch = new ArrayList<>(Collections.nCopies(one.shape().rank(), 1));
        batch.set(0, n);
        return k.forward(new Op.Expand(batch), List.of(one), sc);
    }

    /**
     * {@code flat} on a convolution without groups. With every weight 1, each output channel of
     * {@code z = layer(1; 1, 0)} is the input channel count times the window's cell count, and
     * {@code layer^T(s; 1)} is the same in every input channel: the window transposed over the
     * channel sum of {@code s}. As {@code z} is the same in every output channel, that sum is
     * the channel sum of {@code R} over {@code stab(z)}. So one-channel convolutions do the work
     * of the full {@code Cout x Cin} ones, and the cell counts are a constant of the layer
     * ({@link #onesResponse}; {@code z} is exact either way: it counts whole numbers).
     */
    private NodeRule flatConvolution(Op.Conv2d conv) {
        Shape w = conv.weight().shape();
        // Kept with the layer, so backends keep its device copy across requests.
        Op.Linear window = modified.derive(conv, "flat window",
                () -> conv.withParameters(ones(Shape.of(1, 1, w.dim(2), w.dim(3))), null));
        Op.ReduceSum channelSum = new Op.ReduceSum(List.of(1), true);
        Op.Expand toInputs = new Op.Expand(List.of(1, w.dim(1), 1, 1));
        return step -> {
            Kernels k = step.kernels();
            TensorScope sc = step.scope();
            Shape in = step.inputs().get(0).shape();
            Shape item = Shape.of(1, 1, in.dim(2), in.dim(3));
            Tensor cells = onesResponse(k, window, Shape.of(in.dim(0), 1, in.dim(2), in.dim(3)), sc);
            Tensor z = k.scale(cells, w.dim(1), sc);
            Tensor s = k.evaluate(STABILIZED_RATIO, List.of(k.forward(channelSum, List.of(step.upstream()), sc), z), sc)
                    .get(0);
            Tensor one = batched(k, k.forward(onesInput(window, item), List.of(), sc), in.dim(0), sc);
            Tensor back = k.inputGradients(window, List.of(one), cells, s, sc).get(0);
            return List.of(k.forward(toInputs, List.of(back), sc));
        };
    }

    /** {@code layer^T(s)}: the layer's vector-Jacobian product at {@code x}, where it output {@code y}. */
    private static Tensor vjp(Kernels k, Op.Linear layer, Tensor x, Tensor y, Tensor s, TensorScope sc) {
        return k.inputGradients(layer, List.of(x), y, s, sc).get(0);
    }

    private static NodeRule linear(RuleSpec spec, Node node, String where,
                                   java.util.function.Function<Op.Linear, NodeRule> make) {
        if (!(node.op() instanceof Op.Linear layer)) {
            throw new InvalidOptionException("rule " + spec.name() + " applies to linear layers (Dense, Conv2d, ConvTranspose2d, BatchNorm); node "
                    + node.name() + " is " + node.op().type(), where);
        }
        return make.apply(layer);
    }

    private static NodeRule noParams(RuleSpec spec, String where, NodeRule rule) {
        if (spec.params().length > 0) {
            throw new InvalidOptionException("rule " + spec.name() + " takes no parameters", where);
        }
        return rule;
    }

    /** Parameter {@code i} of {@code spec}, or the default when the rule was written without any. */
    private static double param(RuleSpec spec, int i, double fallback, int count, String where) {
        int given = spec.params().length;
        if (given != 0 && given != count) {
            throw new InvalidOptionException("rule " + spec.name() + " takes " + count + " parameter"
                    + (count == 1 ? "" : "s") + ", got " + given, where);
        }
        return given == 0 ? fallback : spec.params()[i];
    }

    private static void requireNonNegative(RuleSpec spec, double v, String where) {
        if (v < 0) {
            throw new InvalidOptionException("rule " + spec + " needs a non-negative parameter", where);
        }
    }
}

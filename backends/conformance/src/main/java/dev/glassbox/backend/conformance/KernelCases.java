package dev.glassbox.backend.conformance;

import static dev.glassbox.backend.conformance.BackendRun.normwiseError;
import static dev.glassbox.backend.conformance.BackendRun.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op.ResizeNearest.CoordinateMode;
import dev.glassbox.api.graph.Op.ResizeNearest.NearestMode;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Forward and vector-Jacobian product of every op, with the attribute variants that matter
 * (asymmetric padding, dilation, groups, ceil mode, ties, broadcasting, negative steps), to
 * compare a backend with the Java backend normwise: {@code max|candidate - java| <= tolerance *
 * max|java|}.
 */
public final class KernelCases {
    /** What the backends are held to: 1e-4 relative, normwise. */
    public static final double TOLERANCE = 1e-4;

    private KernelCases() {
    }

    /** An op with generators of its inputs. */
    public record Case(String name, Op op, List<Function<Random, HostTensor>> inputs) {
    }

    private static Function<Random, HostTensor> x(int... dims) {
        return r -> random(r, dims);
    }

    /** Values away from zero (divisors). */
    private static Function<Random, HostTensor> away(int... dims) {
        return r -> {
            HostTensor t = random(r, dims);
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = Math.copySign(Math.abs(d[i]) + 0.5f, d[i]);
            }
            return t;
        };
    }

    private static HostTensor p(long seed, int... dims) {
        return random(new Random(seed), dims);
    }

    private static Geometry2d geo(int s, int pt, int pl, int pb, int pr, int d) {
        return new Geometry2d(s, s, pt, pl, pb, pr, d, d);
    }

    @SafeVarargs
    private static Case c(String name, Op op, Function<Random, HostTensor>... inputs) {
        List<Function<Random, HostTensor>> list = new ArrayList<>();
        for (Function<Random, HostTensor> f : inputs) {
            list.add(f);
        }
        return new Case(name, op, List.copyOf(list));
    }

    /** The cases, in a fixed order; inputs are drawn from a {@code Random} seeded by the case name. */
    public static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("Constant", new Op.Constant(p(1, 2, 3)), List.of()));
        cases.add(c("Dense", new Op.Dense(p(2, 5, 4), p(3, 5)), x(3, 4)));
        cases.add(c("Dense rank 3 no bias", new Op.Dense(p(4, 5, 4), null), x(2, 3, 4)));
        cases.add(c("Conv2d 3x3 pad 1", new Op.Conv2d(p(5, 4, 3, 3, 3), p(6, 4), geo(1, 1, 1, 1, 1, 1), 1), x(2, 3, 7, 6)));
        cases.add(c("Conv2d stride 2 asymmetric pad", new Op.Conv2d(p(7, 4, 3, 3, 2), p(8, 4), geo(2, 0, 1, 2, 0, 1), 1),
                x(2, 3, 8, 7)));
        cases.add(c("Conv2d dilation 2 groups 2 no bias", new Op.Conv2d(p(9, 4, 2, 3, 3), null, geo(1, 2, 2, 2, 2, 2), 2),
                x(2, 4, 7, 7)));
        cases.add(c("Conv2d 7x7 stride 2 pad 3 (resnet stem)", new Op.Conv2d(p(40, 4, 3, 7, 7), p(41, 4),
                geo(2, 3, 3, 3, 3, 1), 1), x(2, 3, 13, 12)));
        cases.add(c("Conv2d 1x1 stride 2 (kernel below stride)", new Op.Conv2d(p(42, 5, 3, 1, 1), null,
                geo(2, 0, 0, 0, 0, 1), 1), x(2, 3, 7, 6)));
        cases.add(c("Conv2d 1x3 stride 2x1 pad dilation 2 (one-wide kernel on the strided axis)",
                new Op.Conv2d(p(54, 4, 3, 1, 3), p(55, 4), new Geometry2d(2, 1, 1, 1, 0, 2, 1, 2), 1), x(2, 3, 8, 7)));
        cases.add(c("Conv2d stride 3x1 pad asymmetric depthwise", new Op.Conv2d(p(43, 4, 1, 4, 3), p(44, 4),
                new Geometry2d(3, 1, 1, 0, 2, 1, 1, 2), 4), x(2, 4, 11, 7)));
        cases.add(c("Conv2d stride 3x2 kernel 2x5 (phases without taps)", new Op.Conv2d(p(52, 3, 2, 2, 5), p(53, 3),
                new Geometry2d(3, 2, 0, 2, 1, 1, 1, 1), 1), x(2, 2, 10, 9)));
        cases.add(c("Conv2d stride 2 dilation 2 (autograd)", new Op.Conv2d(p(45, 3, 2, 3, 3), null,
                geo(2, 1, 1, 1, 1, 2), 1), x(1, 2, 9, 9)));
        cases.add(c("Conv2d empty batch", new Op.Conv2d(p(48, 4, 3, 3, 3), p(49, 4), geo(1, 1, 1, 1, 1, 1), 1),
                x(0, 3, 5, 5)));
        cases.add(c("ConvTranspose2d empty batch", new Op.ConvTranspose2d(p(50, 3, 2, 3, 3), p(51, 2),
                geo(2, 1, 1, 1, 1, 1), 1, 1, 1), x(0, 3, 4, 4)));
        cases.add(c("ConvTranspose2d stride 3 kernel 2 (phases without taps)",
                new Op.ConvTranspose2d(p(46, 3, 2, 2, 2), p(47, 2), geo(3, 0, 1, 1, 0, 1), 1, 1, 2), x(2, 3, 3, 4)));
        cases.add(c("ConvTranspose2d 1x1 stride 2 outpad 1 (zeros between cells)",
                new Op.ConvTranspose2d(p(56, 3, 2, 1, 1), p(57, 2), geo(2, 0, 0, 0, 0, 1), 1, 1, 1), x(2, 3, 4, 5)));
        cases.add(c("ConvTranspose2d stride 2 pad 1 outpad 1",
                new Op.ConvTranspose2d(p(10, 3, 4, 3, 3), p(11, 4), geo(2, 1, 1, 1, 1, 1), 1, 1, 1), x(2, 3, 4, 5)));
        cases.add(c("ConvTranspose2d groups 2 dilation 2 asymmetric",
                new Op.ConvTranspose2d(p(12, 4, 3, 2, 3), null, geo(1, 0, 1, 1, 0, 2), 2, 0, 0), x(2, 4, 5, 4)));
        cases.add(c("BatchNorm image", new Op.BatchNorm(p(13, 3), p(14, 3)), x(2, 3, 4, 5)));
        cases.add(c("BatchNorm rank 2", new Op.BatchNorm(p(15, 3), p(16, 3)), x(4, 3)));
        cases.add(c("Relu", new Op.Relu(), x(3, 4, 5)));
        // the derivative is x > 0 ? dy : 0, so 0 at a NaN input and at 0
        cases.add(c("Relu at NaN and zero", new Op.Relu(), r -> HostTensor.wrap(Shape.of(3, 40),
                withValues(random(r, 3, 40), Float.NaN, 0f))));
        cases.add(c("LeakyRelu", new Op.LeakyRelu(0.1f), x(3, 4, 5)));
        cases.add(c("PRelu per channel", new Op.PRelu(p(17, 3, 1, 1)), x(2, 3, 4, 5)));
        cases.add(c("Elu", new Op.Elu(0.7f), x(3, 4, 5)));
        cases.add(c("Sigmoid", new Op.Sigmoid(), x(3, 4, 5)));
        cases.add(c("Tanh", new Op.Tanh(), x(3, 4, 5)));
        cases.add(c("HardSigmoid", new Op.HardSigmoid(0.2f, 0.5f), r -> HostTensor.wrap(Shape.of(3, 40),
                scaled(random(r, 3, 40), 4f))));
        cases.add(c("HardSwish", new Op.HardSwish(), r -> HostTensor.wrap(Shape.of(3, 40), scaled(random(r, 3, 40), 3f))));
        cases.add(c("Clip", new Op.Clip(-0.5f, 0.7f), x(3, 4, 5)));
        cases.add(c("Clip open below", new Op.Clip(Float.NEGATIVE_INFINITY, 0.3f), x(3, 4, 5)));
        // at a bound the derivative is 1; with min above max every output is max and the derivative 0
        cases.add(c("Clip at its bounds", new Op.Clip(-0.5f, 0.5f), r -> HostTensor.wrap(Shape.of(3, 40),
                withValues(random(r, 3, 40), -0.5f, 0.5f))));
        cases.add(c("Clip min above max", new Op.Clip(0.5f, -0.5f), r -> HostTensor.wrap(Shape.of(3, 40),
                withValues(random(r, 3, 40), -0.5f, 0.5f))));
        cases.add(c("MaxPool2d 2x2", new Op.MaxPool2d(2, 2, geo(2, 0, 0, 0, 0, 1)), x(2, 3, 6, 7)));
        cases.add(c("MaxPool2d 2x2 tiling", new Op.MaxPool2d(2, 2, geo(2, 0, 0, 0, 0, 1)), x(2, 3, 6, 8)));
        // ReLU outputs tie at 0: the gradient goes to the first maximal cell of each window.
        cases.add(c("MaxPool2d 3x2 tiling with ties", new Op.MaxPool2d(3, 2, new Geometry2d(3, 2, 0, 0, 0, 0, 1, 1)),
                r -> HostTensor.wrap(Shape.of(2, 2, 6, 4), relu(random(r, 2, 2, 6, 4)))));
        cases.add(c("MaxPool2d all ties", new Op.MaxPool2d(2, 3, new Geometry2d(2, 1, 0, 1, 1, 0, 1, 1)),
                r -> HostTensor.zeros(Shape.of(2, 2, 5, 4))));
        cases.add(c("GlobalMaxPool all ties", new Op.GlobalMaxPool(), r -> HostTensor.zeros(Shape.of(2, 3, 2, 2))));
        cases.add(c("MaxPool2d 3x3 pad 1 ceil", new Op.MaxPool2d(3, 3, geo(2, 1, 1, 1, 1, 1), true), x(2, 3, 8, 7)));
        cases.add(c("MaxPool2d asymmetric pad", new Op.MaxPool2d(2, 3, geo(1, 0, 1, 1, 0, 1)), x(2, 2, 5, 6)));
        cases.add(c("MaxPool2d dilation 2", new Op.MaxPool2d(2, 2, geo(1, 1, 1, 1, 1, 2)), x(2, 2, 6, 6)));
        cases.add(c("AvgPool2d countIncludePad", new Op.AvgPool2d(3, 3, geo(2, 1, 1, 1, 1, 1), true), x(2, 3, 7, 8)));
        cases.add(c("AvgPool2d exclude pad", new Op.AvgPool2d(3, 3, geo(2, 1, 1, 1, 1, 1), false), x(2, 3, 7, 8)));
        cases.add(c("AvgPool2d ceil include pad", new Op.AvgPool2d(3, 3, geo(2, 1, 1, 1, 1, 1), true, true), x(2, 3, 8, 8)));
        cases.add(c("AvgPool2d ceil exclude pad", new Op.AvgPool2d(2, 2, geo(2, 0, 0, 0, 0, 1), false, true), x(2, 3, 5, 5)));
        cases.add(c("AvgPool2d asymmetric dilation 2", new Op.AvgPool2d(2, 2, geo(1, 1, 0, 0, 1, 2), false), x(2, 2, 6, 6)));
        cases.add(c("GlobalAvgPool", new Op.GlobalAvgPool(), x(2, 3, 4, 5)));
        cases.add(c("GlobalMaxPool", new Op.GlobalMaxPool(), x(2, 3, 4, 5)));
        cases.add(c("GlobalMaxPool 1-D", new Op.GlobalMaxPool(), x(2, 3, 7)));
        cases.add(c("Add", new Op.Add(), x(2, 3, 4), x(2, 3, 4)));
        cases.add(c("Sub", new Op.Sub(), x(2, 3, 4), x(2, 3, 4)));
        cases.add(c("Mul", new Op.Mul(), x(2, 3, 4), x(2, 3, 4)));
        cases.add(c("Add broadcast", new Op.Add(), x(2, 3, 4, 5), x(3, 1, 1)));
        cases.add(c("Sub broadcast", new Op.Sub(), x(3, 1, 5), x(2, 3, 4, 1)));
        cases.add(c("Mul broadcast", new Op.Mul(), x(2, 3, 4, 5), x(5)));
        cases.add(c("Div broadcast", new Op.Div(), x(2, 3, 4), away(3, 1)));
        cases.add(c("Div same shape", new Op.Div(), x(2, 3), away(2, 3)));
        cases.add(c("MatMul batched x 2-D", new Op.MatMul(), x(2, 3, 4), x(4, 5)));
        cases.add(c("MatMul vector x batched", new Op.MatMul(), x(4), x(2, 4, 3)));
        cases.add(c("MatMul broadcast leading", new Op.MatMul(), x(2, 1, 3, 4), x(3, 4, 2)));
        cases.add(c("MatMul matrix x vector", new Op.MatMul(), x(3, 4), x(4)));
        cases.add(c("ReduceSum keep", new Op.ReduceSum(List.of(1, 3), true), x(2, 3, 4, 5)));
        cases.add(c("ReduceSum drop", new Op.ReduceSum(List.of(0, 2), false), x(2, 3, 4)));
        cases.add(c("ReduceMean", new Op.ReduceMean(List.of(2, 3), false), x(2, 3, 4, 5)));
        cases.add(c("Flatten", new Op.Flatten(1), x(2, 3, 4, 5)));
        cases.add(c("Flatten axis 3", new Op.Flatten(3), x(2, 3, 4, 5)));
        cases.add(c("Reshape", new Op.Reshape(0, -1, 5), x(2, 3, 4, 5)));
        cases.add(c("Transpose", new Op.Transpose(List.of(0, 2, 3, 1)), x(2, 3, 4, 5)));
        cases.add(c("Concat", new Op.Concat(1, 3), x(2, 3, 4), x(2, 1, 4), x(2, 2, 4)));
        cases.add(c("Slice steps", new Op.Slice(List.of(1, 0), List.of(Integer.MAX_VALUE, 5), List.of(1, 3), List.of(2, 2)),
                x(2, 5, 3, 6)));
        cases.add(c("Slice negative step", new Op.Slice(List.of(-1, 4), List.of(0, Integer.MIN_VALUE), List.of(2, 3),
                List.of(-2, -1)), x(2, 3, 6, 5)));
        cases.add(c("Slice empty", new Op.Slice(List.of(3), List.of(1), List.of(1), List.of(1)), x(2, 5)));
        cases.add(c("Pad", new Op.Pad(List.of(0, 1, 2, 0, 0, 2, -1, 3), 0.5f), x(2, 3, 4, 5)));
        cases.add(c("Expand", new Op.Expand(List.of(3, 2, 5, 4)), x(2, 1, 4)));
        cases.add(c("ResizeNearest x2 asymmetric floor", new Op.ResizeNearest(List.of(1f, 1f, 2f, 2f),
                List.of(-1, -1, -1, -1), CoordinateMode.ASYMMETRIC, NearestMode.FLOOR), x(2, 3, 3, 4)));
        cases.add(c("ResizeNearest sizes half pixel", new Op.ResizeNearest(List.of(1f, 1f, 1.7f, 0.6f),
                List.of(-1, -1, 7, 3), CoordinateMode.HALF_PIXEL, NearestMode.ROUND_PREFER_FLOOR), x(2, 3, 4, 5)));
        cases.add(c("Softmax", new Op.Softmax(1), x(3, 7)));
        cases.add(c("Softmax axis 1 of 4", new Op.Softmax(1), x(2, 3, 4, 5)));
        cases.add(c("Softmax over trailing axes", new Op.Softmax(1, true), x(2, 3, 4, 5)));
        cases.add(c("LogSoftmax", new Op.LogSoftmax(1), x(3, 7)));
        cases.add(c("LogSoftmax over trailing axes", new Op.LogSoftmax(2, true), x(2, 3, 4, 5)));
        return cases;
    }

    private static float[] relu(HostTensor t) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.max(d[i], 0f);
        }
        return d;
    }

    /** {@code t}'s values with every third one {@code a} and every fifth one {@code b}. */
    private static float[] withValues(HostTensor t, float a, float b) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i += 3) {
            d[i] = a;
        }
        for (int i = 1; i < d.length; i += 5) {
            d[i] = b;
        }
        return d;
    }

    private static float[] scaled(HostTensor t, float f) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] *= f;
        }
        return d;
    }

    /**
     * Runs case {@code c} on both backends and asserts that forward and every input gradient
     * agree within {@link #TOLERANCE}.
     *
     * @return the worst normwise errors seen, {forward, gradient}
     */
    public static double[] check(Case c, BackendRun candidate, BackendRun reference) {
        Random r = new Random(c.name().hashCode());
        HostTensor[] in = c.inputs().stream().map(g -> g.apply(r)).toArray(HostTensor[]::new);
        HostTensor expected = reference.forward(c.op(), in);
        HostTensor actual = candidate.forward(c.op(), in);
        double e = normwiseError(actual, expected);
        assertTrue(e <= TOLERANCE, c.name() + ": forward differs by " + e + " (shapes " + actual.shape() + " / "
                + expected.shape() + ")");
        HostTensor dy = random(r, expected.shape().dims());
        List<HostTensor> gr = reference.gradients(c.op(), dy, in);
        List<HostTensor> gc = candidate.gradients(c.op(), dy, in);
        assertEquals(gr.size(), gc.size(), c.name() + ": number of gradients");
        double worst = 0;
        for (int i = 0; i < gr.size(); i++) {
            double g = normwiseError(gc.get(i), gr.get(i));
            worst = Math.max(worst, g);
            assertTrue(g <= TOLERANCE, c.name() + ": gradient of input " + i + " differs by " + g + " (shapes "
                    + gc.get(i).shape() + " / " + gr.get(i).shape() + ")");
        }
        return new double[] {e, worst};
    }
}

package dev.glassbox.backend.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;
import java.util.Random;

/**
 * What a backend's own {@link Kernels#evaluate} is checked with: formulas over three inputs
 * {@code (R, o, v)}, inputs full of special values, the primitives applied node by node, and
 * an exact comparison.
 */
public final class ElementwiseCases {
    private static final float GAMMA = 0.25f;
    private static final float EPS = 1e-6f;
    private static final float[] SPECIAL = {0f, -0f, 1e-9f, -1e-9f, Float.MIN_VALUE, -1e-40f, Float.NaN,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2f};

    private ElementwiseCases() {
    }

    /** Gamma's two seeds as the LRP rules build them: two results sharing most of their nodes. */
    public static List<Elementwise> gammaSeeds() {
        Elementwise r = Elementwise.input(0);
        Elementwise o = Elementwise.input(1);
        Elementwise v = Elementwise.input(2);
        Elementwise sp = r.times(o.positiveMask()).dividedBy(o.plus(v).clamped(EPS, Float.POSITIVE_INFINITY));
        Elementwise sn = r.times(o.scaled(-1f).positiveMask())
                .dividedBy(o.scaled(1 + GAMMA).minus(v).clamped(Float.NEGATIVE_INFINITY, -EPS));
        return List.of(sp.plus(sn.scaled(1 + GAMMA)), sp.minus(sn));
    }

    /**
     * The other primitives: abs and stabilize, a bare input (whose result is still a new
     * tensor), clamps with {@code min > max} and infinite bounds, a scale by {@code -0}.
     */
    public static List<Elementwise> otherPrimitives() {
        Elementwise r = Elementwise.input(0);
        Elementwise o = Elementwise.input(1);
        Elementwise v = Elementwise.input(2);
        return List.of(r.minus(v).abs().dividedBy(o.stabilized(0.5f)), v,
                o.clamped(-0.5f, 0.25f).plus(v.clamped(1f, -1f)), r.scaled(-0f).minus(o.scaled(0.1f)),
                v.clamped(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY));
    }

    /**
     * {@code count} inputs of 3 x 500 floats (more than a block of a pass), standard normal with
     * 40 special values each: NaN, infinities, signed zeros, tiny and subnormal values.
     */
    public static HostTensor[] inputs(Random r, int count) {
        HostTensor[] in = new HostTensor[count];
        for (int i = 0; i < count; i++) {
            in[i] = BackendRun.random(r, 3, 500);
            float[] d = in[i].data();
            for (int j = 0; j < 40; j++) {
                d[r.nextInt(d.length)] = SPECIAL[r.nextInt(SPECIAL.length)];
            }
        }
        return in;
    }

    /**
     * {@code run}'s {@link Kernels#evaluate} of {@code formula} over {@code in} equals, element
     * by element, the same backend's primitives called node by node and the Java backend's
     * evaluate ({@code java}).
     */
    public static void assertExact(BackendRun run, BackendRun java, List<Elementwise> formula, HostTensor... in) {
        try (TensorScope s = run.scope.child(); TensorScope js = java.scope.child()) {
            List<Tensor> x = run.upload(s, in);
            List<Tensor> fused = run.k.evaluate(formula, x, s);
            List<Tensor> onJava = java.k.evaluate(formula, java.upload(js, in), js);
            for (int i = 0; i < formula.size(); i++) {
                float[] got = fused.get(i).toHost().data();
                assertSameValues("expression " + i + " against the primitives",
                        byPrimitives(run.k, formula.get(i), x, s).toHost().data(), got);
                assertSameValues("expression " + i + " against java", onJava.get(i).toHost().data(), got);
            }
        }
    }

    /** {@code e} by {@code k}'s primitives, one call per node (a bare input as itself). */
    public static Tensor byPrimitives(Kernels k, Elementwise e, List<Tensor> x, TensorScope s) {
        return switch (e) {
            case Elementwise.Input in -> x.get(in.index());
            case Elementwise.Add n -> k.add(byPrimitives(k, n.a(), x, s), byPrimitives(k, n.b(), x, s), s);
            case Elementwise.Subtract n -> k.subtract(byPrimitives(k, n.a(), x, s), byPrimitives(k, n.b(), x, s), s);
            case Elementwise.Multiply n -> k.multiply(byPrimitives(k, n.a(), x, s), byPrimitives(k, n.b(), x, s), s);
            case Elementwise.Divide n -> k.divide(byPrimitives(k, n.a(), x, s), byPrimitives(k, n.b(), x, s), s);
            case Elementwise.Scale n -> k.scale(byPrimitives(k, n.a(), x, s), n.factor(), s);
            case Elementwise.Abs n -> k.abs(byPrimitives(k, n.a(), x, s), s);
            case Elementwise.Clamp n -> k.clamp(byPrimitives(k, n.a(), x, s), n.min(), n.max(), s);
            case Elementwise.PositiveMask n -> k.positiveMask(byPrimitives(k, n.a(), x, s), s);
            case Elementwise.Stabilize n -> k.stabilize(byPrimitives(k, n.z(), x, s), n.eps(), s);
        };
    }

    /** Equal element by element, NaN where {@code want} is NaN (signed zeros compare equal). */
    public static void assertSameValues(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": length");
        for (int j = 0; j < want.length; j++) {
            assertTrue(want[j] == got[j] || Float.isNaN(want[j]) && Float.isNaN(got[j]),
                    what + ", element " + j + ": " + got[j] + ", expected " + want[j]);
        }
    }
}

package dev.glassbox.explainer.actmax;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.tensor.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The image operations against their definitions: adjoints, finite differences, invariants. */
class ImageOpsTest {

    private static final ImageOps.Layout LAYOUT = new ImageOps.Layout(2, 7, 9);

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) r.nextGaussian();
        }
        return out;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    @Test
    void layoutTakesTheLastTwoAxesAsTheImage() {
        assertEquals(new ImageOps.Layout(3, 28, 28), ImageOps.Layout.of(Shape.of(3, 28, 28)));
        assertEquals(new ImageOps.Layout(1, 5, 4), ImageOps.Layout.of(Shape.of(5, 4)));
        assertNull(ImageOps.Layout.of(Shape.of(784)));
    }

    @Test
    void warpAdjointIsTheTranspose() {
        int n = LAYOUT.size();
        for (ImageOps.Warp w : new ImageOps.Warp[] {new ImageOps.Warp(1, 2, -1), new ImageOps.Warp(1.13, -1, 3),
                new ImageOps.Warp(0.87, 0, 0), new ImageOps.Warp(1.05, 0.5, -0.25)}) {
            float[] a = random(n, 1);
            float[] b = random(n, 2);
            float[] wa = new float[n];
            float[] wtb = new float[n];
            w.apply(a, 0, wa, 0, LAYOUT);
            w.adjoint(b, 0, wtb, 0, LAYOUT);
            assertEquals(dot(wa, b), dot(a, wtb), 1e-4 * (1 + Math.abs(dot(wa, b))), w.toString());
        }
    }

    @Test
    void integerShiftMovesPixelsAndExtendsEdges() {
        ImageOps.Layout l = new ImageOps.Layout(1, 3, 4);
        float[] in = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        float[] out = new float[12];
        new ImageOps.Warp(1, 1, 1).apply(in, 0, out, 0, l); // down one row, right one column
        assertArrayEquals(new float[] {1, 1, 2, 3, 1, 1, 2, 3, 5, 5, 6, 7}, out);
        new ImageOps.Warp(1, 0, 0).apply(in, 0, out, 0, l);
        assertArrayEquals(in, out);
        assertTrue(ImageOps.Warp.IDENTITY.identity());
    }

    @Test
    void totalVariationDescentIsMinusItsGradient() {
        int n = LAYOUT.size();
        float[] x = random(n, 3);
        float[] d = new float[n];
        double weight = 0.7;
        ImageOps.addTotalVariationDescent(x, 0, d, 0, LAYOUT, weight);
        double h = 1e-2;
        for (int i : new int[] {0, 5, 40, 63, n - 1}) {
            float keep = x[i];
            x[i] = (float) (keep + h);
            double up = ImageOps.totalVariation(x, 0, LAYOUT);
            x[i] = (float) (keep - h);
            double down = ImageOps.totalVariation(x, 0, LAYOUT);
            x[i] = keep;
            double grad = weight * (up - down) / (2 * h);
            assertEquals(-grad, d[i], 1e-3 * (1 + Math.abs(grad)), "element " + i);
        }
    }

    @Test
    void blurKeepsConstantsAndSmooths() {
        int n = LAYOUT.size();
        float[] c = new float[n];
        java.util.Arrays.fill(c, 0.25f);
        ImageOps.blur(c, 0, LAYOUT, 1.0);
        for (float v : c) {
            assertEquals(0.25f, v, 1e-6);
        }
        float[] x = random(n, 4);
        double before = ImageOps.totalVariation(x, 0, LAYOUT);
        ImageOps.blur(x, 0, LAYOUT, 1.0);
        assertTrue(ImageOps.totalVariation(x, 0, LAYOUT) < before / 4);
        float[] y = random(n, 5);
        float[] copy = y.clone();
        ImageOps.blur(y, 0, LAYOUT, 0);
        assertArrayEquals(copy, y);
    }

    @Test
    void fourierPreconditionerIsSymmetricPositiveAndFavoursLowFrequencies() {
        FourierBasis flat = new FourierBasis(7, 9, 0);
        float[] g = random(LAYOUT.size(), 6);
        float[] same = g.clone();
        flat.precondition(same, 0, 2);
        for (int i = 0; i < g.length; i++) {
            assertEquals(g[i], same[i], 1e-5, "decay 0 is the identity");
        }
        FourierBasis basis = new FourierBasis(7, 9, 1);
        float[] a = random(LAYOUT.size(), 7);
        float[] b = random(LAYOUT.size(), 8);
        float[] pa = a.clone();
        float[] pb = b.clone();
        basis.precondition(pa, 0, 2);
        basis.precondition(pb, 0, 2);
        assertEquals(dot(pa, b), dot(a, pb), 1e-4 * (1 + Math.abs(dot(pa, b))));
        assertTrue(dot(pa, a) > 0);
        // a checkerboard (highest frequency) shrinks, a constant (zero frequency) grows
        float[] checker = new float[7 * 8];
        float[] constant = new float[7 * 8];
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 8; x++) {
                checker[y * 8 + x] = (x % 2 == 0) ? 1 : -1;
                constant[y * 8 + x] = 1;
            }
        }
        FourierBasis even = new FourierBasis(7, 8, 1);
        float[] pc = checker.clone();
        float[] pk = constant.clone();
        even.precondition(pc, 0, 1);
        even.precondition(pk, 0, 1);
        assertTrue(dot(pc, pc) < dot(checker, checker) / 4, "high frequencies are damped");
        assertTrue(dot(pk, pk) > dot(constant, constant) * 4, "low frequencies are boosted");
        assertEquals(pk[0], pk[55], 1e-4, "a constant stays constant");
    }
}

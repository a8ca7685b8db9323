package dev.glassbox.launcher;

import java.util.Arrays;
import java.util.Locale;

/**
 * The comparison both conformance suites use (OnnxConformanceIT, TorchvisionIT): normwise
 * relative error in the max norm, with exact shapes and exact non-finite values.
 *
 * <p>For an expected tensor {@code e} and an actual tensor {@code a}:
 * <ol>
 *   <li>the shapes must be equal, dimension by dimension (no broadcasting, no squeezing);</li>
 *   <li>wherever {@code e} is NaN, {@code a} must be NaN; wherever {@code e} is +Inf or -Inf,
 *       {@code a} must be the same infinity; wherever {@code e} is finite, {@code a} must be
 *       finite;</li>
 *   <li>over the finite elements, {@code max|a - e| <= RTOL * max(max|e|, FLT_MIN)}, with
 *       {@code RTOL = 1e-4} and {@code FLT_MIN = 2^-126} (the smallest normal float32, so that
 *       an all-zero expectation asks for zeros, up to subnormals, rather than dividing by 0).</li>
 * </ol>
 * The error {@code max|a - e| / max(max|e|, FLT_MIN)} is the relative error of the whole
 * tensor in the infinity norm ({@code ||a - e||_inf / ||e||_inf}): one scale for every
 * element, so small elements are held to the precision of the largest, as float32
 * accumulation errors scale with the largest terms and not with each element.
 */
final class Tolerance {
    static final double RTOL = 1e-4;

    /** One comparison: {@code ok}, the absolute and relative max-norm error, and why not when not ok. */
    record Result(boolean ok, double maxAbsError, double relError, String detail) {
        String summary() {
            return String.format(Locale.ROOT, "max_abs_err=%.2e rel_err=%.2e", maxAbsError, relError);
        }
    }

    private Tolerance() {
    }

    static Result compare(int[] expectedShape, float[] expected, int[] actualShape, float[] actual) {
        if (!Arrays.equals(expectedShape, actualShape)) {
            return new Result(false, Double.NaN, Double.NaN,
                    "shape " + Arrays.toString(actualShape) + ", expected " + Arrays.toString(expectedShape));
        }
        if (expected.length != actual.length) {
            return new Result(false, Double.NaN, Double.NaN,
                    actual.length + " values, expected " + expected.length);
        }
        double scale = 0;
        for (float e : expected) {
            if (Float.isFinite(e)) {
                scale = Math.max(scale, Math.abs(e));
            }
        }
        scale = Math.max(scale, Float.MIN_NORMAL);
        double maxErr = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i];
            float a = actual[i];
            if (!Float.isFinite(e) || !Float.isFinite(a)) {
                boolean same = Float.isNaN(e) ? Float.isNaN(a) : e == a;
                if (!same) {
                    return new Result(false, Double.NaN, Double.NaN,
                            "element " + index(expectedShape, i) + " is " + a + ", expected " + e);
                }
                continue;
            }
            double d = Math.abs((double) a - (double) e);
            if (d > maxErr) {
                maxErr = d;
                worst = i;
            }
        }
        double rel = maxErr / scale;
        if (rel <= RTOL) {
            return new Result(true, maxErr, rel, "");
        }
        return new Result(false, maxErr, rel, String.format(Locale.ROOT,
                "max|a-e| = %.4g > %.0e * %.4g (max|e|); worst at %s: %.8g, expected %.8g",
                maxErr, RTOL, scale, index(expectedShape, worst), actual[worst], expected[worst]));
    }

    /** The multi-index of flat position {@code flat} in a row-major tensor of this shape. */
    static String index(int[] shape, int flat) {
        int[] idx = new int[shape.length];
        int rest = flat;
        for (int a = shape.length - 1; a >= 0; a--) {
            if (shape[a] > 0) {
                idx[a] = rest % shape[a];
                rest /= shape[a];
            }
        }
        return Arrays.toString(idx);
    }
}

package dev.glassbox.backend.djl;

import static dev.glassbox.backend.conformance.BackendRun.normwiseError;
import static dev.glassbox.backend.conformance.BackendRun.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.backend.conformance.ElementwiseCases;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The elementwise primitives against the Java backend, scopes and the weight cache. */
class ElementwiseAndScopeTest {

    @BeforeAll
    static void engine() {
        String why = Backends.unavailable();
        if (why != null) {
            System.err.println("ElementwiseAndScopeTest skipped: DJL backend " + why);
        }
        assumeTrue(why == null, () -> "DJL backend " + why);
    }

    /** Runs {@code f} on both backends with the same inputs; the results must agree exactly. */
    private static void same(String what, BiFunction<Kernels, List<Tensor>, Tensor> f, TensorScope[] scopes,
                             Kernels[] kernels, HostTensor... inputs) {
        HostTensor[] out = new HostTensor[2];
        for (int b = 0; b < 2; b++) {
            try (TensorScope s = scopes[b].child()) {
                Kernels k = kernels[b];
                current = s;
                List<Tensor> in = java.util.Arrays.stream(inputs).map(h -> k.upload(h, s)).toList();
                out[b] = f.apply(k, in).toHost();
            }
        }
        assertEquals(out[1].shape(), out[0].shape(), what);
        double e = normwiseError(out[0], out[1]);
        assertTrue(e <= 1e-6, what + " differs by " + e);
    }

    @Test
    void elementwisePrimitivesMatchJava() {
        try (BackendRun djl = new BackendRun(Backends.DJL); BackendRun java = new BackendRun(Backends.JAVA)) {
            TensorScope[] scopes = {djl.scope, java.scope};
            Kernels[] k = {djl.k, java.k};
            Random r = new Random(7);
            HostTensor a = random(r, 3, 4, 5);
            HostTensor b = random(r, 3, 4, 5);
            float[] special = {0f, -0f, 1e-9f, -1e-9f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2f};
            HostTensor s = HostTensor.wrap(Shape.of(special.length), special);
            same("add", (kk, in) -> kk.add(in.get(0), in.get(1), current),
                    scopes, k, a, b);
            same("multiply", (kk, in) -> kk.multiply(in.get(0), in.get(1), current), scopes, k, a, b);
            same("subtract", (kk, in) -> kk.subtract(in.get(0), in.get(1), current), scopes, k, a, b);
            same("divide", (kk, in) -> kk.divide(in.get(0), in.get(1), current), scopes, k, a, b);
            same("scale", (kk, in) -> kk.scale(in.get(0), -2.5f, current), scopes, k, a);
            same("abs", (kk, in) -> kk.abs(in.get(0), current), scopes, k, a);
            same("clamp", (kk, in) -> kk.clamp(in.get(0), -0.3f, 0.4f, current), scopes, k, a);
            same("clamp open", (kk, in) -> kk.clamp(in.get(0), 0f, Float.POSITIVE_INFINITY, current),
                    scopes, k, a);
            same("positiveMask", (kk, in) -> kk.positiveMask(in.get(0), current), scopes, k, a);
            same("stabilize", (kk, in) -> kk.stabilize(in.get(0), 0.25f, current), scopes, k, a);
            same("positiveMask special", (kk, in) -> kk.positiveMask(in.get(0), current), scopes, k, s);
            same("stabilize special", (kk, in) -> kk.stabilize(in.get(0), 1e-6f, current), scopes, k, s);
            same("divide by zero", (kk, in) -> kk.divide(in.get(0), in.get(1), current), scopes, k, s,
                    HostTensor.zeros(Shape.of(special.length)));
            // The kernels check shapes as the Java backend does.
            try (TensorScope c = djl.scope.child()) {
                Tensor x = djl.k.upload(a, c);
                Tensor y = djl.k.upload(random(r, 3, 4), c);
                assertThrows(IllegalArgumentException.class, () -> djl.k.add(x, y, c));
            }
        }
    }

    /**
     * One fused pass ({@link Kernels#evaluate}; with {@code script}, one TorchScript call) against
     * the engine's primitives called node by node on the same arrays, and against the Java
     * backend's pass: equal values (signed zeros aside, which compare equal), NaN where the
     * primitives give NaN. 1500 elements cross the pass's block boundaries; the special values
     * cover NaN, infinities, signed zeros.
     */
    @ParameterizedTest
    @ValueSource(strings = {DjlBackend.ELEMENTWISE_AUTO, DjlBackend.ELEMENTWISE_SCRIPT})
    void evaluateEqualsThePrimitivesNodeByNode(String elementwise) {
        Elementwise r = Elementwise.input(0);
        Elementwise o = Elementwise.input(1);
        List<Elementwise> expressions = new ArrayList<>(ElementwiseCases.gammaSeeds());
        expressions.addAll(ElementwiseCases.otherPrimitives());
        Random rnd = new Random(11);
        HostTensor[] in = ElementwiseCases.inputs(rnd, 3);
        DjlBackend backend = DjlBackend.ELEMENTWISE_SCRIPT.equals(elementwise) ? Backends.DJL_SCRIPTED : Backends.DJL;
        try (BackendRun djl = new BackendRun(backend); BackendRun java = new BackendRun(Backends.JAVA);
             TensorScope s = djl.scope.child()) {
            ElementwiseCases.assertExact(djl, java, expressions, in);
            Kernels k = djl.k;
            List<Tensor> x = djl.upload(s, in);
            List<Tensor> fused = k.evaluate(expressions, x, s);
            assertTrue(fused.get(3) != x.get(2) && fused.get(6) != x.get(2), "a bare input is a new tensor");
            assertEquals(DjlBackend.ELEMENTWISE_SCRIPT.equals(elementwise) ? 1 : 0,
                    ((DjlPreparedModel) djl.model).compiledFormulas(), "one function for the expressions");
            // sum: the fused pass (double) against the engine's reduction of the evaluated values
            List<Tensor> finite = List.of(k.upload(random(rnd, 3, 500), s), k.upload(random(rnd, 3, 500), s));
            Elementwise magnitudes = r.minus(r.times(o.positiveMask())).abs();
            double engine = k.forward(new Op.ReduceSum(List.of(0, 1), true),
                    k.evaluate(List.of(magnitudes), finite, s), s).toHost().data()[0];
            assertEquals(engine, k.sum(magnitudes, finite, s), 1e-5 * Math.abs(engine));
            assertEquals(0.0, k.sum(r.minus(r), finite, s));
            assertTrue(Double.isNaN(k.sum(expressions.get(0), x, s)), "a NaN makes the sum NaN");
            assertThrows(IllegalArgumentException.class, () -> k.sum(Elementwise.input(3), x, s));
            assertThrows(IllegalArgumentException.class, () -> k.evaluate(List.of(Elementwise.input(3)), x, s));
            assertThrows(IllegalArgumentException.class,
                    () -> k.evaluate(List.of(r.plus(o)), List.of(x.get(0), k.upload(random(rnd, 2, 3), s)), s));
        }
    }

    /** The scope the function under test runs in (the child {@link #same} opened). */
    private static TensorScope current;

    @Test
    void masksAreZeroAtNanAndSignedZeros() {
        // positiveMask and ReLU's VJP are sign(max(x, 0)): exact only while the engine's sign(NaN) is 0
        float[] x = {Float.NaN, -0f, 0f, 2f, -3f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE};
        float[] expected = {0, 0, 0, 1, 0, 1, 0, 1};
        HostTensor in = HostTensor.wrap(Shape.of(x.length), x);
        try (BackendRun djl = new BackendRun(Backends.DJL); TensorScope s = djl.scope.child()) {
            Tensor t = djl.k.upload(in, s);
            assertArrayEquals(expected, djl.k.positiveMask(t, s).toHost().data());
            Tensor ones = djl.k.upload(HostTensor.wrap(in.shape(), new float[] {1, 1, 1, 1, 1, 1, 1, 1}), s);
            Tensor y = djl.k.forward(new Op.Relu(), List.of(t), s);
            assertArrayEquals(expected, djl.k.inputGradients(new Op.Relu(), List.of(t), y, ones, s).get(0).toHost().data());
        }
    }

    @Test
    void scopesFreeEverythingOverManyCalls() {
        try (BackendRun djl = new BackendRun(Backends.DJL)) {
            Random r = new Random(3);
            Op.Conv2d conv = new Op.Conv2d(random(r, 4, 3, 3, 3), random(r, 4), Geometry2d.UNIT, 1);
            Op.MaxPool2d pool = new Op.MaxPool2d(2, 2, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1));
            HostTensor x = random(r, 2, 3, 8, 8);
            TensorScope root = djl.scope;
            for (int i = 0; i < 200; i++) {
                try (TensorScope s = root.child()) {
                    Tensor in = djl.k.upload(x, s);
                    Tensor h = djl.k.forward(conv, List.of(in), s);
                    Tensor y = djl.k.forward(pool, List.of(h), s);
                    try (TensorScope inner = s.child()) {
                        Tensor dy = djl.k.upload(random(r, y.shape().dims()), inner);
                        Tensor dh = djl.k.inputGradients(pool, List.of(h), y, dy, inner).get(0);
                        Tensor dx = djl.k.inputGradients(conv, List.of(in), h, dh, inner).get(0);
                        djl.k.stabilize(djl.k.multiply(dx, dx, inner), 1e-6f, inner);
                        assertEquals(5, inner.liveTensors());
                    }
                    assertEquals(3, s.liveTensors());
                    assertEquals(3, root.liveTensors());
                }
                assertEquals(0, root.liveTensors());
            }
            // One conv weight and bias, uploaded once.
            assertEquals(2, ((DjlPreparedModel) djl.model).cachedWeights());
            TensorScope closed = root.child();
            Tensor t = djl.k.upload(x, closed);
            closed.close();
            assertEquals(0, closed.liveTensors());
            assertThrows(IllegalStateException.class, t::toHost);
        }
    }

    @Test
    void aRecordedConvolutionsVjpIsTheRecomputedOneAndJavasFromSeveralThreads() throws Exception {
        Random r = new Random(5);
        // strided 3x3: its VJP replays the autograd graph its forward pass recorded
        Geometry2d strided = new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1);
        Op.Conv2d conv = new Op.Conv2d(random(r, 6, 3, 3, 3), random(r, 6), strided, 1);
        Op.Conv2d other = new Op.Conv2d(random(r, 6, 3, 3, 3), null, strided, 1);
        HostTensor x = random(r, 2, 3, 9, 9);
        HostTensor dy = random(r, 2, 6, 5, 5);
        HostTensor expected;
        try (BackendRun java = new BackendRun(Backends.JAVA)) {
            expected = java.gradients(conv, dy, x).get(0);
        }
        try (BackendRun djl = new BackendRun(Backends.DJL)) {
            java.util.concurrent.Callable<float[][]> work = () -> {
                try (TensorScope s = djl.scope.child()) {
                    Tensor in = djl.k.upload(x, s);
                    Tensor h = djl.k.forward(conv, List.of(in), s);
                    Tensor g = djl.k.upload(dy, s);
                    float[] replayed = djl.k.inputGradients(conv, List.of(in), h, g, s).get(0).toHost().data();
                    // the recording is used once (its graph is freed): the second VJP recomputes
                    float[] recomputed = djl.k.inputGradients(conv, List.of(in), h, g, s).get(0).toHost().data();
                    djl.k.forward(conv, List.of(in), s); // recorded, never replayed: freed with the scope
                    assertEquals(6, s.liveTensors());
                    // as an LRP rule does: two recorded outputs meet in one upstream gradient, then both replay
                    Tensor h1 = djl.k.forward(conv, List.of(in), s);
                    Tensor h2 = djl.k.forward(other, List.of(in), s);
                    Tensor mixed = djl.k.divide(g, djl.k.stabilize(djl.k.add(h1, h2, s), 1e-6f, s), s);
                    float[] first = djl.k.inputGradients(conv, List.of(in), h1, mixed, s).get(0).toHost().data();
                    float[] second = djl.k.inputGradients(other, List.of(in), h2, mixed, s).get(0).toHost().data();
                    assertArrayEquals(djl.k.inputGradients(conv, List.of(in), h1, mixed, s).get(0).toHost().data(), first,
                            1e-5f);
                    assertArrayEquals(djl.k.inputGradients(other, List.of(in), h2, mixed, s).get(0).toHost().data(),
                            second, 1e-5f);
                    return new float[][] {replayed, recomputed};
                }
            };
            float[][] once = work.call();
            assertTrue(normwiseError(HostTensor.wrap(expected.shape(), once[0]), expected) <= 1e-6);
            assertArrayEquals(once[1], once[0], 1e-6f);
            var pool4 = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<float[][]>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    results.add(pool4.submit(work));
                }
                for (var f : results) {
                    float[][] got = f.get();
                    assertArrayEquals(once[0], got[0], 1e-6f);
                    assertArrayEquals(once[0], got[1], 1e-6f);
                }
            } finally {
                pool4.shutdown();
            }
            assertEquals(0, djl.scope.liveTensors());
        }
    }

    @Test
    void kernelsRunFromSeveralThreadsAtOnce() throws Exception {
        try (BackendRun djl = new BackendRun(Backends.DJL)) {
            Random r = new Random(11);
            Op.Conv2d conv = new Op.Conv2d(random(r, 4, 3, 3, 3), random(r, 4), new Geometry2d(1, 1, 1, 1, 1, 1, 1, 1), 1);
            Op.AvgPool2d pool = new Op.AvgPool2d(2, 2, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), false);
            HostTensor x = random(r, 2, 3, 8, 8);
            HostTensor dy = random(r, 2, 4, 4, 4);
            java.util.concurrent.Callable<float[]> work = () -> {
                try (TensorScope s = djl.scope.child()) {
                    Tensor in = djl.k.upload(x, s);
                    Tensor h = djl.k.forward(conv, List.of(in), s);
                    Tensor y = djl.k.forward(pool, List.of(h), s);
                    Tensor dh = djl.k.inputGradients(pool, List.of(h), y, djl.k.upload(dy, s), s).get(0);
                    return djl.k.inputGradients(conv, List.of(in), h, dh, s).get(0).toHost().data();
                }
            };
            float[] expected = work.call();
            var pool4 = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<float[]>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    results.add(pool4.submit(work));
                }
                for (var f : results) {
                    assertArrayEquals(expected, f.get(), 1e-6f);
                }
            } finally {
                pool4.shutdown();
            }
            assertEquals(0, djl.scope.liveTensors());
        }
    }

    /** Scripted formulas compile once and run from several threads, on inputs of two shapes. */
    @Test
    void scriptedFormulasRunFromSeveralThreadsAtOnce() throws Exception {
        Elementwise r = Elementwise.input(0);
        Elementwise z = Elementwise.input(1);
        List<Elementwise> formula = List.of(r.dividedBy(z.stabilized(1e-6f)), r.times(z.positiveMask()));
        Random rnd = new Random(13);
        List<HostTensor[]> inputs = List.of(new HostTensor[] {random(rnd, 2, 5), random(rnd, 2, 5)},
                new HostTensor[] {random(rnd, 3, 4, 7), random(rnd, 3, 4, 7)});
        List<float[][]> expected = new java.util.ArrayList<>();
        try (BackendRun java = new BackendRun(Backends.JAVA); TensorScope js = java.scope.child()) {
            for (HostTensor[] in : inputs) {
                List<Tensor> out = java.k.evaluate(formula, java.upload(js, in), js);
                expected.add(new float[][] {out.get(0).toHost().data(), out.get(1).toHost().data()});
            }
        }
        try (BackendRun djl = new BackendRun(Backends.DJL_SCRIPTED)) {
            var pool4 = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<?>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    int which = i % 2;
                    results.add(pool4.submit(() -> {
                        try (TensorScope s = djl.scope.child()) {
                            List<Tensor> out = djl.k.evaluate(formula, djl.upload(s, inputs.get(which)), s);
                            assertArrayEquals(expected.get(which)[0], out.get(0).toHost().data());
                            assertArrayEquals(expected.get(which)[1], out.get(1).toHost().data());
                        }
                        return null;
                    }));
                }
                for (var f : results) {
                    f.get();
                }
            } finally {
                pool4.shutdown();
            }
            assertEquals(1, ((DjlPreparedModel) djl.model).compiledFormulas());
            assertEquals(0, djl.scope.liveTensors());
        }
    }

    @Test
    void modifiedParametersAreCachedByIdentity() {
        try (BackendRun djl = new BackendRun(Backends.DJL)) {
            Random r = new Random(5);
            Op.Dense dense = new Op.Dense(random(r, 3, 4), random(r, 3));
            HostTensor x = random(r, 2, 4);
            HostTensor plus = dense.weight();
            float[] w = plus.data().clone();
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(w[i], 0f);
            }
            Op.Linear positive = dense.withParameters(HostTensor.wrap(dense.weight().shape(), w), null);
            HostTensor y1 = djl.forward(positive, x);
            HostTensor y2 = djl.forward(positive, x);
            assertArrayEquals(y1.data(), y2.data());
            djl.forward(dense, x);
            // W+ (no bias) and W, b: three arrays.
            assertEquals(3, ((DjlPreparedModel) djl.model).cachedWeights());
            assertEquals(0, djl.scope.liveTensors());
        }
    }
}

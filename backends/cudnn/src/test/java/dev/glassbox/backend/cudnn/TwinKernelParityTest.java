package dev.glassbox.backend.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.backend.conformance.ElementwiseCases;
import dev.glassbox.backend.conformance.KernelCases;
import dev.glassbox.backend.java.JavaBackend;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The cudnn backend's code on its CPU twin ({@link HostDevice}) against the Java backend: every
 * conformance case, forward and VJP, within 1e-4 normwise, and device memory counted back to
 * zero. What this covers without a GPU: the op dispatch, layouts, padding and cropping around
 * cuDNN, the GEMM operand order, the kernels' bodies and their launch signatures. What it does
 * not: cuDNN and cuBLAS themselves (reference.c stands in) and the PTX build of the kernels.
 */
class TwinKernelParityTest {
    private static final JavaBackend JAVA = new JavaBackend(1);
    private static HostDevice twin;
    private static BackendRun device;
    private static BackendRun java;
    private static double worstForward;
    private static double worstGradient;

    @BeforeAll
    static void open() {
        twin = HostDevice.twin();
        device = new BackendRun(new DeviceBackend(twin));
        java = new BackendRun(JAVA);
    }

    @AfterAll
    static void close() {
        if (device != null) {
            System.out.printf("cudnn twin vs Java: worst normwise error forward %.3g, VJP %.3g%n", worstForward,
                    worstGradient);
            device.close();
            java.close();
            assertEquals(0, twin.liveAllocations(), "device buffers left after the model and its scope closed");
        }
    }

    @TestFactory
    Stream<DynamicTest> forwardAndGradientMatchJava() {
        return KernelCases.cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            double[] worst = KernelCases.check(c, device, java);
            worstForward = Math.max(worstForward, worst[0]);
            worstGradient = Math.max(worstGradient, worst[1]);
        }));
    }

    @Test
    void theElementwisePrimitivesMatchJavaExactly() {
        Random r = new Random(7);
        HostTensor a = BackendRun.random(r, 3, 4, 5);
        HostTensor b = BackendRun.random(r, 3, 4, 5);
        a.data()[0] = 0f;
        a.data()[1] = -0f;
        try (TensorScope ds = device.scope.child(); TensorScope js = java.scope.child()) {
            for (Primitive p : Primitive.values()) {
                HostTensor got = p.apply(device.k, device.k.upload(a, ds), device.k.upload(b, ds), ds).toHost();
                HostTensor want = p.apply(java.k, java.k.upload(a, js), java.k.upload(b, js), js).toHost();
                for (int i = 0; i < want.data().length; i++) {
                    assertEquals(want.data()[i], got.data()[i], 0f, p + " at " + i);
                }
            }
        }
    }

    private enum Primitive {
        ADD, MULTIPLY, SCALE, ABS, SUBTRACT, DIVIDE, CLAMP, POSITIVE_MASK, STABILIZE;

        Tensor apply(Kernels k, Tensor a, Tensor b, TensorScope s) {
            return switch (this) {
                case ADD -> k.add(a, b, s);
                case MULTIPLY -> k.multiply(a, b, s);
                case SCALE -> k.scale(a, 0.3f, s);
                case ABS -> k.abs(a, s);
                case SUBTRACT -> k.subtract(a, b, s);
                case DIVIDE -> k.divide(a, b, s);
                case CLAMP -> k.clamp(a, 0f, Float.POSITIVE_INFINITY, s);
                case POSITIVE_MASK -> k.positiveMask(a, s);
                case STABILIZE -> k.stabilize(a, 1e-6f, s);
            };
        }
    }

    /**
     * {@link Kernels#evaluate} is one launch of the evaluate kernel, equal element by element to
     * the primitives launched node by node and to the Java backend (NaN where they give NaN;
     * the special values cover NaN, infinities and signed zeros); expressions beyond the
     * kernel's program (more nodes, inputs or results) take the primitives, with the same values.
     */
    @Test
    void evaluateIsOneLaunchEqualToThePrimitivesAndToJava() {
        Elementwise r = Elementwise.input(0);
        Elementwise o = Elementwise.input(1);
        Elementwise v = Elementwise.input(2);
        Elementwise u = Elementwise.input(3);
        Elementwise w = Elementwise.input(Program.MAX_INPUTS);
        List<Elementwise> others = ElementwiseCases.otherPrimitives();
        // formulas and the inputs they are given: those that fit the kernel's program first
        // (up to its node, input and result counts), then too many nodes, inputs read and results
        List<List<Elementwise>> formulas = List.of(ElementwiseCases.gammaSeeds(), others.subList(0, Program.MAX_RESULTS),
                List.of(others.get(Program.MAX_RESULTS), u.minus(r.times(v)).dividedBy(o.stabilized(1e-3f))),
                List.of(chain(r, o, Program.MAX_NODES)), List.of(r.times(w).plus(o)),
                List.of(chain(r, o, Program.MAX_NODES + 1)), List.of(r.plus(o).plus(v).plus(u).plus(w)), others);
        int[] inputCounts = {3, 3, 4, 2, 5, 2, 5, 3};
        int fused = 5;
        HostTensor[] in = ElementwiseCases.inputs(new Random(11), Program.MAX_INPUTS + 1);
        LaunchCounter counter = new LaunchCounter(twin);
        int before = twin.liveAllocations();
        try (BackendRun counted = new BackendRun(new DeviceBackend(counter)); TensorScope ds = counted.scope.child()) {
            List<Tensor> x = counted.upload(ds, in);
            for (int f = 0; f < formulas.size(); f++) {
                List<Elementwise> formula = formulas.get(f);
                int launches = counter.launches();
                counted.k.evaluate(formula, x.subList(0, inputCounts[f]), ds);
                int launched = counter.launches() - launches;
                if (f < fused) {
                    assertEquals(1, launched, "one launch for the " + formula.size() + " expressions of formula " + f);
                } else {
                    assertTrue(launched > 1, "formula " + f + " is beyond the program: the primitives");
                }
                ElementwiseCases.assertExact(counted, java, formula, Arrays.copyOf(in, inputCounts[f]));
            }
            assertTrue(counted.k.evaluate(List.of(o), x.subList(0, 3), ds).get(0) != x.get(1),
                    "a bare input is a new tensor");
            IllegalArgumentException beyond = assertThrows(IllegalArgumentException.class,
                    () -> counted.k.evaluate(List.of(w), x.subList(0, 2), ds));
            assertTrue(beyond.getMessage().contains("input 4 of 2"), beyond.getMessage());
            List<Tensor> mixed = List.of(x.get(0), counted.k.upload(BackendRun.random(new Random(1), 2, 3), ds));
            assertThrows(IllegalArgumentException.class, () -> counted.k.evaluate(List.of(r.plus(o)), mixed, ds));
        }
        assertEquals(before, twin.liveAllocations(), "the results and temporaries are freed with their scope");
    }

    /** An expression over {@code a} and {@code b} of exactly {@code nodes} distinct nodes. */
    private static Elementwise chain(Elementwise a, Elementwise b, int nodes) {
        Elementwise e = a;
        for (int i = 2; i < nodes; i++) {
            e = i % 2 == 0 ? e.plus(b) : e.scaled(0.5f);
        }
        return e;
    }

    /**
     * Sums of few outputs over many elements run in parts joined per output (DeviceKernels.sumOver):
     * whole-tensor and per-channel sums, and a broadcast operand's gradient, against the Java
     * backend; one thread per output where the outputs are many. The parts' buffer is freed.
     */
    @Test
    void sumsOfFewOutputsOverManyElementsAreSplitIntoPartsAndMatchJava() {
        Random r = new Random(11);
        HostTensor x = BackendRun.random(r, 2, 3, 64, 64);
        HostTensor bias = BackendRun.random(r, 1, 3, 1, 1);
        HostTensor dy = BackendRun.random(r, 2, 3, 64, 64);
        assertTrue(x.shape().size() / 3 >= DeviceKernels.SPLIT_AT, "the per-channel sums are split");
        int before = twin.liveAllocations();
        try (TensorScope ds = device.scope.child(); TensorScope js = java.scope.child()) {
            for (List<Integer> axes : List.of(List.of(0, 1, 2, 3), List.of(0, 2, 3), List.of(3))) {
                Op.ReduceSum sum = new Op.ReduceSum(axes, true);
                HostTensor got = device.k.forward(sum, List.of(device.k.upload(x, ds)), ds).toHost();
                HostTensor want = java.k.forward(sum, List.of(java.k.upload(x, js)), js).toHost();
                assertEquals(want.shape(), got.shape());
                for (int i = 0; i < want.data().length; i++) {
                    assertEquals(want.data()[i], got.data()[i], 1e-6 * Math.abs(want.data()[i]), "sum over " + axes + " at " + i);
                }
            }
            Op.Add add = new Op.Add();
            List<Tensor> din = List.of(device.k.upload(x, ds), device.k.upload(bias, ds));
            List<Tensor> jin = List.of(java.k.upload(x, js), java.k.upload(bias, js));
            List<Tensor> got = device.k.inputGradients(add, din, device.k.forward(add, din, ds), device.k.upload(dy, ds), ds);
            List<Tensor> want = java.k.inputGradients(add, jin, java.k.forward(add, jin, js), java.k.upload(dy, js), js);
            float[] g = got.get(1).toHost().data();
            float[] w = want.get(1).toHost().data();
            for (int i = 0; i < w.length; i++) {
                assertEquals(w[i], g[i], 1e-6 * Math.abs(w[i]), "the bias gradient at " + i);
            }
        }
        assertEquals(before, twin.liveAllocations(), "the parts' buffer is freed");
    }

    @Test
    void buffersAreFreedWithTheirScopeAndParametersWithTheModel() throws InterruptedException {
        Random r = new Random(3);
        Op.Conv2d conv = new Op.Conv2d(BackendRun.random(r, 4, 3, 3, 3), BackendRun.random(r, 4),
                new Geometry2d(2, 2, 1, 0, 0, 1, 1, 1), 1);
        HostTensor x = BackendRun.random(r, 2, 3, 9, 9);
        int before = twin.liveAllocations();
        try (BackendRun run = new BackendRun(new DeviceBackend(twin))) {
            DevicePreparedModel model = (DevicePreparedModel) run.model;
            for (int i = 0; i < 200; i++) {
                // a rule's modified weights: a new HostTensor per request, dropped after it
                Op.Conv2d modified = conv.withParameters(BackendRun.random(r, 4, 3, 3, 3), conv.bias());
                try (TensorScope s = run.scope.child()) {
                    List<Tensor> in = run.upload(s, x);
                    Tensor y = run.k.forward(modified, in, s);
                    run.k.inputGradients(modified, in, y, y, s);
                    run.k.stabilize(y, 1e-6f, s);
                }
                assertEquals(0, run.scope.liveTensors());
            }
            int params = model.parametersOnDevice();
            for (int tries = 0; tries < 100 && params > 2; tries++) { // reference processing runs after a GC
                System.gc();
                Thread.sleep(20);
                params = model.parametersOnDevice();
            }
            assertTrue(params < 200, "modified weights are freed once dropped: " + params + " on the device");
            assertEquals(before + params, twin.liveAllocations(), "only parameters stay between requests");
        }
        assertEquals(before, twin.liveAllocations(), "closing the model frees its parameters");
    }

    @Test
    void freedBuffersAreReusedByTheNextAllocationOfTheirSizeUpToTheCap() {
        int before = twin.liveAllocations();
        CachingDevice caching = new CachingDevice(twin, 3 * 1000 * Float.BYTES);
        long a = caching.allocate(1000);
        long b = caching.allocate(1000);
        long c = caching.allocate(500);
        caching.free(a);
        assertEquals(a, caching.allocate(1000), "the freed buffer of that size comes back");
        caching.free(a);
        caching.free(b);
        caching.free(c);
        assertEquals(0, caching.liveAllocations());
        assertEquals(before + 3, twin.liveAllocations(), "freed buffers stay allocated on the device");
        long d = caching.allocate(2000); // 2000 + the cached 2500 floats exceed 3000 when d is freed
        caching.free(d);
        assertTrue(caching.cachedBuffers() < 4, "the cap sends the oldest sizes back: " + caching.cachedBuffers());
        caching.close();
        assertEquals(before, twin.liveAllocations(), "closing frees the cache");
        CachingDevice pooled = new CachingDevice(twin, 1L << 30);
        try (BackendRun run = new BackendRun(new DeviceBackend(pooled))) {
            Random r = new Random(11);
            Op.Conv2d conv = new Op.Conv2d(BackendRun.random(r, 4, 3, 3, 3), null, new Geometry2d(1, 1, 1, 0, 0, 1, 1, 1),
                    1);
            HostTensor x = BackendRun.random(r, 2, 3, 8, 8);
            int[] onDevice = new int[50];
            for (int i = 0; i < onDevice.length; i++) {
                try (TensorScope s = run.scope.child()) {
                    List<Tensor> in = run.upload(s, x);
                    Tensor y = run.k.forward(conv, in, s);
                    run.k.inputGradients(conv, in, y, y, s);
                }
                onDevice[i] = twin.liveAllocations();
            }
            assertEquals(onDevice[0], onDevice[onDevice.length - 1], "requests after the first allocate nothing new");
            assertEquals(1, pooled.liveAllocations(), "between requests only the weight is held");
        }
        pooled.close();
        assertEquals(before, twin.liveAllocations());
    }

    @Test
    void aTensorOfAClosedScopeOrAnotherBackendIsRefusedByName() {
        TensorScope s = device.scope.child();
        Tensor t = device.k.upload(HostTensor.zeros(dev.glassbox.api.tensor.Shape.of(2, 3)), s);
        s.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> device.k.abs(t, device.scope));
        assertTrue(closed.getMessage().contains("used after its scope was closed"), closed.getMessage());
        try (TensorScope js = java.scope.child()) {
            Tensor foreign = java.k.upload(HostTensor.zeros(dev.glassbox.api.tensor.Shape.of(2, 3)), js);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> device.k.abs(foreign, device.scope));
            assertTrue(e.getMessage().contains("does not belong to the cudnn backend"), e.getMessage());
        }
    }
}

package dev.glassbox.backend.cudnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.backend.conformance.ElementwiseCases;
import dev.glassbox.backend.conformance.KernelCases;
import dev.glassbox.backend.java.JavaBackend;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The backend on a real GPU: every conformance case against the Java backend, and device
 * allocations counted back over many requests. Skipped, with the reason {@code glassbox list}
 * would give, where the CUDA libraries or a device are missing (set {@code -Dglassbox.cuda.path}
 * to the directories of libcudart, libcudnn and libcublas where they are not on the default
 * search path). The descriptor test needs only libcudnn, no device.
 */
class GpuBackendTest {
    private static GpuDevice gpu;

    private static synchronized GpuDevice gpu() {
        Availability a = CudaEnvironment.probe(NativeLibraries.searchPath());
        if (!a.isAvailable()) {
            System.err.println("GpuBackendTest skipped: cudnn backend " + a);
        }
        assumeTrue(a.isAvailable(), () -> "cudnn backend " + a);
        if (gpu == null) {
            gpu = CudaEnvironment.open(NativeLibraries.searchPath());
        }
        return gpu;
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyOpMatchesJavaOnTheGpu() {
        GpuDevice device = gpu();
        BackendRun cudnn = new BackendRun(new DeviceBackend(device));
        BackendRun java = new BackendRun(new JavaBackend(1));
        double[] worst = new double[2];
        return Stream.concat(KernelCases.cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            double[] e = KernelCases.check(c, cudnn, java);
            worst[0] = Math.max(worst[0], e[0]);
            worst[1] = Math.max(worst[1], e[1]);
        })), Stream.of(DynamicTest.dynamicTest("close", () -> {
            System.out.printf("cudnn (GPU) vs Java: worst normwise error forward %.3g, VJP %.3g%n", worst[0], worst[1]);
            cudnn.close();
            java.close();
        })));
    }

    /**
     * The evaluate kernel's PTX, with no fused multiply-adds: one launch per formula, and the
     * same bits as the primitives' kernels and the Java backend.
     */
    @Test
    void evaluateOnTheGpuIsOneLaunchAndExact() {
        HostTensor[] in = ElementwiseCases.inputs(new Random(13), 3);
        LaunchCounter counter = new LaunchCounter(gpu());
        try (BackendRun cudnn = new BackendRun(new DeviceBackend(counter));
             BackendRun java = new BackendRun(new JavaBackend(1))) {
            for (List<Elementwise> formula : List.of(ElementwiseCases.gammaSeeds(),
                    ElementwiseCases.otherPrimitives().subList(0, Program.MAX_RESULTS))) {
                try (TensorScope s = cudnn.scope.child()) {
                    List<Tensor> x = cudnn.upload(s, in);
                    int launches = counter.launches();
                    cudnn.k.evaluate(formula, x, s);
                    assertEquals(1, counter.launches() - launches, "one launch");
                }
                ElementwiseCases.assertExact(cudnn, java, formula, in);
            }
        }
    }

    /** No atomics and deterministic cuDNN algorithms: the same request gives the same bits twice. */
    @Test
    void theSameRequestGivesTheSameBitsEveryTime() {
        try (BackendRun run = new BackendRun(new DeviceBackend(gpu()))) {
            for (KernelCases.Case c : KernelCases.cases()) {
                Random r = new Random(c.name().hashCode());
                HostTensor[] in = c.inputs().stream().map(g -> g.apply(r)).toArray(HostTensor[]::new);
                HostTensor dy = BackendRun.random(r, run.forward(c.op(), in).shape().dims());
                List<HostTensor> first = run.gradients(c.op(), dy, in);
                List<HostTensor> second = run.gradients(c.op(), dy, in);
                for (int i = 0; i < first.size(); i++) {
                    assertArrayEquals(first.get(i).data(), second.get(i).data(), c.name() + ", input " + i);
                }
            }
        }
    }

    /** As the backend runs: a fresh device behind a {@link CachingDevice}; cudaMalloc'd buffers are counted too. */
    @Test
    void deviceAllocationsReturnToTheParametersAfterEveryRequest() {
        gpu();
        GpuDevice device = CudaEnvironment.open(NativeLibraries.searchPath());
        CachingDevice pooled = new CachingDevice(device, 1L << 30);
        Random r = new Random(5);
        Op.Conv2d conv = new Op.Conv2d(BackendRun.random(r, 8, 3, 3, 3), BackendRun.random(r, 8),
                new Geometry2d(2, 2, 1, 1, 1, 1, 1, 1), 1);
        Op.Dense dense = new Op.Dense(BackendRun.random(r, 10, 8 * 5 * 5), BackendRun.random(r, 10));
        HostTensor x = BackendRun.random(r, 4, 3, 9, 9);
        int afterFirst = -1;
        try (BackendRun run = new BackendRun(new DeviceBackend(pooled))) {
            for (int i = 0; i < 500; i++) {
                try (TensorScope s = run.scope.child()) {
                    List<Tensor> in = run.upload(s, x);
                    Tensor y = run.k.forward(conv, in, s);
                    Tensor flat = run.k.forward(new Op.Flatten(1), List.of(y), s);
                    Tensor z = run.k.forward(dense, List.of(flat), s);
                    Tensor dz = run.k.inputGradients(dense, List.of(flat), z, z, s).get(0);
                    Tensor dy = run.k.inputGradients(new Op.Flatten(1), List.of(y), flat, dz, s).get(0);
                    run.k.inputGradients(conv, in, y, dy, s);
                }
                afterFirst = i == 0 ? device.liveAllocations() : afterFirst;
                assertEquals(4, pooled.liveAllocations(), "only the four parameters stay between requests");
            }
            assertEquals(afterFirst, device.liveAllocations(), "later requests reuse the first one's buffers");
        }
        assertEquals(0, pooled.liveAllocations(), "closing the model frees its parameters");
        pooled.close();
        assertEquals(0, device.liveAllocations(), "closing frees every cudaMalloc'd buffer");
    }

    /**
     * cuDNN's own output sizes agree with {@link ConvolutionShape}'s (a plan checks that when it
     * is made), and a failed call names itself with cuDNN's status name. Needs only libcudnn
     * (tools/fetch_cudnn_redist.py extracts it from Maven Central's redistributable).
     */
    @Test
    void cudnnDescribesConvolutionsWithoutADevice() {
        Optional<Path> file = NativeLibraries.find("cudnn", NativeLibraries.searchPath());
        assumeTrue(file.isPresent(), () -> "no libcudnn on " + NativeLibraries.searchPath());
        Cudnn cudnn = Cudnn.load(file.get());
        System.out.println("cuDNN " + cudnn.version() + " from " + file.get());
        assertTrue(cudnn.version() >= 8000, "cuDNN version " + cudnn.version());
        List<ConvolutionShape> shapes = List.of(
                new ConvolutionShape(2, 3, 224, 224, 64, 7, 7, 3, 3, 2, 2, 1, 1, 1),   // resnet's stem
                new ConvolutionShape(1, 8, 13, 11, 8, 3, 3, 1, 1, 2, 2, 1, 1, 8),     // depthwise, stride 2
                new ConvolutionShape(3, 4, 9, 10, 6, 3, 2, 2, 0, 1, 3, 2, 1, 2),      // dilation 2, groups 2
                new ConvolutionShape(1, 3, 5, 5, 4, 1, 1, 0, 0, 2, 2, 1, 1, 1));      // kernel below stride
        for (ConvolutionShape s : shapes) {
            try (ConvolutionPlan plan = new ConvolutionPlan(cudnn, s)) {
                assertArrayEquals(new int[] {s.n(), s.k(), s.outHeight(), s.outWidth()},
                        cudnn.forwardOutputDim(plan.convolution, plan.input, plan.filter), s::toString);
            }
        }
        long tensor = cudnn.createTensor();
        try {
            CudaException e = assertThrows(CudaException.class, () -> cudnn.setTensor(tensor, 0, 3, 4, 4));
            assertEquals("cudnnSetTensor4dDescriptor", e.call());
            assertTrue(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), e.getMessage());
        } finally {
            cudnn.destroyTensor(tensor);
        }
        if (!CudaEnvironment.probe(NativeLibraries.searchPath()).isAvailable()) {
            // no device: the handle cannot be made, and the error says which call and why
            CudaException e = assertThrows(CudaException.class, cudnn::createHandle);
            assertEquals("cudnnCreate", e.call());
            System.out.println("without a device: " + e.getMessage());
        }
    }
}

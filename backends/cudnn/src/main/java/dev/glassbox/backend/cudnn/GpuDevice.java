package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Device 0 through the CUDA runtime, the driver (the PTX kernels), cuDNN and cuBLAS. One cuDNN
 * and one cuBLAS handle serve every thread, so calls are serialised by a lock; all work goes to
 * the default stream, in order, and copies back to the host wait for it. The device's primary
 * context is retained while this device is open and made current right before every native
 * call (a thread-local flag would go stale on virtual threads, which change carriers, and
 * where other code switches contexts).
 */
final class GpuDevice implements Device {
    /** Threads per block; every kernel walks its range with a grid-stride loop. */
    private static final int THREADS = 256;
    private static final int MAX_BLOCKS = 1 << 16;
    /** The PTX of kernels.cu (build-ptx.sh), a bundle resource. */
    static final String PTX_RESOURCE = "kernels.ptx";

    private final CudaRuntime runtime;
    private final CudaDriver driver;
    private final Cudnn cudnn;
    private final Cublas cublas;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger live = new AtomicInteger();
    private final Map<ConvolutionShape, ConvolutionPlan> plans = new HashMap<>();
    private final Map<Kernel, Long> functions = new EnumMap<>(Kernel.class);
    private final int ordinal;
    private final long context;
    private final long module;
    private final long cudnnHandle;
    private final long cublasHandle;
    /** cuDNN's scratch memory, grown as needed and kept: freeing it would wait for the device. */
    private long workspace;
    private long workspaceBytes;

    GpuDevice(CudaRuntime runtime, CudaDriver driver, Cudnn cudnn, Cublas cublas) {
        this.runtime = runtime;
        this.driver = driver;
        this.cudnn = cudnn;
        this.cublas = cublas;
        driver.init();
        ordinal = driver.device(0);
        context = driver.retainPrimaryContext(ordinal);
        bind();
        long loaded;
        try {
            loaded = driver.loadModule(ptx());
        } catch (RuntimeException e) {
            driver.releasePrimaryContext(ordinal);
            throw e;
        }
        module = loaded;
        long dnn = 0;
        try {
            for (Kernel k : Kernel.values()) {
                functions.put(k, driver.function(module, k.symbol()));
            }
            dnn = cudnn.createHandle();
            cudnnHandle = dnn;
            cublasHandle = cublas.createHandle();
        } catch (RuntimeException e) {
            if (dnn != 0) {
                cudnn.destroyHandle(dnn);
            }
            driver.unloadModule(module);
            driver.releasePrimaryContext(ordinal);
            throw e;
        }
    }

    static String ptx() {
        try (InputStream in = GpuDevice.class.getResourceAsStream(PTX_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the bundle lacks its PTX resource " + PTX_RESOURCE);
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Makes the primary context current on this thread: the next native call runs in it. */
    private void bind() {
        driver.setCurrent(context);
    }

    @Override
    public long allocate(long floats) {
        if (floats == 0) {
            return 0;
        }
        bind();
        long address = runtime.malloc(Math.multiplyExact(floats, Float.BYTES));
        live.incrementAndGet();
        return address;
    }

    @Override
    public void free(long address) {
        if (address == 0) {
            return;
        }
        bind();
        runtime.free(address);
        live.decrementAndGet();
    }

    @Override
    public int liveAllocations() {
        return live.get();
    }

    @Override
    public void copyIn(float[] src, long dst) {
        toDevice(dst, src.length, arena -> arena.allocateFrom(JAVA_FLOAT, src));
    }

    @Override
    public void copyIn(int[] src, long dst) {
        toDevice(dst, src.length, arena -> arena.allocateFrom(JAVA_INT, src));
    }

    /** Copies {@code count} values staged off-heap by {@code staging} to {@code dst}. */
    private void toDevice(long dst, int count, Function<Arena, MemorySegment> staging) {
        if (count == 0) {
            return;
        }
        bind();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = staging.apply(arena);
            runtime.memcpy(dst, values.address(), values.byteSize(), CudaRuntime.HOST_TO_DEVICE);
        }
    }

    @Override
    public void copyOut(long src, float[] dst) {
        if (dst.length == 0) {
            return;
        }
        bind();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(JAVA_FLOAT, dst.length);
            runtime.memcpy(staging.address(), src, staging.byteSize(), CudaRuntime.DEVICE_TO_HOST);
            MemorySegment.copy(staging, JAVA_FLOAT, 0, dst, 0, dst.length);
        }
    }

    @Override
    public void copy(long src, long dst, long floats) {
        if (floats == 0) {
            return;
        }
        bind();
        runtime.memcpy(dst, src, floats * Float.BYTES, CudaRuntime.DEVICE_TO_DEVICE);
    }

    @Override
    public void launch(Kernel kernel, long n, Object... args) {
        kernel.check(args);
        if (n == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            // kernelParams: one pointer per parameter, to a copy of its value
            MemorySegment params = arena.allocate(ADDRESS, args.length + 1);
            params.setAtIndex(ADDRESS, 0, arena.allocateFrom(JAVA_LONG, n));
            for (int i = 0; i < args.length; i++) {
                MemorySegment value = switch (args[i]) {
                    case Integer v -> arena.allocateFrom(JAVA_INT, v);
                    case Float v -> arena.allocateFrom(JAVA_FLOAT, v);
                    case Long v -> arena.allocateFrom(JAVA_LONG, v);
                    case int[] v -> arena.allocateFrom(JAVA_INT, v);
                    default -> throw new IllegalArgumentException("argument " + args[i]);
                };
                params.setAtIndex(ADDRESS, i + 1, value);
            }
            int blocks = (int) Math.min((n + THREADS - 1) / THREADS, MAX_BLOCKS);
            lock.lock();
            try {
                bind();
                driver.launch(kernel.symbol(), functions.get(kernel), blocks, THREADS, params);
            } finally {
                lock.unlock();
            }
        }
    }


    @Override
    public void convolutionForward(ConvolutionShape shape, long x, long w, long y) {
        convolution(shape, true, x, w, y);
    }

    @Override
    public void convolutionBackwardData(ConvolutionShape shape, long dy, long w, long dx) {
        convolution(shape, false, dy, w, dx);
    }

    /** One cuDNN pass with the plan's algorithm and the shared workspace. */
    private void convolution(ConvolutionShape shape, boolean forward, long in, long w, long out) {
        lock.lock();
        try {
            bind();
            ConvolutionPlan p = plans.computeIfAbsent(shape, s -> new ConvolutionPlan(cudnn, s));
            ConvolutionPlan.Algorithm algo = forward ? p.forward(cudnnHandle) : p.backwardData(cudnnHandle);
            long bytes = algo.workspaceBytes();
            long scratch = workspace(bytes);
            if (forward) {
                cudnn.forward(cudnnHandle, p.input, in, p.filter, w, p.convolution, algo.id(), scratch, bytes, p.output,
                        out);
            } else {
                cudnn.backwardData(cudnnHandle, p.filter, w, p.output, in, p.convolution, algo.id(), scratch, bytes,
                        p.input, out);
            }
        } finally {
            lock.unlock();
        }
    }

    /** The workspace, at least {@code bytes} large (under the lock). */
    private long workspace(long bytes) {
        if (bytes > workspaceBytes) {
            if (workspace != 0) {
                runtime.free(workspace);
                workspace = 0;
                workspaceBytes = 0;
            }
            workspace = runtime.malloc(bytes);
            workspaceBytes = bytes;
        }
        return workspace;
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c,
                     int ldc) {
        lock.lock();
        try {
            bind();
            cublas.sgemm(cublasHandle, transA ? Cublas.TRANSPOSE : Cublas.NO_TRANSPOSE,
                    transB ? Cublas.TRANSPOSE : Cublas.NO_TRANSPOSE, m, n, k, a, lda, b, ldb, c, ldc);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            bind();
            runtime.synchronize();
            for (ConvolutionPlan p : plans.values()) {
                p.close();
            }
            plans.clear();
            if (workspace != 0) {
                runtime.free(workspace);
                workspace = 0;
            }
            cublas.destroyHandle(cublasHandle);
            cudnn.destroyHandle(cudnnHandle);
            driver.unloadModule(module);
            driver.releasePrimaryContext(ordinal);
        } finally {
            lock.unlock();
        }
    }
}

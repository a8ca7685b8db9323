package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * The GPU's CPU twin: host memory from malloc, {@code kernels.cu} built for the host with gcc
 * ({@code -DGLASSBOX_HOST}: each grid-stride loop a plain loop) and launched through the same
 * {@link Kernel} signatures, and {@code src/test/c/reference.c} in place of cuDNN and cuBLAS.
 * Everything the backend does above {@link Device} runs on it unchanged.
 */
final class HostDevice implements Device {
    private static final Linker LINKER = Linker.nativeLinker();

    private final Map<Kernel, MethodHandle> kernels = new EnumMap<>(Kernel.class);
    private final MethodHandle convolutionForward;
    private final MethodHandle convolutionBackwardData;
    private final MethodHandle sgemm;
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final AtomicInteger live = new AtomicInteger();

    private HostDevice(SymbolLookup twin) {
        for (Kernel k : Kernel.values()) {
            List<MemoryLayout> args = new ArrayList<>();
            args.add(JAVA_LONG);
            for (Kernel.Param p : k.params()) {
                args.add(switch (p.type()) {
                    case INT -> JAVA_INT;
                    case FLOAT -> JAVA_FLOAT;
                    case ADDRESS -> JAVA_LONG;
                    case STRUCT -> MemoryLayout.structLayout(MemoryLayout.sequenceLayout(p.ints(), JAVA_INT));
                });
            }
            kernels.put(k, LINKER.downcallHandle(twin.find(k.symbol()).orElseThrow(),
                    FunctionDescriptor.ofVoid(args.toArray(MemoryLayout[]::new))));
        }
        FunctionDescriptor conv = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_LONG);
        convolutionForward = LINKER.downcallHandle(twin.find("reference_convolution_forward").orElseThrow(), conv);
        convolutionBackwardData = LINKER.downcallHandle(twin.find("reference_convolution_backward_data").orElseThrow(),
                conv);
        sgemm = LINKER.downcallHandle(twin.find("reference_sgemm").orElseThrow(), FunctionDescriptor.ofVoid(JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        SymbolLookup libc = LINKER.defaultLookup();
        malloc = LINKER.downcallHandle(libc.find("malloc").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        free = LINKER.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(JAVA_LONG));
    }

    /** The twin, or the reason it cannot be built here (a String); built once per JVM into target/twin. */
    private static Object built;

    /** The twin; aborts the calling test (skipped, with the reason) where it cannot be built. */
    static synchronized HostDevice twin() {
        if (built == null) {
            built = compile();
        }
        if (built instanceof String reason) {
            // .ci/run installs gcc: there a missing twin is a failure, not a skip
            if (System.getenv("GLASSBOX_CI") != null) {
                throw new IllegalStateException(reason);
            }
            Assumptions.abort(reason);
        }
        return (HostDevice) built;
    }

    private static Object compile() {
        Path module = Path.of(System.getProperty("user.dir"));
        Path out = module.resolve("target/twin/libglassbox-twin.so");
        try {
            Files.createDirectories(out.getParent());
            Process gcc = new ProcessBuilder("gcc", "-O1", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC",
                    "-DGLASSBOX_HOST", "-x", "c", "src/main/cuda/kernels.cu", "src/test/c/reference.c", "-o",
                    out.toString(), "-lm").directory(module.toFile()).redirectErrorStream(true).start();
            String log = new String(gcc.getInputStream().readAllBytes());
            if (!gcc.waitFor(120, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
                throw new IllegalStateException("gcc failed to build the CPU twin:\n" + log);
            }
        } catch (IOException e) {
            return "no C compiler to build the CPU twin (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return new HostDevice(SymbolLookup.libraryLookup(out, Arena.global()));
    }

    private static MemorySegment segment(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public long allocate(long floats) {
        if (floats == 0) {
            return 0;
        }
        try {
            long address = ((MemorySegment) malloc.invokeExact(floats * Float.BYTES)).address();
            if (address == 0) {
                throw new OutOfMemoryError("malloc(" + floats * Float.BYTES + ")");
            }
            live.incrementAndGet();
            return address;
        } catch (Throwable t) {
            throw NativeLibrary.failure("malloc", t);
        }
    }

    @Override
    public void free(long address) {
        if (address == 0) {
            return;
        }
        try {
            free.invokeExact(address);
            live.decrementAndGet();
        } catch (Throwable t) {
            throw NativeLibrary.failure("free", t);
        }
    }

    @Override
    public int liveAllocations() {
        return live.get();
    }

    @Override
    public void copyIn(float[] src, long dst) {
        MemorySegment.copy(src, 0, segment(dst, (long) src.length * Float.BYTES), JAVA_FLOAT, 0, src.length);
    }

    @Override
    public void copyIn(int[] src, long dst) {
        MemorySegment.copy(src, 0, segment(dst, (long) src.length * Integer.BYTES), JAVA_INT, 0, src.length);
    }

    @Override
    public void copyOut(long src, float[] dst) {
        MemorySegment.copy(segment(src, (long) dst.length * Float.BYTES), JAVA_FLOAT, 0, dst, 0, dst.length);
    }

    @Override
    public void copy(long src, long dst, long floats) {
        MemorySegment.copy(segment(src, floats * Float.BYTES), 0, segment(dst, floats * Float.BYTES), 0,
                floats * Float.BYTES);
    }

    @Override
    public void launch(Kernel kernel, long n, Object... args) {
        kernel.check(args);
        if (n == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            List<Object> values = new ArrayList<>();
            values.add(n);
            for (Object a : args) {
                values.add(a instanceof int[] struct ? arena.allocateFrom(JAVA_INT, struct) : a);
            }
            kernels.get(kernel).invokeWithArguments(values);
        } catch (Throwable t) {
            throw NativeLibrary.failure(kernel.symbol(), t);
        }
    }

    @Override
    public void convolutionForward(ConvolutionShape s, long x, long w, long y) {
        convolution(convolutionForward, s, x, w, y);
    }

    @Override
    public void convolutionBackwardData(ConvolutionShape s, long dy, long w, long dx) {
        convolution(convolutionBackwardData, s, dy, w, dx);
    }

    private static void convolution(MethodHandle f, ConvolutionShape s, long in, long w, long out) {
        try {
            f.invokeExact(s.n(), s.c(), s.h(), s.w(), s.k(), s.r(), s.s(), s.padH(), s.padW(), s.strideH(), s.strideW(),
                    s.dilationH(), s.dilationW(), s.groups(), in, w, out);
        } catch (Throwable t) {
            throw NativeLibrary.failure("reference convolution", t);
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c,
                     int ldc) {
        try {
            sgemm.invokeExact(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, c, ldc);
        } catch (Throwable t) {
            throw NativeLibrary.failure("reference_sgemm", t);
        }
    }

    @Override
    public void close() {
    }
}

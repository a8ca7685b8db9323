package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/** The cuBLAS calls the backend makes ({@code libcublas}): a handle in pedantic float32 math and SGEMM. */
final class Cublas {
    static final int SUCCESS = 0;
    /** {@code CUBLAS_OP_N}, {@code CUBLAS_OP_T}. */
    static final int NO_TRANSPOSE = 0;
    static final int TRANSPOSE = 1;
    /** {@code CUBLAS_PEDANTIC_MATH}: float32 as written, no TF32 or reduced-precision reductions. */
    static final int PEDANTIC_MATH = 2;

    private final NativeLibrary lib;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setMathMode;
    private final MethodHandle sgemm;
    private final MethodHandle getStatusString;

    private Cublas(NativeLibrary lib) {
        this.lib = lib;
        create = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        setMathMode = lib.function("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        sgemm = lib.function("cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        getStatusString = lib.function("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** @throws IllegalArgumentException if it does not load or lacks one of the functions */
    static Cublas load(Path file) {
        return new Cublas(NativeLibrary.load(file));
    }

    Path file() {
        return lib.file();
    }

    String errorString(int status) {
        try {
            return NativeLibrary.string((MemorySegment) getStatusString.invokeExact(status), "unknown status");
        } catch (Throwable t) {
            throw NativeLibrary.failure("cublasGetStatusString", t);
        }
    }

    void check(String call, int status) {
        if (status != SUCCESS) {
            throw new CudaException(call, status, errorString(status));
        }
    }

    /** A handle on the current device, set to {@link #PEDANTIC_MATH}. */
    long createHandle() {
        long handle = NativeLibrary.longOut("cublasCreate_v2", this::check, (out, a) -> (int) create.invokeExact(out));
        try {
            NativeLibrary.call("cublasSetMathMode", this::check,
                    () -> (int) setMathMode.invokeExact(handle, PEDANTIC_MATH));
        } catch (RuntimeException e) {
            destroyHandle(handle);
            throw e;
        }
        return handle;
    }

    void destroyHandle(long handle) {
        NativeLibrary.call("cublasDestroy_v2", this::check, () -> (int) destroy.invokeExact(handle));
    }

    /** Column-major {@code C = op(A) op(B)}, {@code C} {@code m x n} (alpha 1, beta 0). */
    void sgemm(long handle, int transA, int transB, int m, int n, int k, long a, int lda, long b, int ldb, long c,
               int ldc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment zero = arena.allocateFrom(JAVA_FLOAT, 0f);
            NativeLibrary.call("cublasSgemm_v2", this::check, () -> (int) sgemm.invokeExact(handle, transA, transB, m, n,
                    k, one, a, lda, b, ldb, zero, c, ldc));
        }
    }
}

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

/**
 * The cuDNN calls the backend makes ({@code libcudnn}, the legacy convolution API that cuDNN 9
 * still ships): descriptors, the convolution's output size, algorithm choice, forward
 * convolution and its backward-data pass. Handles and descriptors are opaque pointers, held as
 * {@code long}; {@link ConvolutionPlan} owns the descriptors of one convolution.
 */
final class Cudnn {
    static final int SUCCESS = 0;
    /** {@code CUDNN_TENSOR_NCHW}, {@code CUDNN_DATA_FLOAT}, {@code CUDNN_CROSS_CORRELATION}. */
    static final int NCHW = 0;
    static final int FLOAT = 0;
    static final int CROSS_CORRELATION = 1;
    /** {@code CUDNN_FMA_MATH}: plain float32 arithmetic, no TF32 or other tensor-core shortcuts. */
    static final int FMA_MATH = 3;
    /** {@code CUDNN_DEFAULT_MATH}, {@code CUDNN_DETERMINISTIC}. */
    static final int DEFAULT_MATH = 0;
    static final int DETERMINISTIC = 1;

    /**
     * {@code cudnnConvolutionFwdAlgoPerf_t} and {@code ...BwdDataAlgoPerf_t}: {@code int algo,
     * int status, float time, size_t memory, int determinism, int mathType, int reserved[3]}.
     */
    static final long PERF_SIZE = 48;
    static final long PERF_ALGO = 0;
    static final long PERF_STATUS = 4;
    static final long PERF_MEMORY = 16;
    static final long PERF_DETERMINISM = 24;
    static final long PERF_MATH = 28;

    private final NativeLibrary lib;
    private final MethodHandle getVersion;
    private final MethodHandle getErrorString;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle createTensor;
    private final MethodHandle setTensor4d;
    private final MethodHandle destroyTensor;
    private final MethodHandle createFilter;
    private final MethodHandle setFilter4d;
    private final MethodHandle destroyFilter;
    private final MethodHandle createConvolution;
    private final MethodHandle setConvolution2d;
    private final MethodHandle setGroupCount;
    private final MethodHandle setMathType;
    private final MethodHandle destroyConvolution;
    private final MethodHandle forwardOutputDim;
    private final MethodHandle forwardAlgorithm;
    private final MethodHandle forwardWorkspace;
    private final MethodHandle convolutionForward;
    private final MethodHandle backwardDataAlgorithm;
    private final MethodHandle backwardDataWorkspace;
    private final MethodHandle convolutionBackwardData;

    private Cudnn(NativeLibrary lib) {
        this.lib = lib;
        getVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        getErrorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        create = lib.function("cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cudnnDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        createTensor = lib.function("cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setTensor4d = lib.function("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyTensor = lib.function("cudnnDestroyTensorDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        createFilter = lib.function("cudnnCreateFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setFilter4d = lib.function("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = lib.function("cudnnDestroyFilterDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        createConvolution = lib.function("cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setConvolution2d = lib.function("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setGroupCount = lib.function("cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        setMathType = lib.function("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        destroyConvolution = lib.function("cudnnDestroyConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        forwardOutputDim = lib.function("cudnnGetConvolution2dForwardOutputDim", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        forwardAlgorithm = lib.function("cudnnGetConvolutionForwardAlgorithm_v7", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        forwardWorkspace = lib.function("cudnnGetConvolutionForwardWorkspaceSize", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));
        convolutionForward = lib.function("cudnnConvolutionForward", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS,
                JAVA_LONG, JAVA_LONG));
        backwardDataAlgorithm = lib.function("cudnnGetConvolutionBackwardDataAlgorithm_v7", FunctionDescriptor.of(
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        backwardDataWorkspace = lib.function("cudnnGetConvolutionBackwardDataWorkspaceSize", FunctionDescriptor.of(
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS));
        convolutionBackwardData = lib.function("cudnnConvolutionBackwardData", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
    }

    /** @throws IllegalArgumentException if it does not load or lacks one of the functions */
    static Cudnn load(Path file) {
        return new Cudnn(NativeLibrary.load(file));
    }

    Path file() {
        return lib.file();
    }

    /** e.g. 90500 for 9.5.0 (needs no device). */
    long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw NativeLibrary.failure("cudnnGetVersion", t);
        }
    }

    String errorString(int status) {
        try {
            return NativeLibrary.string((MemorySegment) getErrorString.invokeExact(status), "unknown status");
        } catch (Throwable t) {
            throw NativeLibrary.failure("cudnnGetErrorString", t);
        }
    }

    void check(String call, int status) {
        if (status != SUCCESS) {
            throw new CudaException(call, status, errorString(status));
        }
    }

    /** {@code cudnnCreate}: needs a device (status 1001 without one). */
    long createHandle() {
        return created("cudnnCreate", create);
    }

    void destroyHandle(long handle) {
        destroyed("cudnnDestroy", destroy, handle);
    }

    long createTensor() {
        return created("cudnnCreateTensorDescriptor", createTensor);
    }

    /** A dense float NCHW tensor descriptor. */
    void setTensor(long desc, int n, int c, int h, int w) {
        NativeLibrary.call("cudnnSetTensor4dDescriptor", this::check,
                () -> (int) setTensor4d.invokeExact(desc, NCHW, FLOAT, n, c, h, w));
    }

    void destroyTensor(long desc) {
        destroyed("cudnnDestroyTensorDescriptor", destroyTensor, desc);
    }

    long createFilter() {
        return created("cudnnCreateFilterDescriptor", createFilter);
    }

    /** A float {@code [k, c, h, w]} filter. */
    void setFilter(long desc, int k, int c, int h, int w) {
        NativeLibrary.call("cudnnSetFilter4dDescriptor", this::check,
                () -> (int) setFilter4d.invokeExact(desc, FLOAT, NCHW, k, c, h, w));
    }

    void destroyFilter(long desc) {
        destroyed("cudnnDestroyFilterDescriptor", destroyFilter, desc);
    }

    long createConvolution() {
        return created("cudnnCreateConvolutionDescriptor", createConvolution);
    }

    /** A float cross-correlation with symmetric padding, in groups, in plain FMA math. */
    void setConvolution(long desc, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int groups) {
        NativeLibrary.call("cudnnSetConvolution2dDescriptor", this::check, () -> (int) setConvolution2d.invokeExact(desc,
                padH, padW, strideH, strideW, dilationH, dilationW, CROSS_CORRELATION, FLOAT));
        NativeLibrary.call("cudnnSetConvolutionGroupCount", this::check, () -> (int) setGroupCount.invokeExact(desc, groups));
        NativeLibrary.call("cudnnSetConvolutionMathType", this::check, () -> (int) setMathType.invokeExact(desc, FMA_MATH));
    }

    void destroyConvolution(long desc) {
        destroyed("cudnnDestroyConvolutionDescriptor", destroyConvolution, desc);
    }

    /** cuDNN's own {@code [n, c, h, w]} of the convolution's output (needs no device). */
    int[] forwardOutputDim(long convolution, long input, long filter) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dims = arena.allocate(JAVA_INT, 4);
            NativeLibrary.call("cudnnGetConvolution2dForwardOutputDim", this::check, () -> (int) forwardOutputDim
                    .invokeExact(convolution, input, filter, dims, dims.asSlice(4), dims.asSlice(8), dims.asSlice(12)));
            return dims.toArray(JAVA_INT);
        }
    }

    /** The heuristics' ranked forward algorithms, as {@link #PERF_SIZE}-byte records; returns how many. */
    int forwardAlgorithms(long handle, long x, long w, long conv, long y, MemorySegment perf, int capacity) {
        return NativeLibrary.intOut("cudnnGetConvolutionForwardAlgorithm_v7", this::check,
                (count, a) -> (int) forwardAlgorithm.invokeExact(handle, x, w, conv, y, capacity, count, perf));
    }

    long forwardWorkspace(long handle, long x, long w, long conv, long y, int algo) {
        return NativeLibrary.longOut("cudnnGetConvolutionForwardWorkspaceSize", this::check,
                (size, a) -> (int) forwardWorkspace.invokeExact(handle, x, w, conv, y, algo, size));
    }

    /** {@code y = conv(x, w)} (alpha 1, beta 0). */
    void forward(long handle, long xDesc, long x, long wDesc, long w, long conv, int algo, long workspace,
                 long workspaceBytes, long yDesc, long y) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment zero = arena.allocateFrom(JAVA_FLOAT, 0f);
            NativeLibrary.call("cudnnConvolutionForward", this::check, () -> (int) convolutionForward.invokeExact(handle,
                    one, xDesc, x, wDesc, w, conv, algo, workspace, workspaceBytes, zero, yDesc, y));
        }
    }

    int backwardDataAlgorithms(long handle, long w, long dy, long conv, long dx, MemorySegment perf, int capacity) {
        return NativeLibrary.intOut("cudnnGetConvolutionBackwardDataAlgorithm_v7", this::check,
                (count, a) -> (int) backwardDataAlgorithm.invokeExact(handle, w, dy, conv, dx, capacity, count, perf));
    }

    long backwardDataWorkspace(long handle, long w, long dy, long conv, long dx, int algo) {
        return NativeLibrary.longOut("cudnnGetConvolutionBackwardDataWorkspaceSize", this::check,
                (size, a) -> (int) backwardDataWorkspace.invokeExact(handle, w, dy, conv, dx, algo, size));
    }

    /** {@code dx = conv^T(dy, w)} (alpha 1, beta 0). */
    void backwardData(long handle, long wDesc, long w, long dyDesc, long dy, long conv, int algo, long workspace,
                      long workspaceBytes, long dxDesc, long dx) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment zero = arena.allocateFrom(JAVA_FLOAT, 0f);
            NativeLibrary.call("cudnnConvolutionBackwardData", this::check, () -> (int) convolutionBackwardData
                    .invokeExact(handle, one, wDesc, w, dyDesc, dy, conv, algo, workspace, workspaceBytes, zero, dxDesc,
                            dx));
        }
    }

    private long created(String call, MethodHandle f) {
        return NativeLibrary.longOut(call, this::check, (out, a) -> (int) f.invokeExact(out));
    }

    private void destroyed(String call, MethodHandle f, long handle) {
        NativeLibrary.call(call, this::check, () -> (int) f.invokeExact(handle));
    }
}

package dev.glassbox.backend.cudnn;

/**
 * Where the backend's tensors live and its kernels run, at the level of addresses and launches:
 * the GPU ({@link GpuDevice}: CUDA runtime memory, the PTX kernels of {@code kernels.cu}, cuDNN
 * convolutions and cuBLAS GEMMs) or, in the tests, its CPU twin (host memory and the same
 * {@code kernels.cu} built for the host), so that everything above this interface is tested on
 * a machine without a GPU. Buffers are float32 and addressed as {@code long}; 0 is the empty
 * buffer.
 */
interface Device extends AutoCloseable {

    /** An uninitialised buffer of {@code floats} floats (0 for none); counted until freed. */
    long allocate(long floats);

    void free(long address);

    /** Buffers allocated and not yet freed: what the leak tests count. */
    int liveAllocations();

    void copyIn(float[] src, long dst);

    /** Copies ints (an index table) into a buffer of as many floats. */
    void copyIn(int[] src, long dst);

    void copyOut(long src, float[] dst);

    void copy(long src, long dst, long floats);

    /** Runs {@code kernel} over {@code n} elements with the rest of its arguments, in order. */
    void launch(Kernel kernel, long n, Object... args);

    /** {@code y = conv(x, w)}, NCHW, symmetric padding. */
    void convolutionForward(ConvolutionShape shape, long x, long w, long y);

    /** {@code dx = conv^T(dy, w)}: the input gradient of {@link #convolutionForward}. */
    void convolutionBackwardData(ConvolutionShape shape, long dy, long w, long dx);

    /**
     * cuBLAS' column-major SGEMM: {@code C (m x n) = op(A) op(B)} with leading dimensions
     * {@code lda}, {@code ldb}, {@code ldc}.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc);

    /** Releases what the device itself holds (handles, modules, plans), not the tensors' buffers. */
    @Override
    void close();
}

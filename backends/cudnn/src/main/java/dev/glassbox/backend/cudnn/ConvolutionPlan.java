package dev.glassbox.backend.cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The cuDNN descriptors of one {@link ConvolutionShape} and the algorithms chosen for it,
 * made once and reused by every call of that shape; closing destroys the descriptors. The
 * algorithms are chosen once, in plain FMA math (no TF32): see {@link #choose}.
 */
final class ConvolutionPlan implements AutoCloseable {
    private static final int CANDIDATES = 8;
    /** The most scratch memory an algorithm may ask for. */
    static final long MAX_WORKSPACE = 1L << 30;

    private final Cudnn cudnn;
    final ConvolutionShape shape;
    final long input;
    final long output;
    final long filter;
    final long convolution;
    private int forwardAlgo = -1;
    private long forwardWorkspace;
    private int backwardDataAlgo = -1;
    private long backwardDataWorkspace;

    /** Descriptors only; needs no device (so the shape arithmetic is testable without one). */
    ConvolutionPlan(Cudnn cudnn, ConvolutionShape s) {
        this.cudnn = cudnn;
        this.shape = s;
        long in = 0;
        long out = 0;
        long f = 0;
        long conv = 0;
        try {
            in = cudnn.createTensor();
            cudnn.setTensor(in, s.n(), s.c(), s.h(), s.w());
            f = cudnn.createFilter();
            cudnn.setFilter(f, s.k(), s.c() / s.groups(), s.r(), s.s());
            conv = cudnn.createConvolution();
            cudnn.setConvolution(conv, s.padH(), s.padW(), s.strideH(), s.strideW(), s.dilationH(), s.dilationW(),
                    s.groups());
            int[] dims = cudnn.forwardOutputDim(conv, in, f);
            int[] expected = {s.n(), s.k(), s.outHeight(), s.outWidth()};
            if (!java.util.Arrays.equals(dims, expected)) {
                throw new IllegalStateException("cuDNN computes output " + java.util.Arrays.toString(dims) + " for " + s
                        + ", the graph " + java.util.Arrays.toString(expected));
            }
            out = cudnn.createTensor();
            cudnn.setTensor(out, dims[0], dims[1], dims[2], dims[3]);
        } catch (RuntimeException e) {
            destroy(in, out, f, conv);
            throw e;
        }
        input = in;
        output = out;
        filter = f;
        convolution = conv;
    }

    /** The forward algorithm for {@code handle} and its workspace in bytes, chosen on first use. */
    synchronized int forwardAlgorithm(long handle) {
        if (forwardAlgo < 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment perf = arena.allocate(Cudnn.PERF_SIZE * CANDIDATES, 8);
                int n = cudnn.forwardAlgorithms(handle, input, filter, convolution, output, perf, CANDIDATES);
                forwardAlgo = choose(perf, n, "forward");
                forwardWorkspace = cudnn.forwardWorkspace(handle, input, filter, convolution, output, forwardAlgo);
            }
        }
        return forwardAlgo;
    }

    synchronized long forwardWorkspace() {
        return forwardWorkspace;
    }

    synchronized int backwardDataAlgorithm(long handle) {
        if (backwardDataAlgo < 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment perf = arena.allocate(Cudnn.PERF_SIZE * CANDIDATES, 8);
                int n = cudnn.backwardDataAlgorithms(handle, filter, output, convolution, input, perf, CANDIDATES);
                backwardDataAlgo = choose(perf, n, "backward data");
                backwardDataWorkspace = cudnn.backwardDataWorkspace(handle, filter, output, convolution, input,
                        backwardDataAlgo);
            }
        }
        return backwardDataAlgo;
    }

    synchronized long backwardDataWorkspace() {
        return backwardDataWorkspace;
    }

    /**
     * The heuristics' first algorithm that succeeds in plain FMA math, is deterministic (the
     * same gradients run to run) and needs at most {@link #MAX_WORKSPACE} bytes; failing that,
     * the first that succeeds in FMA or default math within the cap.
     */
    private int choose(MemorySegment perf, int n, String pass) {
        for (boolean strict : new boolean[] {true, false}) {
            for (int i = 0; i < n; i++) {
                long at = i * Cudnn.PERF_SIZE;
                int math = perf.get(ValueLayout.JAVA_INT, at + Cudnn.PERF_MATH);
                boolean ok = perf.get(ValueLayout.JAVA_INT, at + Cudnn.PERF_STATUS) == Cudnn.SUCCESS
                        && perf.get(ValueLayout.JAVA_LONG, at + Cudnn.PERF_MEMORY) <= MAX_WORKSPACE
                        && (strict ? math == Cudnn.FMA_MATH
                                && perf.get(ValueLayout.JAVA_INT, at + Cudnn.PERF_DETERMINISM) == Cudnn.DETERMINISTIC
                                : math == Cudnn.FMA_MATH || math == Cudnn.DEFAULT_MATH);
                if (ok) {
                    return perf.get(ValueLayout.JAVA_INT, at + Cudnn.PERF_ALGO);
                }
            }
        }
        throw new IllegalStateException("cuDNN offers no float32 " + pass + " algorithm for " + shape);
    }

    private void destroy(long in, long out, long f, long conv) {
        if (conv != 0) {
            cudnn.destroyConvolution(conv);
        }
        if (f != 0) {
            cudnn.destroyFilter(f);
        }
        if (out != 0) {
            cudnn.destroyTensor(out);
        }
        if (in != 0) {
            cudnn.destroyTensor(in);
        }
    }

    @Override
    public void close() {
        destroy(input, output, filter, convolution);
    }
}

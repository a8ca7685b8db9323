package dev.glassbox.backend.cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The cuDNN descriptors of one {@link ConvolutionShape} and the algorithms chosen for it,
 * made once and reused by every call of that shape; closing destroys the descriptors. The
 * algorithms are chosen once, in plain FMA math (no TF32): see {@link #firstSuitable}.
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
    private Algorithm forward;
    private Algorithm backwardData;

    /** A cuDNN algorithm and the workspace it needs, in bytes. */
    record Algorithm(int id, long workspaceBytes) {
    }

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

    /** The forward pass's algorithm, chosen on first use. */
    synchronized Algorithm forward(long handle) {
        if (forward == null) {
            forward = choose(handle, true);
        }
        return forward;
    }

    /** The backward-data pass's algorithm, chosen on first use. */
    synchronized Algorithm backwardData(long handle) {
        if (backwardData == null) {
            backwardData = choose(handle, false);
        }
        return backwardData;
    }

    private Algorithm choose(long handle, boolean forwardPass) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment perf = arena.allocate(Cudnn.PERF_SIZE * CANDIDATES, 8);
            int n = forwardPass
                    ? cudnn.forwardAlgorithms(handle, input, filter, convolution, output, perf, CANDIDATES)
                    : cudnn.backwardDataAlgorithms(handle, filter, output, convolution, input, perf, CANDIDATES);
            int id = firstSuitable(perf, n, forwardPass ? "forward" : "backward data");
            return new Algorithm(id, forwardPass
                    ? cudnn.forwardWorkspace(handle, input, filter, convolution, output, id)
                    : cudnn.backwardDataWorkspace(handle, filter, output, convolution, input, id));
        }
    }

    /**
     * The heuristics' first algorithm that succeeds in plain FMA math, is deterministic (the
     * same gradients run to run) and needs at most {@link #MAX_WORKSPACE} bytes; failing that,
     * the first that succeeds in FMA or default math within the cap.
     */
    private int firstSuitable(MemorySegment perf, int n, String pass) {
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

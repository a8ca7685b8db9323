package dev.glassbox.backend.cudnn;

/** A device that passes every call on to another; subclasses change what they need. */
abstract class ForwardingDevice implements Device {
    protected final Device device;

    ForwardingDevice(Device device) {
        this.device = device;
    }

    @Override
    public long allocate(long floats) {
        return device.allocate(floats);
    }

    @Override
    public void free(long address) {
        device.free(address);
    }

    @Override
    public int liveAllocations() {
        return device.liveAllocations();
    }

    @Override
    public void copyIn(float[] src, long dst) {
        device.copyIn(src, dst);
    }

    @Override
    public void copyIn(int[] src, long dst) {
        device.copyIn(src, dst);
    }

    @Override
    public void copyOut(long src, float[] dst) {
        device.copyOut(src, dst);
    }

    @Override
    public void copy(long src, long dst, long floats) {
        device.copy(src, dst, floats);
    }

    @Override
    public void launch(Kernel kernel, long n, Object... args) {
        device.launch(kernel, n, args);
    }

    @Override
    public void convolutionForward(ConvolutionShape shape, long x, long w, long y) {
        device.convolutionForward(shape, x, w, y);
    }

    @Override
    public void convolutionBackwardData(ConvolutionShape shape, long dy, long w, long dx) {
        device.convolutionBackwardData(shape, dy, w, dx);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c,
                     int ldc) {
        device.gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
    }

    @Override
    public void close() {
        device.close();
    }
}

package dev.glassbox.backend.cudnn;

/** A CUDA, cuDNN or cuBLAS call that returned an error status: names the call, the code and its meaning. */
final class CudaException extends RuntimeException {
    private final String call;
    private final int status;

    CudaException(String call, int status, String meaning) {
        super(call + " returned " + status + " (" + meaning + ")");
        this.call = call;
        this.status = status;
    }

    String call() {
        return call;
    }

    int status() {
        return status;
    }
}

/**
 * The portable pure-Java backend: float32 kernels on the heap, the reference every other
 * backend is compared with and the fallback where no native library loads. Private to the
 * bundle (not exported): other bundles reach it only as a {@link dev.glassbox.api.backend.Backend}
 * service.
 */
package dev.glassbox.backend.java;

/**
 * Tensors: {@link dev.glassbox.api.tensor.HostTensor} is float32 data on the heap, the only
 * tensor that crosses the API; {@link dev.glassbox.api.tensor.Tensor} is owned by a backend
 * (perhaps in device memory) and lives in a {@link dev.glassbox.api.tensor.TensorScope}, which
 * frees everything it owns when closed. Layout is row-major (C order); images are NCHW.
 */
@Export
@Version("1.1.0")
package dev.glassbox.api.tensor;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

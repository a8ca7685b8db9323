/**
 * The DJL backend: kernels on Deep Java Library NDArrays with the PyTorch CPU engine. DJL and
 * its PyTorch engine are embedded in this bundle; libtorch is loaded from a directory the
 * launcher assembles ({@code native/pytorch}), never downloaded. Private to the bundle: other
 * bundles reach it only as a {@link dev.glassbox.api.backend.Backend} service.
 */
package dev.glassbox.backend.djl;

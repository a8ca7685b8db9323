/**
 * The DJL backend: kernels on Deep Java Library NDArrays with the PyTorch CPU engine. DJL and
 * its engine come from the {@code glassbox-djl-pytorch} bundle, which loads libtorch from a
 * directory the launcher assembles ({@code native/pytorch}), never downloaded, and owns the
 * native libraries: this bundle holds none, so it can be updated or reinstalled at run time
 * (its NDManagers are closed when it stops). Private to the bundle: other bundles reach it
 * only as a {@link dev.glassbox.api.backend.Backend} service.
 */
package dev.glassbox.backend.djl;

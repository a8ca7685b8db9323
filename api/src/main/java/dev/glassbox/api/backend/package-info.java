/**
 * Backends run graphs. A {@link dev.glassbox.api.backend.Backend} service prepares a graph
 * into a {@link dev.glassbox.api.backend.PreparedModel}, whose
 * {@link dev.glassbox.api.backend.Kernels} are everything explainers need: for each op a
 * forward and a vector-Jacobian product, plus a few elementwise primitives. Kernels take the
 * op (and so its parameters) as an argument, so a rule can run a layer with modified weights;
 * backends cache device copies of parameters by identity.
 */
@Export
@Version("1.3.0")
package dev.glassbox.api.backend;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

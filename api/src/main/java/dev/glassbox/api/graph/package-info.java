/**
 * The model as Glassbox sees it, independent of any backend: an immutable
 * {@link dev.glassbox.api.graph.Graph} of {@link dev.glassbox.api.graph.Node}s in topological
 * order, each applying one {@link dev.glassbox.api.graph.Op} (a closed set of records whose
 * parameters are {@link dev.glassbox.api.tensor.HostTensor}s). A
 * {@link dev.glassbox.api.graph.ModelLoader} service turns a file format into a graph.
 */
@Export
@Version("2.0.0")
package dev.glassbox.api.graph;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

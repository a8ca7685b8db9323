/**
 * Extending layer-wise relevance propagation. A {@link dev.glassbox.api.lrp.Rule} registered
 * as a service adds a rule that the {@code lrp} explainer's {@code --rule NODE_PATTERN=NAME(p,...)}
 * overrides can name, installed or removed while the runtime runs. A rule binds to one node
 * and returns a {@link dev.glassbox.api.explain.NodeRule}, written with the backend's
 * {@link dev.glassbox.api.backend.Kernels}, so it runs on every backend.
 *
 * <p>The built-in rules ({@code epsilon}, {@code zplus}, {@code alpha-beta}, {@code gamma},
 * {@code zbox}, {@code wsquare}, {@code flat}, {@code pass}, {@code norm}, {@code gradient})
 * follow {@code lrp-rules.md} and keep their names.
 *
 * <p>A {@link dev.glassbox.api.lrp.Composite} service says which rule each node gets and is
 * picked by {@code --composite NAME}. A {@link dev.glassbox.api.lrp.Canonizer} service rewrites the graph before explaining
 * (BatchNorm folding is built in); the explainers apply every installed one by default.
 */
@Export
@Version("1.1.0")
package dev.glassbox.api.lrp;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

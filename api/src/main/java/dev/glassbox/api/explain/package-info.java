/**
 * Explainers and the machinery they share. An {@link dev.glassbox.api.explain.Explainer}
 * service turns an {@link dev.glassbox.api.explain.ExplainRequest} into an attribution with
 * the help of its {@link dev.glassbox.api.explain.ExplainContext}: the prepared model, the
 * forward trace of the request's input, and the {@link dev.glassbox.api.explain.Propagator}
 * that walks the graph backwards applying one {@link dev.glassbox.api.explain.NodeRule} per
 * node. Gradients use {@link dev.glassbox.api.explain.NodeRule#gradient()} everywhere; LRP
 * and deep Taylor choose a rule per node.
 *
 * <p>Options are typed: an explainer declares its {@link dev.glassbox.api.explain.Option}s
 * as constants, the runtime parses and checks the user's text against them, and the
 * explainer reads typed values from {@link dev.glassbox.api.explain.Options}.
 */
@Export
@Version("1.2.0")
package dev.glassbox.api.explain;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

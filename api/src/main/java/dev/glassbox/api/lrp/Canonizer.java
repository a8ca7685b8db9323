package dev.glassbox.api.lrp;

import dev.glassbox.api.graph.Graph;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * A graph rewrite applied before explaining, registered as a service: the rewritten graph
 * computes the same outputs (to float32 round-off) in a form the rules explain as
 * {@code lrp-rules.md} intends, e.g. a BatchNormalization folded into the layer before it.
 * The {@code lrp} and {@code deep-taylor} explainers apply the installed canonizers, in
 * order of name, unless {@code --canonizers} says otherwise.
 */
@ConsumerType
public interface Canonizer {

    /** Lower-case name used in {@code --canonizers}, e.g. {@code batchnorm-fold}. */
    String name();

    /** One sentence for listings. */
    String description();

    /**
     * The rewritten graph, or {@code graph} itself when nothing applies. Node names of the
     * layers kept should stay, so that {@code --rule} patterns still match them; the graph's
     * inputs and outputs keep their names.
     */
    Graph apply(Graph graph);
}

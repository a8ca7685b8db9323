package dev.glassbox.api.lrp;

import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import java.util.Optional;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Which rule each node gets, registered as a service; {@code --composite NAME} picks one. The
 * composites of {@code lrp-rules.md} are registered by the LRP bundle; others come from
 * bundles, from mapping files and from ConfigAdmin.
 */
@ConsumerType
public interface Composite {

    /** Lower-case name used in {@code --composite}, e.g. {@code epsilon-plus-flat}. */
    String name();

    /** One sentence for listings. */
    String description();

    /**
     * The rule {@code node} gets, written as {@code --rule} writes it ({@code zplus},
     * {@code epsilon(0.25)}), or empty for the base rule of its op's
     * {@link dev.glassbox.api.graph.Op.Role role} that every composite shares: activations
     * {@code pass}, sums and average pools {@code norm}, ops that move values {@code gradient}
     * (lrp-rules.md). A {@code --rule} override still wins over the composite.
     *
     * @param firstLayer the graph's first Dense or convolution from the input (lrp-rules.md's
     *                   "first layer"), or null when it has none
     */
    Optional<String> ruleFor(Node node, Graph graph, Node firstLayer);
}

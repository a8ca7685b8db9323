package dev.glassbox.explainer.lrp;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.lrp.Composite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

/**
 * A composite defined in ConfigAdmin: one per factory configuration of
 * {@value #PID} (e.g. a file {@code dev.glassbox.lrp.composite-mine.config} in the deploy
 * directory), with the {@link MappedComposite mapping} in {@code rules} (entries separated by
 * {@code ;} or given as an array) or in the file that {@code file} names.
 */
@Component(service = Composite.class, configurationPid = ConfiguredComposite.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
public final class ConfiguredComposite implements Composite {
    static final String PID = "dev.glassbox.lrp.composite";

    @interface Config {
        String name();

        String description() default "";

        String[] rules() default {};

        String file() default "";
    }

    private final MappedComposite mapping;

    @Activate
    public ConfiguredComposite(Config config) {
        String source = "configuration " + PID + " '" + config.name() + "'";
        String text = String.join("\n", config.rules());
        if (!config.file().isBlank()) {
            try {
                text = Files.readString(Path.of(config.file()));
            } catch (IOException e) {
                throw new InvalidInputException("cannot read composite file: " + e.getMessage(), config.file(), e);
            }
        }
        MappedComposite parsed = MappedComposite.parse(text, config.name(), source);
        this.mapping = config.description().isBlank() ? parsed
                : new MappedComposite(parsed.name(), config.description(), parsed.nodes(), parsed.first(), parsed.ops());
    }

    @Override
    public String name() {
        return mapping.name();
    }

    @Override
    public String description() {
        return mapping.description();
    }

    @Override
    public Optional<String> ruleFor(Node node, Graph graph, Node firstLayer) {
        return mapping.ruleFor(node, graph, firstLayer);
    }
}

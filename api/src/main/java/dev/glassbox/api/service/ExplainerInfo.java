package dev.glassbox.api.service;

import dev.glassbox.api.explain.Option;
import java.util.List;

/** An installed explainer as listings show it, with the bundle that provides it. */
public record ExplainerInfo(String id, String description, List<Option<?>> options, String bundle) {
    public ExplainerInfo {
        options = List.copyOf(options);
    }
}

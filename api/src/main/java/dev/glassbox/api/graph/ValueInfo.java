package dev.glassbox.api.graph;

import dev.glassbox.api.tensor.Shape;
import java.util.Objects;

/**
 * A named graph input and the shape of one item, without the batch axis: a Fashion-MNIST
 * model's input is {@code input: [1, 28, 28]} and takes batches {@code [N, 1, 28, 28]}.
 */
public record ValueInfo(String name, Shape itemShape) {
    public ValueInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(itemShape, "itemShape");
    }
}

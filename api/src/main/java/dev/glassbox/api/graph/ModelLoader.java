package dev.glassbox.api.graph;

import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Turns a model file into a {@link Graph}. Registered as a service; the runtime picks the
 * first loader that {@link #accepts} the file.
 *
 * <p>Implementations must never crash or hang on hostile bytes: they throw
 * {@link dev.glassbox.api.InvalidInputException} for malformed files and
 * {@link dev.glassbox.api.UnsupportedFeatureException} for valid models using ops they do
 * not support, naming the node and op.
 */
@ConsumerType
public interface ModelLoader {

    /** The format's short name, e.g. {@code onnx}. */
    String format();

    /** Whether this loader reads files with this name (usually by extension). */
    boolean accepts(String fileName);

    /**
     * The operators of the format this loader maps onto {@link Op}s, sorted, for listings such
     * as {@code glassbox list --ops}. A model using any other operator is rejected.
     */
    List<String> operators();

    /**
     * @param bytes      the whole file
     * @param sourceName the file name, for error messages
     */
    Graph load(byte[] bytes, String sourceName);
}

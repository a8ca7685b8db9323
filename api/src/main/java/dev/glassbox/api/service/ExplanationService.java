package dev.glassbox.api.service;

import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.tensor.HostTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * What host applications and the command line call. Backends, model loaders and explainers
 * are whatever services are installed at the moment of the call; each may come and go while
 * the runtime runs. Every method throws a {@link dev.glassbox.api.GlassboxException}
 * subclass for errors it can name.
 */
@ProviderType
public interface ExplanationService {

    List<BackendInfo> backends();

    /**
     * The id of the backend a request that names none gets now: the configured default, else
     * the available backend of highest ranking; empty when that is not available.
     */
    Optional<String> defaultBackend();

    List<ExplainerInfo> explainers();

    /** Formats of the installed model loaders, e.g. {@code onnx}. */
    List<String> modelFormats();

    /** The operators the installed loader for {@code format} supports, sorted; empty for an unknown format. */
    List<String> operators(String format);

    /** Reads and validates a model file. */
    Graph loadModel(Path file);

    /** The model's outputs as it defines them, {@code [N, ...]}; {@code backend} may be null. */
    HostTensor predict(Graph model, HostTensor input, String backend);

    /**
     * Every graph output, in the model's order, for a model with one input; {@code backend}
     * may be null.
     */
    Map<String, HostTensor> outputs(Graph model, HostTensor input, String backend);

    /** Explains the model's logits (a final Softmax or LogSoftmax is left out). */
    Explanation explain(Graph model, ExplanationQuery query);
}

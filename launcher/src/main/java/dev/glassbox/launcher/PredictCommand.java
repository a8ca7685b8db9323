package dev.glassbox.launcher;

import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "predict", description = "Runs the model and writes its outputs; prints the predicted class per item.")
final class PredictCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "the model (.onnx)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "X", description = ".npy (with or without batch axis) or PNG/JPEG")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "Y.npy", description = "the outputs, float32 [N, ...]")
    Path out;

    @Option(names = "--logits", description = "stop before a final Softmax/LogSoftmax")
    boolean logits;

    @Mixin
    Inputs.ImageOptions image;

    @Override
    public Integer call() throws Exception {
        existing(model);
        existing(input);
        try (GlassboxRuntime rt = startRuntime()) {
            ExplanationService service = service(rt);
            Graph graph = service.loadModel(model);
            if (graph.outputs().size() != 1) {
                throw new UnsupportedFeatureException("the model has " + graph.outputs().size() + " outputs ("
                        + String.join(", ", graph.outputs()) + "); predict writes models with one output", model.toString());
            }
            if (logits) {
                graph = graph.logits();
            }
            HostTensor x = Inputs.read(input, graph.input(), image);
            HostTensor y = service.predict(graph, x, common.backend);
            writeNpy(out, y);
            if (!common.quiet) {
                int[] classes = Inputs.argmax(y);
                for (int i = 0; i < classes.length; i++) {
                    out().printf("%d: %d%n", i, classes[i]);
                }
            }
        }
        return Main.OK;
    }
}

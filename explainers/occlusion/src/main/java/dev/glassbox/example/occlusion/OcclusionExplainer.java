package dev.glassbox.example.occlusion;

import dev.glassbox.api.explain.ExplainContext;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Option;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * Occlusion sensitivity (Zeiler and Fergus 2014): slide a patch set to a constant over the
 * input and record how much the target logit drops; each input element gets the mean drop
 * of the patches that covered it.
 *
 * <p>This bundle is the example for third-party authors: it depends on nothing but
 * {@code dev.glassbox.api}, registers one {@link Explainer} with Declarative Services, and
 * uses only the context's model and propagator. Copy it, change {@link #id()} and
 * {@link #explain}, build it with bnd, and drop the jar into the runtime's {@code deploy/}
 * directory.
 *
 * <p>Inputs of rank 4 ({@code [N, C, H, W]}) are occluded in square patches across all
 * channels; other inputs are treated as a flat feature vector occluded in windows.
 */
@Component(service = Explainer.class)
public final class OcclusionExplainer implements Explainer {

    static final Option.IntOption WINDOW = new Option.IntOption("window",
            "patch side (images) or window length (features)", 4, 1, 4096);
    static final Option.IntOption STRIDE = new Option.IntOption("stride",
            "step between patches; 0 means the window size", 0, 0, 4096);
    static final Option.DoubleOption FILL = new Option.DoubleOption("fill",
            "value the occluded elements are set to", 0.0, -1e30, 1e30);

    /** Occluded copies evaluated per forward pass. */
    private static final int PASS_SIZE = 32;

    @Override
    public String id() {
        return "occlusion";
    }

    @Override
    public String description() {
        return "target-logit drop when patches of the input are occluded (Zeiler and Fergus 2014)";
    }

    @Override
    public List<Option<?>> options() {
        return List.of(WINDOW, STRIDE, FILL);
    }

    @Override
    public HostTensor explain(ExplainContext ctx, ExplainRequest request) {
        HostTensor input = request.input();
        Shape shape = input.shape();
        int n = shape.dim(0);
        // View every item as [C, H, W]; a flat feature vector is [1, 1, F].
        boolean image = shape.rank() == 4;
        int channels = image ? shape.dim(1) : 1;
        int height = image ? shape.dim(2) : 1;
        int width = image ? shape.dim(3) : shape.size() / n;
        int window = request.options().get(WINDOW);
        int stride = request.options().get(STRIDE) == 0 ? window : request.options().get(STRIDE);
        int winH = image ? Math.min(window, height) : 1;
        int winW = Math.min(window, width);
        int strideH = image ? stride : 1;
        float fill = request.options().get(FILL).floatValue();

        int[] targets = request.targets();
        float[] base = ctx.trace().output().toHost().data();
        int classes = base.length / n;
        int per = shape.size() / n;
        int rows = (height - winH) / strideH + 1;
        int cols = (width - winW) / stride + 1;
        int patches = rows * cols;

        double[] drop = new double[shape.size()];
        int[] cover = new int[per];
        float[] x = input.data();
        int done = 0;
        // Each pass evaluates a block of patch positions for every item of the batch.
        int block = Math.max(1, PASS_SIZE / n);
        for (int first = 0; first < patches; first += block) {
            ctx.checkDeadline();
            int k = Math.min(block, patches - first);
            float[] batch = new float[k * n * per];
            for (int j = 0; j < k; j++) {
                int top = ((first + j) / cols) * strideH;
                int left = ((first + j) % cols) * stride;
                for (int i = 0; i < n; i++) {
                    int offset = (j * n + i) * per;
                    System.arraycopy(x, i * per, batch, offset, per);
                    forEachCell(channels, height, width, top, left, winH, winW, cell -> batch[offset + cell] = fill);
                }
            }
            float[] logits;
            try (TensorScope scope = ctx.scope().child()) {
                var model = ctx.model();
                var in = model.kernels().upload(HostTensor.wrap(shape.withoutBatch().withBatch(k * n), batch), scope);
                logits = ctx.propagator().forward(model, in, scope).output().toHost().data();
            }
            for (int j = 0; j < k; j++) {
                int top = ((first + j) / cols) * strideH;
                int left = ((first + j) % cols) * stride;
                for (int i = 0; i < n; i++) {
                    double d = base[i * classes + targets[i]] - logits[(j * n + i) * classes + targets[i]];
                    int item = i * per;
                    forEachCell(channels, height, width, top, left, winH, winW, cell -> drop[item + cell] += d);
                }
                forEachCell(channels, height, width, top, left, winH, winW, cell -> cover[cell]++);
            }
            done += k;
            ctx.progress(done, patches);
        }
        float[] out = new float[drop.length];
        for (int j = 0; j < out.length; j++) {
            int c = cover[j % per];
            out[j] = c == 0 ? 0f : (float) (drop[j] / c);
        }
        return HostTensor.wrap(shape, out);
    }

    private static void forEachCell(int channels, int height, int width, int top, int left, int winH, int winW,
                                    java.util.function.IntConsumer action) {
        for (int c = 0; c < channels; c++) {
            for (int y = top; y < top + winH; y++) {
                for (int xx = left; xx < left + winW; xx++) {
                    action.accept((c * height + y) * width + xx);
                }
            }
        }
    }
}

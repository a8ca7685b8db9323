package dev.glassbox.explainer.lrp;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * A linear layer's output for one all-ones input item, computed on the host in double. It does
 * not depend on the input, so a rule that needs it (zbox's bounds) makes it once per layer and
 * input size, as a constant the backend keeps on its device, instead of a pass per request.
 */
final class OnesResponse {
    private OnesResponse() {
    }

    /**
     * {@code layer(1)} for an input item of shape {@code item} (batch 1), or null for a kind of
     * layer not computed here (the caller then runs the layer).
     */
    static HostTensor of(Op.Linear layer, Shape item) {
        return switch (layer) {
            case Op.Dense d -> dense(d, item);
            case Op.Conv2d c -> conv(c, item);
            case Op.ConvTranspose2d _, Op.BatchNorm _ -> null;
        };
    }

    /** Every row is {@code b + sum_i W[o, i]}. */
    private static HostTensor dense(Op.Dense d, Shape item) {
        Shape out = d.outputShape(List.of(item));
        int outFeatures = out.dim(-1);
        int inFeatures = item.dim(-1);
        float[] w = d.weight().data();
        float[] row = new float[outFeatures];
        for (int o = 0; o < outFeatures; o++) {
            double sum = d.bias() == null ? 0 : d.bias().data()[o];
            for (int i = 0; i < inFeatures; i++) {
                sum += w[o * inFeatures + i];
            }
            row[o] = (float) sum;
        }
        float[] values = new float[out.size()];
        for (int r = 0; r < values.length; r += outFeatures) {
            System.arraycopy(row, 0, values, r, outFeatures);
        }
        return HostTensor.wrap(out, values);
    }

    /**
     * Output {@code (c, y, x)} is {@code b[c]} plus the taps {@code K[c, i, j]} (the weights of
     * channel {@code c} summed over its input channels) whose input row and column fall inside
     * the image, not in the padding: first over the rows per output row, then over the columns.
     */
    private static HostTensor conv(Op.Conv2d c, Shape item) {
        Shape out = c.outputShape(List.of(item));
        Shape ws = c.weight().shape();
        int channels = ws.dim(0);
        int perGroup = ws.dim(1);
        int kh = ws.dim(2);
        int kw = ws.dim(3);
        int height = item.dim(2);
        int width = item.dim(3);
        int outH = out.dim(2);
        int outW = out.dim(3);
        Geometry2d g = c.geometry();
        float[] w = c.weight().data();
        float[] values = new float[out.size()];
        double[] taps = new double[kh * kw];
        double[] rowTaps = new double[kw];
        for (int ch = 0; ch < channels; ch++) {
            Arrays.fill(taps, 0);
            for (int ci = 0; ci < perGroup; ci++) {
                int base = (ch * perGroup + ci) * kh * kw;
                for (int t = 0; t < taps.length; t++) {
                    taps[t] += w[base + t];
                }
            }
            double bias = c.bias() == null ? 0 : c.bias().data()[ch];
            for (int y = 0; y < outH; y++) {
                Arrays.fill(rowTaps, 0);
                for (int i = 0; i < kh; i++) {
                    int row = y * g.strideH() - g.padTop() + i * g.dilationH();
                    if (row >= 0 && row < height) {
                        for (int j = 0; j < kw; j++) {
                            rowTaps[j] += taps[i * kw + j];
                        }
                    }
                }
                for (int x = 0; x < outW; x++) {
                    double sum = bias;
                    for (int j = 0; j < kw; j++) {
                        int col = x * g.strideW() - g.padLeft() + j * g.dilationW();
                        if (col >= 0 && col < width) {
                            sum += rowTaps[j];
                        }
                    }
                    values[(ch * outH + y) * outW + x] = (float) sum;
                }
            }
        }
        return HostTensor.wrap(out, values);
    }
}

package dev.glassbox.onnx;

import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The slow, obvious forward pass of a converted graph, written from the op definitions, so the
 * loader's output can be checked against PyTorch's logits. Tests only.
 */
final class ReferenceForward {
    private ReferenceForward() {
    }

    static HostTensor run(Graph graph, HostTensor input) {
        Map<String, HostTensor> values = new HashMap<>();
        values.put(graph.input().name(), input);
        for (Node n : graph.nodes()) {
            HostTensor x = values.get(n.inputs().get(0));
            values.put(n.output(), switch (n.op()) {
                case Op.Dense d -> dense(x, d);
                case Op.Relu r -> map(x);
                case Op.Add a -> add(x, values.get(n.inputs().get(1)));
                case Op.Conv2d c -> conv(x, c);
                case Op.MaxPool2d p -> pool(x, p.kernelH(), p.kernelW(), p.geometry(), true, false);
                case Op.AvgPool2d p -> pool(x, p.kernelH(), p.kernelW(), p.geometry(), false, p.countIncludePad());
                case Op.GlobalAvgPool g -> pool(x, x.shape().dim(2), x.shape().dim(3), Geometry2d.UNIT, false, true);
                case Op.Flatten f -> x.reshape(Shape.of(x.shape().dim(0), x.shape().size() / x.shape().dim(0)));
                case Op.Reshape r -> x.reshape(r.outputShape(x.shape()));
                default -> throw new UnsupportedOperationException(n.op().type());
            });
        }
        return values.get(graph.output());
    }

    private static HostTensor dense(HostTensor x, Op.Dense d) {
        int n = x.shape().dim(0);
        int in = d.inFeatures();
        int out = d.outFeatures();
        float[] y = new float[n * out];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < out; o++) {
                double s = d.bias() == null ? 0 : d.bias().data()[o];
                for (int i = 0; i < in; i++) {
                    s += x.data()[b * in + i] * d.weight().data()[o * in + i];
                }
                y[b * out + o] = (float) s;
            }
        }
        return HostTensor.wrap(Shape.of(n, out), y);
    }

    private static HostTensor map(HostTensor x) {
        float[] y = x.data().clone();
        for (int i = 0; i < y.length; i++) {
            y[i] = Math.max(0f, y[i]);
        }
        return HostTensor.wrap(x.shape(), y);
    }

    private static HostTensor add(HostTensor a, HostTensor b) {
        float[] y = a.data().clone();
        for (int i = 0; i < y.length; i++) {
            y[i] += b.data()[i];
        }
        return HostTensor.wrap(a.shape(), y);
    }

    private static HostTensor conv(HostTensor x, Op.Conv2d c) {
        int n = x.shape().dim(0), cin = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int cout = c.outChannels(), kh = c.kernelH(), kw = c.kernelW(), g = c.groups();
        int cinG = cin / g, coutG = cout / g;
        Geometry2d geo = c.geometry();
        int oh = geo.outHeight(h, kh), ow = geo.outWidth(w, kw);
        float[] y = new float[n * cout * oh * ow];
        float[] wt = c.weight().data();
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < cout; o++) {
                int grp = o / coutG;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double s = c.bias() == null ? 0 : c.bias().data()[o];
                        for (int ci = 0; ci < cinG; ci++) {
                            int chan = grp * cinG + ci;
                            for (int u = 0; u < kh; u++) {
                                int yy = i * geo.strideH() - geo.padTop() + u * geo.dilationH();
                                for (int v = 0; v < kw; v++) {
                                    int xx = j * geo.strideW() - geo.padLeft() + v * geo.dilationW();
                                    if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                                        s += x.data()[((b * cin + chan) * h + yy) * w + xx]
                                                * wt[((o * cinG + ci) * kh + u) * kw + v];
                                    }
                                }
                            }
                        }
                        y[((b * cout + o) * oh + i) * ow + j] = (float) s;
                    }
                }
            }
        }
        return HostTensor.wrap(Shape.of(n, cout, oh, ow), y);
    }

    private static HostTensor pool(HostTensor x, int kh, int kw, Geometry2d geo, boolean max, boolean includePad) {
        int n = x.shape().dim(0), ch = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int oh = geo.outHeight(h, kh), ow = geo.outWidth(w, kw);
        float[] y = new float[n * ch * oh * ow];
        for (int p = 0; p < n * ch; p++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    int count = 0;
                    for (int u = 0; u < kh; u++) {
                        int yy = i * geo.strideH() - geo.padTop() + u * geo.dilationH();
                        for (int v = 0; v < kw; v++) {
                            int xx = j * geo.strideW() - geo.padLeft() + v * geo.dilationW();
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                                float val = x.data()[(p * h + yy) * w + xx];
                                acc = max ? Math.max(acc, val) : acc + val;
                                count++;
                            }
                        }
                    }
                    y[(p * oh + i) * ow + j] = (float) (max ? acc : acc / (includePad ? kh * kw : count));
                }
            }
        }
        return HostTensor.wrap(Shape.of(n, ch, oh, ow), y);
    }

    /** Reads a little-endian float32 C-order {@code .npy} file (format 1.0 or 2.0). */
    static HostTensor readNpy(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int major = buf.get(6);
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort(8)) : buf.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(buf.array(), start, headerLen, StandardCharsets.US_ASCII);
        if (!header.contains("'<f4'") || header.contains("'fortran_order': True")) {
            throw new IOException("not a float32 C-order npy: " + header);
        }
        String dims = header.substring(header.indexOf("'shape': (") + 10);
        dims = dims.substring(0, dims.indexOf(')'));
        int[] shape = Arrays.stream(dims.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
        float[] data = new float[Shape.of(shape).size()];
        buf.position(start + headerLen);
        buf.asFloatBuffer().get(data);
        return HostTensor.wrap(Shape.of(shape), data);
    }
}

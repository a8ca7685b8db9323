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
import java.util.List;
import java.util.Map;

/**
 * The slow, obvious forward pass of a converted graph, written from the op definitions in
 * {@link Op}, so the loader's output can be checked against PyTorch's logits and the ONNX
 * conformance outputs. Tests only.
 */
final class ReferenceForward {
    private ReferenceForward() {
    }

    static HostTensor run(Graph graph, HostTensor input) {
        return runAll(graph, Map.of(graph.input().name(), input)).get(graph.output());
    }

    /** Every value of the graph for the given inputs. */
    static Map<String, HostTensor> runAll(Graph graph, Map<String, HostTensor> inputs) {
        Map<String, HostTensor> values = new HashMap<>(inputs);
        for (Node n : graph.nodes()) {
            List<HostTensor> in = n.inputs().stream().map(values::get).toList();
            List<Shape> shapes = in.stream().map(HostTensor::shape).toList();
            Shape outShape = n.op().outputShape(shapes);
            HostTensor x = in.isEmpty() ? null : in.get(0);
            HostTensor y = switch (n.op()) {
                case Op.Constant c -> c.value();
                case Op.Dense d -> dense(x, d);
                case Op.Conv2d c -> conv(x, c, outShape);
                case Op.ConvTranspose2d c -> convTranspose(x, c, outShape);
                case Op.BatchNorm b -> channelwise(x, b.scale().data(), b.shift().data());
                case Op.Relu r -> map(x, v -> Math.max(0, v));
                case Op.LeakyRelu r -> map(x, v -> v >= 0 ? v : r.alpha() * v);
                case Op.Elu e -> map(x, v -> v > 0 ? v : e.alpha() * (Math.exp(v) - 1));
                case Op.Sigmoid s -> map(x, v -> 1 / (1 + Math.exp(-v)));
                case Op.Tanh t -> map(x, Math::tanh);
                case Op.HardSigmoid h -> map(x, v -> Math.max(0, Math.min(1, h.alpha() * v + h.beta())));
                case Op.HardSwish h -> map(x, v -> v * Math.max(0, Math.min(1, v / 6 + 0.5)));
                case Op.Clip c -> map(x, v -> Math.min(Math.max(v, c.min()), c.max()));
                case Op.PRelu p -> binary(x, p.slope(), (a, s) -> a >= 0 ? a : s * a);
                case Op.Add a -> binary(x, in.get(1), (p, q) -> (float) p + (float) q);
                case Op.Sub s -> binary(x, in.get(1), (p, q) -> (float) p - (float) q);
                case Op.Mul m -> binary(x, in.get(1), (p, q) -> (float) p * (float) q);
                case Op.Div d -> binary(x, in.get(1), (p, q) -> (float) p / (float) q);
                case Op.MatMul m -> matMul(x, in.get(1), outShape);
                case Op.MaxPool2d p -> pool(x, p.kernelH(), p.kernelW(), p.geometry(), true, false, outShape);
                case Op.AvgPool2d p -> pool(x, p.kernelH(), p.kernelW(), p.geometry(), false, p.countIncludePad(), outShape);
                case Op.GlobalAvgPool g -> global(x, false, outShape);
                case Op.GlobalMaxPool g -> global(x, true, outShape);
                case Op.ReduceSum r -> reduce(x, r.axes(), false, outShape);
                case Op.ReduceMean r -> reduce(x, r.axes(), true, outShape);
                case Op.Flatten f -> x.reshape(outShape);
                case Op.Reshape r -> x.reshape(outShape);
                case Op.Transpose t -> transpose(x, t.perm(), outShape);
                case Op.Concat c -> concat(in, c.axis(), outShape);
                case Op.Slice s -> slice(x, s, outShape);
                case Op.Pad p -> pad(x, p, outShape);
                case Op.Expand e -> binary(x, HostTensor.zeros(outShape), (a, b) -> a);
                case Op.ResizeNearest r -> resize(x, r, outShape);
                case Op.Softmax s -> softmax(x, s.axis(), s.overTrailingAxes(), false);
                case Op.LogSoftmax s -> softmax(x, s.axis(), s.overTrailingAxes(), true);
            };
            if (!y.shape().equals(outShape)) {
                throw new AssertionError(n.name() + ": computed " + y.shape() + ", outputShape says " + outShape);
            }
            values.put(n.output(), y);
        }
        return values;
    }

    interface Fn {
        double apply(double v);
    }

    interface Fn2 {
        double apply(double a, double b);
    }

    private static HostTensor map(HostTensor x, Fn f) {
        float[] y = new float[x.data().length];
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) f.apply(x.data()[i]);
        }
        return HostTensor.wrap(x.shape(), y);
    }

    private static int[] strides(int[] dims) {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= dims[d];
        }
        return s;
    }

    private static boolean next(int[] idx, int[] dims) {
        for (int d = dims.length - 1; d >= 0; d--) {
            if (++idx[d] < dims[d]) {
                return true;
            }
            idx[d] = 0;
        }
        return false;
    }

    /** The flat index in {@code dims} (right-aligned, broadcast) of output index {@code idx}. */
    private static int broadcastIndex(int[] idx, int[] dims) {
        int off = idx.length - dims.length;
        int s = 0;
        int stride = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            int i = dims[d] == 1 ? 0 : idx[d + off];
            s += i * stride;
            stride *= dims[d];
        }
        return s;
    }

    private static HostTensor binary(HostTensor a, HostTensor b, Fn2 f) {
        Shape out = Shape.broadcast(a.shape(), b.shape());
        int[] od = out.dims();
        float[] y = new float[out.size()];
        int[] idx = new int[od.length];
        int[] ad = a.shape().dims();
        int[] bd = b.shape().dims();
        for (int o = 0; o < y.length; o++) {
            y[o] = (float) f.apply(a.data()[broadcastIndex(idx, ad)], b.data()[broadcastIndex(idx, bd)]);
            next(idx, od);
        }
        return HostTensor.wrap(out, y);
    }

    private static HostTensor dense(HostTensor x, Op.Dense d) {
        int in = d.inFeatures();
        int out = d.outFeatures();
        int rows = x.shape().size() / in;
        float[] y = new float[rows * out];
        for (int b = 0; b < rows; b++) {
            for (int o = 0; o < out; o++) {
                double s = d.bias() == null ? 0 : d.bias().data()[o];
                for (int i = 0; i < in; i++) {
                    s += (double) x.data()[b * in + i] * d.weight().data()[o * in + i];
                }
                y[b * out + o] = (float) s;
            }
        }
        return HostTensor.wrap(d.outputShape(List.of(x.shape())), y);
    }

    private static HostTensor matMul(HostTensor a, HostTensor b, Shape out) {
        int[] ad = a.shape().rank() == 1 ? new int[] {1, a.shape().dim(0)} : a.shape().dims();
        int[] bd = b.shape().rank() == 1 ? new int[] {b.shape().dim(0), 1} : b.shape().dims();
        int m = ad[ad.length - 2];
        int k = ad[ad.length - 1];
        int n = bd[bd.length - 1];
        int[] batchA = Arrays.copyOf(ad, ad.length - 2);
        int[] batchB = Arrays.copyOf(bd, bd.length - 2);
        int[] batch = Shape.broadcast(Shape.of(batchA), Shape.of(batchB)).dims();
        int count = Shape.of(batch).size();
        float[] y = new float[count * m * n];
        int[] idx = new int[batch.length];
        for (int p = 0; p < count; p++) {
            int ao = broadcastIndex(idx, batchA) * m * k;
            int bo = broadcastIndex(idx, batchB) * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int q = 0; q < k; q++) {
                        s += (double) a.data()[ao + i * k + q] * b.data()[bo + q * n + j];
                    }
                    y[(p * m + i) * n + j] = (float) s;
                }
            }
            next(idx, batch);
        }
        return HostTensor.wrap(out, y);
    }

    private static HostTensor channelwise(HostTensor x, float[] scale, float[] shift) {
        int c = x.shape().dim(1);
        int inner = x.shape().size() / (x.shape().dim(0) * c);
        float[] y = new float[x.data().length];
        for (int i = 0; i < y.length; i++) {
            int ch = (i / inner) % c;
            y[i] = x.data()[i] * scale[ch] + shift[ch];
        }
        return HostTensor.wrap(x.shape(), y);
    }

    private static HostTensor conv(HostTensor x, Op.Conv2d c, Shape outShape) {
        int n = x.shape().dim(0), cin = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int cout = c.outChannels(), kh = c.kernelH(), kw = c.kernelW(), g = c.groups();
        int cinG = cin / g, coutG = cout / g;
        Geometry2d geo = c.geometry();
        int oh = outShape.dim(2), ow = outShape.dim(3);
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
                                        s += (double) x.data()[((b * cin + chan) * h + yy) * w + xx]
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
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor convTranspose(HostTensor x, Op.ConvTranspose2d c, Shape outShape) {
        int n = x.shape().dim(0), cin = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int g = c.groups(), cinG = cin / g, coutG = c.weight().shape().dim(1), cout = c.outChannels();
        int kh = c.kernelH(), kw = c.kernelW();
        Geometry2d geo = c.geometry();
        int oh = outShape.dim(2), ow = outShape.dim(3);
        double[] acc = new double[n * cout * oh * ow];
        float[] wt = c.weight().data();
        for (int b = 0; b < n; b++) {
            for (int ci = 0; ci < cin; ci++) {
                int grp = ci / cinG;
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        double xv = x.data()[((b * cin + ci) * h + i) * w + j];
                        for (int m = 0; m < coutG; m++) {
                            int o = grp * coutG + m;
                            for (int u = 0; u < kh; u++) {
                                int yy = i * geo.strideH() - geo.padTop() + u * geo.dilationH();
                                if (yy < 0 || yy >= oh) {
                                    continue;
                                }
                                for (int v = 0; v < kw; v++) {
                                    int xx = j * geo.strideW() - geo.padLeft() + v * geo.dilationW();
                                    if (xx >= 0 && xx < ow) {
                                        acc[((b * cout + o) * oh + yy) * ow + xx] += xv * wt[((ci * coutG + m) * kh + u) * kw + v];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        float[] y = new float[acc.length];
        for (int i = 0; i < y.length; i++) {
            int o = (i / (oh * ow)) % cout;
            y[i] = (float) (acc[i] + (c.bias() == null ? 0 : c.bias().data()[o]));
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor pool(HostTensor x, int kh, int kw, Geometry2d geo, boolean max, boolean includePad,
                                   Shape outShape) {
        int n = x.shape().dim(0), ch = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        int oh = outShape.dim(2), ow = outShape.dim(3);
        float[] y = new float[n * ch * oh * ow];
        for (int p = 0; p < n * ch; p++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    int count = 0;
                    int padded = 0;
                    for (int u = 0; u < kh; u++) {
                        int yy = i * geo.strideH() - geo.padTop() + u * geo.dilationH();
                        for (int v = 0; v < kw; v++) {
                            int xx = j * geo.strideW() - geo.padLeft() + v * geo.dilationW();
                            if (yy < h + geo.padBottom() && xx < w + geo.padRight()) {
                                padded++;
                            }
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
                                float val = x.data()[(p * h + yy) * w + xx];
                                acc = max ? Math.max(acc, val) : acc + val;
                                count++;
                            }
                        }
                    }
                    y[(p * oh + i) * ow + j] = (float) (max ? acc : acc / (includePad ? padded : count));
                }
            }
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor global(HostTensor x, boolean max, Shape outShape) {
        int outer = x.shape().dim(0) * x.shape().dim(1);
        int inner = x.shape().size() / outer;
        float[] y = new float[outer];
        for (int p = 0; p < outer; p++) {
            double acc = max ? Double.NEGATIVE_INFINITY : 0;
            for (int i = 0; i < inner; i++) {
                float v = x.data()[p * inner + i];
                acc = max ? Math.max(acc, v) : acc + v;
            }
            y[p] = (float) (max ? acc : acc / inner);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor reduce(HostTensor x, List<Integer> axes, boolean mean, Shape outShape) {
        int[] xd = x.shape().dims();
        int[] kept = xd.clone();
        long count = 1;
        for (int a : axes) {
            kept[a] = 1;
            count *= xd[a];
        }
        double[] acc = new double[Shape.of(kept).size()];
        int[] idx = new int[xd.length];
        for (int i = 0; i < x.data().length; i++) {
            int o = 0;
            for (int d = 0; d < xd.length; d++) {
                o = o * kept[d] + (kept[d] == 1 ? 0 : idx[d]);
            }
            acc[o] += x.data()[i];
            next(idx, xd);
        }
        float[] y = new float[acc.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) (mean ? acc[i] / count : acc[i]);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor transpose(HostTensor x, List<Integer> perm, Shape outShape) {
        int[] st = strides(x.shape().dims());
        int[] od = outShape.dims();
        float[] y = new float[x.data().length];
        int[] idx = new int[od.length];
        for (int o = 0; o < y.length; o++) {
            int s = 0;
            for (int i = 0; i < od.length; i++) {
                s += idx[i] * st[perm.get(i)];
            }
            y[o] = x.data()[s];
            next(idx, od);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor concat(List<HostTensor> in, int axis, Shape outShape) {
        int[] od = outShape.dims();
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= od[d];
        }
        float[] y = new float[outShape.size()];
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (HostTensor t : in) {
                int chunk = t.shape().size() / Math.max(outer, 1);
                if (outer == 0) {
                    continue;
                }
                System.arraycopy(t.data(), o * chunk, y, pos, chunk);
                pos += chunk;
            }
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor slice(HostTensor x, Op.Slice s, Shape outShape) {
        int[][] r = s.ranges(x.shape());
        int[] st = strides(x.shape().dims());
        int[] od = outShape.dims();
        float[] y = new float[outShape.size()];
        int[] idx = new int[od.length];
        for (int o = 0; o < y.length; o++) {
            int src = 0;
            for (int d = 0; d < od.length; d++) {
                src += (r[d][0] + idx[d] * r[d][1]) * st[d];
            }
            y[o] = x.data()[src];
            next(idx, od);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor pad(HostTensor x, Op.Pad p, Shape outShape) {
        int rank = x.shape().rank();
        int[] xd = x.shape().dims();
        int[] st = strides(xd);
        int[] od = outShape.dims();
        float[] y = new float[outShape.size()];
        int[] idx = new int[od.length];
        for (int o = 0; o < y.length; o++) {
            int src = 0;
            boolean inside = true;
            for (int d = 0; d < rank; d++) {
                int i = idx[d] - p.pads().get(d);
                if (i < 0 || i >= xd[d]) {
                    inside = false;
                    break;
                }
                src += i * st[d];
            }
            y[o] = inside ? x.data()[src] : p.value();
            next(idx, od);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor resize(HostTensor x, Op.ResizeNearest r, Shape outShape) {
        int[] xd = x.shape().dims();
        int[] st = strides(xd);
        int[] od = outShape.dims();
        int[][] src = new int[od.length][];
        for (int d = 0; d < od.length; d++) {
            src[d] = new int[od[d]];
            for (int i = 0; i < od[d]; i++) {
                src[d][i] = r.sourceIndex(d, i, xd[d]);
            }
        }
        float[] y = new float[outShape.size()];
        int[] idx = new int[od.length];
        for (int o = 0; o < y.length; o++) {
            int s = 0;
            for (int d = 0; d < od.length; d++) {
                s += src[d][idx[d]] * st[d];
            }
            y[o] = x.data()[s];
            next(idx, od);
        }
        return HostTensor.wrap(outShape, y);
    }

    private static HostTensor softmax(HostTensor x, int axis, boolean trailing, boolean log) {
        int[] xd = x.shape().dims();
        int outer = 1;
        for (int d = 0; d < axis; d++) {
            outer *= xd[d];
        }
        int len = trailing ? x.shape().size() / Math.max(outer, 1) : xd[axis];
        int inner = trailing ? 1 : x.shape().size() / Math.max(outer * len, 1);
        float[] y = new float[x.data().length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < len; k++) {
                    m = Math.max(m, x.data()[(o * len + k) * inner + i]);
                }
                double sum = 0;
                for (int k = 0; k < len; k++) {
                    sum += Math.exp(x.data()[(o * len + k) * inner + i] - m);
                }
                for (int k = 0; k < len; k++) {
                    int at = (o * len + k) * inner + i;
                    double v = x.data()[at] - m;
                    y[at] = (float) (log ? v - Math.log(sum) : Math.exp(v) / sum);
                }
            }
        }
        return HostTensor.wrap(x.shape(), y);
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

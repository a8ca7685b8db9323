package dev.glassbox.backend.djl;

import dev.glassbox.api.backend.Availability;
import dev.glassbox.api.backend.Kernels;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.java.JavaBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The DJL backend under test and the Java backend it is compared with, both reached through
 * the public API, shared by the test classes (the engine loads once per JVM).
 */
final class Backends {
    static final DjlBackend DJL = new DjlBackend(path("glassbox.djl.natives"), path("glassbox.djl.cache"));
    static final JavaBackend JAVA = new JavaBackend(2);

    private Backends() {
    }

    private static Path path(String property) {
        String value = System.getProperty(property);
        return value == null ? null : Path.of(value);
    }

    /** Why the DJL backend cannot run here, or null when it can. */
    static String unavailable() {
        Availability a = DJL.availability();
        return a.isAvailable() ? null : a.toString();
    }

    static Graph graph() {
        return new Graph("test", List.of(new ValueInfo("x", Shape.of(1))),
                List.of(new Node("relu", new Op.Relu(), List.of("x"), "y")), List.of("y"));
    }

    /** One model of a backend with a root scope. */
    static final class Run implements AutoCloseable {
        final PreparedModel model;
        final Kernels k;
        final TensorScope scope;

        Run(dev.glassbox.api.backend.Backend backend) {
            model = backend.prepare(graph());
            k = model.kernels();
            scope = model.openScope();
        }

        List<Tensor> upload(TensorScope s, HostTensor... inputs) {
            List<Tensor> in = new ArrayList<>();
            for (HostTensor h : inputs) {
                in.add(k.upload(h, s));
            }
            return in;
        }

        HostTensor forward(Op op, HostTensor... inputs) {
            try (TensorScope s = scope.child()) {
                return k.forward(op, upload(s, inputs), s).toHost();
            }
        }

        List<HostTensor> gradients(Op op, HostTensor dy, HostTensor... inputs) {
            try (TensorScope s = scope.child()) {
                List<Tensor> in = upload(s, inputs);
                Tensor out = k.forward(op, in, s);
                List<HostTensor> result = new ArrayList<>();
                for (Tensor t : k.inputGradients(op, in, out, k.upload(dy, s), s)) {
                    result.add(t.toHost());
                }
                return result;
            }
        }

        @Override
        public void close() {
            scope.close();
            model.close();
        }
    }

    static HostTensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] d = new float[s.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) r.nextGaussian();
        }
        return HostTensor.wrap(s, d);
    }

    /** {@code max|a - b| / max|b|} (or {@code max|a|} when b is all zeros). */
    static double normwiseError(HostTensor a, HostTensor b) {
        if (!a.shape().equals(b.shape())) {
            return Double.POSITIVE_INFINITY;
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.data().length; i++) {
            double x = a.data()[i];
            double y = b.data()[i];
            if (Double.isNaN(x) != Double.isNaN(y) || (Double.isInfinite(y) && x != y)) {
                return Double.POSITIVE_INFINITY;
            }
            if (Double.isFinite(y)) {
                diff = Math.max(diff, Math.abs(x - y));
                scale = Math.max(scale, Math.abs(y));
            }
        }
        return scale == 0 ? diff : diff / scale;
    }
}

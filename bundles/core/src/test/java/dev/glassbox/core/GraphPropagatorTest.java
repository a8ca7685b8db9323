package dev.glassbox.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.DeadlineExceededException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.NodeRule;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.Tensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.java.JavaBackend;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GraphPropagatorTest {

    private static final Backend JAVA = new JavaBackend(2);

    private static HostTensor random(Random r, int... dims) {
        Shape s = Shape.of(dims);
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return HostTensor.wrap(s, v);
    }

    /** x -> fc1 -> relu -> (fc2 -> relu) + skip -> fc3 -> softmax: a value used twice. */
    private static Graph residualMlp() {
        Random r = new Random(7);
        return new Graph("residual", List.of(new ValueInfo("x", Shape.of(6))), List.of(
                new Node("fc1", new Op.Dense(random(r, 5, 6), random(r, 5)), List.of("x"), "h1"),
                new Node("relu1", new Op.Relu(), List.of("h1"), "a1"),
                new Node("fc2", new Op.Dense(random(r, 5, 5), random(r, 5)), List.of("a1"), "h2"),
                new Node("relu2", new Op.Relu(), List.of("h2"), "a2"),
                new Node("sum", new Op.Add(), List.of("a2", "a1"), "s"),
                new Node("fc3", new Op.Dense(random(r, 3, 5), null), List.of("s"), "logits"),
                new Node("softmax", new Op.Softmax(1), List.of("logits"), "p")), List.of("p"));
    }

    private static float[] logitsAt(PreparedModel pm, HostTensor x) {
        try (TensorScope scope = pm.openScope()) {
            Deadline d = new Deadline(Duration.ofMinutes(1), "test");
            return new GraphPropagator(d).forward(pm, pm.kernels().upload(x, scope), scope).output().toHost().data();
        }
    }

    @Test
    void gradientThroughBranchesMatchesFiniteDifferences() {
        Graph logits = residualMlp().logits();
        assertEquals("logits", logits.output());
        PreparedModel pm = JAVA.prepare(logits);
        HostTensor x = random(new Random(3), 2, 6);
        int[] targets = {2, 0};
        float[] grad;
        try (TensorScope scope = pm.openScope()) {
            GraphPropagator p = new GraphPropagator(new Deadline(Duration.ofMinutes(1), "test"));
            Trace trace = p.forward(pm, pm.kernels().upload(x, scope), scope);
            Tensor seed = pm.kernels().upload(HostTensor.oneHot(3, targets, new float[] {1, 1}), scope);
            grad = p.backward(trace, "logits", seed, n -> NodeRule.gradient(), scope).toHost().data();
            assertTrue(scope.liveTensors() > 0);
        }
        double h = 1e-3;
        for (int i = 0; i < x.data().length; i++) {
            float[] plus = x.data().clone();
            float[] minus = x.data().clone();
            plus[i] += (float) h;
            minus[i] -= (float) h;
            int item = i / 6;
            double fd = (logitsAt(pm, HostTensor.wrap(x.shape(), plus))[item * 3 + targets[item]]
                    - logitsAt(pm, HostTensor.wrap(x.shape(), minus))[item * 3 + targets[item]]) / (2 * h);
            assertEquals(fd, grad[i], 1e-3 * Math.max(1, Math.abs(fd)), "d logit / d x[" + i + "]");
        }
    }

    @Test
    void eachStepsTemporariesAreFreedWhenItEndsAndItsResultsKept() {
        PreparedModel pm = JAVA.prepare(residualMlp().logits());
        try (TensorScope scope = pm.openScope()) {
            GraphPropagator p = new GraphPropagator(new Deadline(Duration.ofMinutes(1), "test"));
            Trace trace = p.forward(pm, pm.kernels().upload(random(new Random(5), 2, 6), scope), scope);
            Tensor seed = pm.kernels().upload(HostTensor.oneHot(3, new int[] {1, 2}, new float[] {1, 1}), scope);
            float[] expected = p.backward(trace, "logits", seed, n -> NodeRule.gradient(), scope).toHost().data();
            int before = scope.liveTensors();
            int[] temporaries = {0};
            Tensor result = p.backward(trace, "logits", seed, n -> step -> {
                for (int i = 0; i < 10; i++) {
                    step.kernels().upload(HostTensor.zeros(Shape.of(64)), step.scope());
                    temporaries[0]++;
                }
                return NodeRule.gradient().propagate(step);
            }, scope);
            assertEquals(60, temporaries[0], "six nodes between the input and the logits");
            // what is left: the result and the relevance summed on the way (at most one per value)
            assertTrue(scope.liveTensors() - before <= 8, (scope.liveTensors() - before) + " tensors left");
            assertArrayEquals(expected, result.toHost().data());
        }
    }

    @Test
    void backwardVisitsOnlyNodesBetweenInputAndSeed() {
        PreparedModel pm = JAVA.prepare(residualMlp().logits());
        try (TensorScope scope = pm.openScope()) {
            GraphPropagator p = new GraphPropagator(new Deadline(Duration.ofMinutes(1), "test"));
            Trace trace = p.forward(pm, pm.kernels().upload(random(new Random(1), 1, 6), scope), scope);
            List<String> visited = new java.util.ArrayList<>();
            Tensor seed = pm.kernels().upload(HostTensor.wrap(Shape.of(1, 5), new float[] {1, 0, 0, 0, 0}), scope);
            p.backward(trace, "h2", seed, n -> {
                visited.add(n.name());
                return NodeRule.gradient();
            }, scope);
            assertEquals(List.of("fc2", "relu1", "fc1"), visited);
        }
    }

    @Test
    void expiredDeadlineStopsTheWalk() {
        PreparedModel pm = JAVA.prepare(residualMlp());
        try (TensorScope scope = pm.openScope()) {
            GraphPropagator p = new GraphPropagator(new Deadline(Duration.ZERO, "slow-method"));
            DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
                    () -> p.forward(pm, pm.kernels().upload(random(new Random(1), 1, 6), scope), scope));
            assertEquals("method slow-method", e.where());
        }
    }

    @Test
    void inputsAreBatchedOrRejectedWithBothShapes() {
        Graph g = residualMlp();
        assertEquals(Shape.of(1, 6), GlassboxExplanationService.batched(g, HostTensor.zeros(Shape.of(6))).shape());
        assertEquals(Shape.of(4, 6), GlassboxExplanationService.batched(g, HostTensor.zeros(Shape.of(4, 6))).shape());
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> GlassboxExplanationService.batched(g, HostTensor.zeros(Shape.of(4, 7))));
        assertTrue(e.getMessage().contains("[4, 7]") && e.getMessage().contains("[6]"), e.getMessage());
        assertEquals("input x", e.where());
    }

    @Test
    void targetsResolveToArgmaxOrGivenClasses() {
        HostTensor logits = HostTensor.wrap(Shape.of(2, 3), new float[] {0, 5, 1, 9, -1, 2});
        assertArrayEquals(new int[] {1, 0}, GlassboxExplanationService.resolveTargets(Target.predicted(), logits));
        assertArrayEquals(new int[] {2, 2}, GlassboxExplanationService.resolveTargets(Target.classes(2), logits));
        assertArrayEquals(new int[] {0, 1}, GlassboxExplanationService.resolveTargets(Target.classes(0, 1), logits));
        assertThrows(InvalidOptionException.class,
                () -> GlassboxExplanationService.resolveTargets(Target.classes(3), logits));
        assertThrows(InvalidOptionException.class,
                () -> GlassboxExplanationService.resolveTargets(Target.classes(0, 1, 2), logits));
    }
}

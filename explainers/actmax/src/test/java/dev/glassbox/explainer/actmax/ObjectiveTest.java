package dev.glassbox.explainer.actmax;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Objectives, option checks and the data prior; the optimization itself runs on the real model in ActmaxIT. */
class ObjectiveTest {

    private static final Graph GRAPH = new Graph("t", List.of(new ValueInfo("x", Shape.of(1, 4, 4))), List.of(
            new Node("conv", new Op.Conv2d(HostTensor.zeros(Shape.of(2, 1, 3, 3)), null, Geometry2d.UNIT, 1),
                    List.of("x"), "c"),
            new Node("relu", new Op.Relu(), List.of("c"), "r"),
            new Node("flatten", new Op.Flatten(1), List.of("r"), "f"),
            new Node("fc", new Op.Dense(HostTensor.zeros(Shape.of(3, 8)), null), List.of("f"), "logits")),
            List.of("logits"));

    @Test
    void objectivesResolveByNodeOrValueName() {
        assertEquals(new Objective("logits", Objective.Kind.LOGIT, -1), Objective.resolve(GRAPH, "", -1, -1, "logit"));
        assertEquals(new Objective("c", Objective.Kind.CHANNEL, 1), Objective.resolve(GRAPH, "conv", -1, 1, "logit"));
        assertEquals(new Objective("r", Objective.Kind.NEURON, 5), Objective.resolve(GRAPH, "r", 5, -1, "logit"));
        assertEquals(new Objective("logits", Objective.Kind.NEURON, 2), Objective.resolve(GRAPH, "", 2, -1, "logit"));
        InvalidOptionException unknown = assertThrows(InvalidOptionException.class,
                () -> Objective.resolve(GRAPH, "nope", 0, -1, "logit"));
        assertEquals("--node nope", unknown.where());
        assertTrue(unknown.getMessage().contains("conv, relu, flatten, fc"), unknown.getMessage());
        assertThrows(InvalidOptionException.class, () -> Objective.resolve(GRAPH, "conv", -1, -1, "logit"));
        assertThrows(InvalidOptionException.class, () -> Objective.resolve(GRAPH, "conv", 1, 1, "logit"));
        assertEquals("--objective", assertThrows(InvalidOptionException.class,
                () -> Objective.resolve(GRAPH, "", -1, -1, "softmax")).where());
    }

    @Test
    void indicesAreCheckedAgainstTheValue() {
        new Objective("c", Objective.Kind.CHANNEL, 1).check(Shape.of(1, 2, 4, 4));
        assertEquals("--channel", assertThrows(InvalidOptionException.class,
                () -> new Objective("c", Objective.Kind.CHANNEL, 2).check(Shape.of(1, 2, 4, 4))).where());
        assertEquals("--neuron", assertThrows(InvalidOptionException.class,
                () -> new Objective("c", Objective.Kind.NEURON, 32).check(Shape.of(1, 2, 4, 4))).where());
    }

    @Test
    void seedsAreTheGradientsOfTheObjectives() {
        Random r = new Random(3);
        float[] a = new float[2 * 2 * 3 * 2];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        int[] targets = {1, 0};
        Shape logits = Shape.of(2, 12);
        Shape maps = Shape.of(2, 2, 3, 2);
        for (Objective o : List.of(new Objective("v", Objective.Kind.LOGIT, -1),
                new Objective("v", Objective.Kind.LOG_SOFTMAX, -1), new Objective("v", Objective.Kind.MARGIN, -1),
                new Objective("v", Objective.Kind.NEURON, 7), new Objective("v", Objective.Kind.CHANNEL, 1))) {
            Shape s = o.kind() == Objective.Kind.CHANNEL ? maps : logits;
            float[] seed = o.seed(HostTensor.wrap(s, a), targets).data();
            double h = 1e-3;
            for (int j = 0; j < a.length; j++) {
                float keep = a[j];
                a[j] = (float) (keep + h);
                double[] up = o.values(HostTensor.wrap(s, a), targets);
                a[j] = (float) (keep - h);
                double[] down = o.values(HostTensor.wrap(s, a), targets);
                a[j] = keep;
                double fd = (up[0] + up[1] - down[0] - down[1]) / (2 * h);
                assertEquals(fd, seed[j], 2e-3, o + " element " + j);
            }
        }
    }

    private static Options options(Map<String, String> raw) {
        return Options.parse(new ActivationMaximizationExplainer().options(), raw, "actmax");
    }

    @Test
    void settingsCheckStepsRangesAndImageOptions() {
        Shape batch = Shape.of(2, 1, 28, 28);
        var s = ActivationMaximizationExplainer.Settings.of(options(Map.of("steps", "10", "from-step", "4")), batch);
        assertEquals(4, s.from());
        assertEquals(10, s.to());
        assertEquals(0.05, s.stepSizeAt(0), 1e-12);
        assertEquals(0.005, s.stepSizeAt(9), 1e-12);
        assertEquals("--to-step", assertThrows(InvalidOptionException.class, () -> ActivationMaximizationExplainer
                .Settings.of(options(Map.of("steps", "10", "to-step", "11")), batch)).where());
        assertEquals("--from-step", assertThrows(InvalidOptionException.class, () -> ActivationMaximizationExplainer
                .Settings.of(options(Map.of("from-step", "5", "to-step", "4")), batch)).where());
        assertEquals("--high", assertThrows(InvalidOptionException.class, () -> ActivationMaximizationExplainer
                .Settings.of(options(Map.of("low", "1", "high", "1")), batch)).where());
        assertEquals("--clip", assertThrows(InvalidOptionException.class, () -> ActivationMaximizationExplainer
                .Settings.of(options(Map.of("clip", "maybe")), batch)).where());
        // flat inputs: image options at their defaults are ignored, set explicitly they are an error
        var flat = ActivationMaximizationExplainer.Settings.of(options(Map.of()), Shape.of(1, 784));
        assertEquals(0, flat.jitter());
        assertEquals(0, flat.decorrelate());
        assertEquals("--tv", assertThrows(InvalidOptionException.class, () -> ActivationMaximizationExplainer
                .Settings.of(options(Map.of("tv", "0.1")), Shape.of(1, 784))).where());
    }

    @Test
    void randomDrawsDependOnSeedAndStepOnly() {
        assertEquals(ActivationMaximizationExplainer.random(7, 3).nextLong(),
                ActivationMaximizationExplainer.random(7, 3).nextLong());
        assertNotEquals(ActivationMaximizationExplainer.random(7, 3).nextLong(),
                ActivationMaximizationExplainer.random(7, 4).nextLong());
        assertNotEquals(ActivationMaximizationExplainer.random(7, 3).nextLong(),
                ActivationMaximizationExplainer.random(8, 3).nextLong());
    }

    @Test
    void thePriorIsTheStartOrTheMeanOfExamples(@TempDir Path dir) throws Exception {
        Shape batch = Shape.of(2, 1, 2, 2);
        float[] start = {1, 2, 3, 4, 5, 6, 7, 8};
        DataPrior.Scorer unused = (e, count) -> {
            throw new AssertionError("no ranking without --prior-top");
        };
        DataPrior fromStart = prior(Map.of(), start, batch, unused);
        assertArrayEquals(start, fromStart.mean());
        assertNull(fromStart.covariance()[0], "one image does not vary");
        Path examples = dir.resolve("examples.npy");
        Npy.write(examples, HostTensor.wrap(Shape.of(2, 1, 2, 2), new float[] {0, 0, 2, 2, 1, 1, 1, 1}));
        DataPrior all = prior(Map.of("prior", examples.toString(), "prior-top", "0"), start, batch, unused);
        assertArrayEquals(new float[] {0.5f, 0.5f, 1.5f, 1.5f, 0.5f, 0.5f, 1.5f, 1.5f}, all.mean());
        // C g for the examples' deviations (-1/2, -1/2, 1/2, 1/2) and (1/2, 1/2, -1/2, -1/2): N - 1 = 1
        float[] g = {1, 0, 0, 0};
        all.covariance()[1].precondition(g, 0);
        assertArrayEquals(new float[] {0.5f, 0.5f, -0.5f, -0.5f}, g, 1e-7f);
        assertNull(prior(Map.of("prior", examples.toString(), "prior-top", "0", "covariance", "off"), start, batch,
                unused).covariance()[0]);
        Path wrong = dir.resolve("wrong.npy");
        Npy.write(wrong, HostTensor.zeros(Shape.of(3, 3)));
        assertTrue(assertThrows(InvalidOptionException.class,
                () -> prior(Map.of("prior", wrong.toString()), start, batch, unused)).where().startsWith("--prior"));
        assertTrue(assertThrows(InvalidOptionException.class, () -> prior(
                Map.of("prior", dir.resolve("absent.npy").toString()), start, batch, unused)).where().startsWith("--prior"));
    }

    @Test
    void eachItemsPriorIsMadeOfTheExamplesThatScoreHighestOnItsObjective(@TempDir Path dir) throws Exception {
        Shape batch = Shape.of(2, 1, 2, 2);
        Path examples = dir.resolve("examples.npy");
        float[] e = new float[5 * 4];
        for (int k = 0; k < 5; k++) {
            java.util.Arrays.fill(e, k * 4, k * 4 + 4, k);
        }
        Npy.write(examples, HostTensor.wrap(Shape.of(5, 1, 2, 2), e));
        // item 0 likes high examples, item 1 low ones; examples 3 and 4 tie for item 1's second place
        double[][] scores = {{0, 1, 2, 3, 4}, {9, 0, 0, 5, 5}};
        DataPrior p = prior(Map.of("prior", examples.toString(), "prior-top", "2"), new float[8], batch,
                (ex, count) -> {
                    assertEquals(5, count);
                    return scores;
                });
        assertArrayEquals(new float[] {3.5f, 3.5f, 3.5f, 3.5f, 1.5f, 1.5f, 1.5f, 1.5f}, p.mean());
        assertArrayEquals(new int[] {0, 3}, DataPrior.best(scores[1], 2));
        assertArrayEquals(new int[] {4, 3, 2}, DataPrior.best(scores[0], 3));
        assertArrayEquals(new int[] {2, 0, 1, 3}, DataPrior.best(new double[] {-0.0, 0.0, 1, Double.NaN}, 4),
                "-0 and +0 are a tie, NaN ranks last");
    }

    @Test
    void aFilePriorIsReadAndRankedOncePerKey(@TempDir Path dir) throws Exception {
        Shape batch = Shape.of(2, 1, 2, 2);
        Path examples = dir.resolve("examples.npy");
        Npy.write(examples, HostTensor.wrap(Shape.of(3, 1, 2, 2), new float[12]));
        int[] calls = {0};
        DataPrior.Scorer scorer = (e, count) -> {
            calls[0]++;
            return new double[][] {{0, 1, 2}, {2, 1, 0}};
        };
        var s = ActivationMaximizationExplainer.Settings.of(options(Map.of("prior", examples.toString(), "prior-top", "2")),
                batch);
        Objective logit = new Objective("logits", Objective.Kind.LOGIT, -1);
        Object model = new Object();
        PriorCache cache = new PriorCache();
        DataPrior first = cache.get(s, new float[8], batch, model, logit, new int[] {0, 1}, scorer);
        assertSame(first, cache.get(s, new float[8], batch, model, logit, new int[] {0, 1}, scorer));
        assertEquals(1, calls[0], "the next part of the same run ranks nothing");
        cache.get(s, new float[8], batch, new Object(), logit, new int[] {0, 1}, scorer);
        assertEquals(2, calls[0], "another model ranks again");
        cache.get(s, new float[8], batch, model, logit, new int[] {1, 0}, scorer);
        assertEquals(3, calls[0], "other targets rank again");
        Npy.write(examples, HostTensor.wrap(Shape.of(4, 1, 2, 2), new float[16]));
        cache.get(s, new float[8], batch, model, logit, new int[] {1, 0}, (e, count) -> {
            calls[0]++;
            return new double[][] {{0, 1, 2, 3}, {3, 2, 1, 0}};
        });
        assertEquals(4, calls[0], "a changed file is read again");
    }

    private static DataPrior prior(Map<String, String> raw, float[] start, Shape batch, DataPrior.Scorer scorer) {
        return DataPrior.of(ActivationMaximizationExplainer.Settings.of(options(raw), batch), start, batch, scorer);
    }
}

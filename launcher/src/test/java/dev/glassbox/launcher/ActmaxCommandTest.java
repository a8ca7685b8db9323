package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The actmax and evaluate command lines without the runtime: help, usage errors, helpers. */
class ActmaxCommandTest {

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        var out = new java.io.ByteArrayOutputStream();
        var err = new java.io.ByteArrayOutputStream();
        int code = Main.run(args, new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Result(code, out.toString(java.nio.charset.StandardCharsets.UTF_8),
                err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void bothCommandsAreListedAndHaveHelp() {
        Result top = run("--help");
        assertTrue(top.out().contains("actmax") && top.out().contains("evaluate"), top.out());
        Result a = run("actmax", "--help");
        assertEquals(0, a.code());
        for (String s : List.of("--target", "--node", "--neuron", "--channel", "--steps", "--seed", "--start", "--out",
                "--png", "--verbose", "--quiet")) {
            assertTrue(a.out().contains(s), s + " in " + a.out());
        }
        Result e = run("evaluate", "--help");
        assertEquals(0, e.code());
        for (String s : List.of("--method", "--flip-steps", "--patch", "--fraction", "--flip-baseline", "--random-orders",
                "--out", "--verbose")) {
            assertTrue(e.out().contains(s), s + " in " + e.out());
        }
    }

    @Test
    void anObjectiveIsRequiredAndUnambiguous(@TempDir Path dir) {
        String out = dir.resolve("x.npy").toString();
        Result r = run("actmax", "--model", "m.onnx", "--out", out);
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: give --target N (a class), or --node NAME with --neuron I or"
                + " --channel C (--target)"), r.err());
        r = run("actmax", "--model", "m.onnx", "--out", out, "--node", "conv1", "--neuron", "1", "--channel", "2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("(--channel)"), r.err());
        r = run("actmax", "--model", "m.onnx", "--out", out, "--node", "conv1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("needs --neuron I or --channel C (--node)"), r.err());
        r = run("actmax", "--model", "m.onnx", "--out", out, "--target", "3", "--neuron", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("(--target)"), r.err());
        r = run("actmax", "--model", dir.resolve("absent.onnx").toString(), "--out", out, "--target", "3");
        assertEquals(3, r.code());
        assertEquals("glassbox: error: no such file (" + dir.resolve("absent.onnx") + ")", r.err().strip());
        r = run("actmax", "--model", "m.onnx", "--target", "3");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: missing required option (--out)"), r.err());
        assertFalse(Files.exists(dir.resolve("x.npy")));
    }

    @Test
    void evaluateChecksItsOptionsBeforeStarting(@TempDir Path dir) {
        String[] base = {"evaluate", "--model", "m.onnx", "--input", "x.npy", "--out", dir.toString()};
        Result r = run(concat(base, "--method", "lrp", "--fraction", "0"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("(--fraction)"), r.err());
        r = run(concat(base, "--method", "lrp", "--flip-baseline", "noise"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("(--flip-baseline)"), r.err());
        r = run(concat(base, "--method", "actmax"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("(--method)"), r.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void targetsAreClassLists() {
        assertArrayEquals(new int[] {3}, ActmaxCommand.targets("3"));
        assertArrayEquals(new int[] {0, 1, 9}, ActmaxCommand.targets("0, 1,9"));
        assertEquals("--target", assertThrows(InvalidOptionException.class, () -> ActmaxCommand.targets("predicted")).where());
        assertEquals("--target", assertThrows(InvalidOptionException.class, () -> ActmaxCommand.targets("-2")).where());
    }

    @Test
    void measuresAndTruncatedGraphs() {
        Graph g = new Graph("t", List.of(new ValueInfo("x", Shape.of(1, 4, 4))), List.of(
                new Node("conv", new Op.Conv2d(HostTensor.zeros(Shape.of(2, 1, 3, 3)), null, Geometry2d.UNIT, 1),
                        List.of("x"), "c"),
                new Node("relu", new Op.Relu(), List.of("c"), "r"),
                new Node("flatten", new Op.Flatten(1), List.of("r"), "f"),
                new Node("fc", new Op.Dense(HostTensor.zeros(Shape.of(3, 8)), null), List.of("f"), "logits")),
                List.of("logits"));
        Graph upTo = ActivationMaximization.upTo(g, "r");
        assertEquals(List.of("conv", "relu"), upTo.nodes().stream().map(Node::name).toList());
        assertEquals("r", upTo.output());
        assertEquals("logit", ActivationMaximization.Measure.of(g, Map.of()).orElseThrow().describe());
        assertEquals("channel 1 of c", ActivationMaximization.Measure.of(g, Map.of("node", "conv", "channel", "1"))
                .orElseThrow().describe());
        assertEquals("neuron 4 of r", ActivationMaximization.Measure.of(g, Map.of("node", "r", "neuron", "4"))
                .orElseThrow().describe());
        assertTrue(ActivationMaximization.Measure.of(g, Map.of("node", "nope", "neuron", "4")).isEmpty());
    }

    @Test
    void meansRepeatsAndPictures() {
        HostTensor batch = HostTensor.wrap(Shape.of(2, 1, 1, 2), new float[] {0, 2, 1, 4});
        HostTensor mean = ActivationMaximization.mean(batch);
        assertEquals(Shape.of(1, 1, 2), mean.shape());
        assertArrayEquals(new float[] {0.5f, 3}, mean.data());
        assertEquals(Shape.of(3, 1, 1, 2), ActivationMaximization.repeat(mean, 3).shape());

        BufferedImage gray = Pictures.render(HostTensor.wrap(Shape.of(1, 2, 2), new float[] {0, 1, 2, 4}));
        assertEquals(224, gray.getWidth());
        assertEquals(0x000000, gray.getRGB(0, 0) & 0xFFFFFF);
        assertEquals(0xFFFFFF, gray.getRGB(223, 223) & 0xFFFFFF);
        BufferedImage rgb = Pictures.render(HostTensor.wrap(Shape.of(3, 1, 1), new float[] {1, 0, 0}));
        assertEquals(0xFF0000, rgb.getRGB(0, 0) & 0xFFFFFF);
        assertThrows(dev.glassbox.api.InvalidInputException.class,
                () -> Pictures.render(HostTensor.zeros(Shape.of(2, 4, 4))));
    }
}

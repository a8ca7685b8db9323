package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.DeadlineExceededException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Argument parsing and exit codes, without starting the runtime. */
class MainTest {

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpListsTheCommands() {
        Result r = run("--help");
        assertEquals(0, r.code());
        for (String c : List.of("explain", "predict", "list", "console", "demo", "actmax", "evaluate", "bench")) {
            assertTrue(r.out().contains(c), c + " in " + r.out());
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : List.of("explain", "predict", "list", "console", "demo", "actmax", "evaluate", "bench")) {
            Result r = run(c, "--help");
            assertEquals(0, r.code(), c);
            assertTrue(r.out().contains("--verbose"), c + ": " + r.out());
        }
        assertTrue(run("explain", "--help").out().contains("--target"));
    }

    @Test
    void aTimeoutMustBePositiveInEveryCommandThatTakesOne() {
        for (String c : List.of("explain", "evaluate", "actmax")) {
            Result r = run(c, "--model", "m.onnx", "--input", "x.npy", "--method", "gradient", "--target", "0",
                    "--out", "o", "--timeout", "0");
            assertEquals(2, r.code(), c + ": " + r);
            assertTrue(r.err().contains("must be positive, got 0.0 (--timeout)"), c + ": " + r.err());
        }
    }

    @Test
    void noCommandIsAUsageError() {
        Result r = run();
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: no command given"), r.err());
    }

    @Test
    void unknownCommandAndOptionAreUsageErrors() {
        Result r = run("frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: unknown command (frobnicate)"), r.err());
        r = run("list", "--bogus");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: unknown option (--bogus)"), r.err());
    }

    @Test
    void missingRequiredOptionNamesIt() {
        Result r = run("explain", "--input", "x.npy", "--method", "gradient", "--out", "r.npy");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: missing required option (--model)"), r.err());
    }

    @Test
    void badValueNamesTheOption() {
        Result r = run("list", "--threads", "many");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("glassbox: error: ") && r.err().contains("(--threads)"), r.err());
    }

    @Test
    void missingModelFileIsBadInputNamingTheFile(@TempDir Path dir) {
        Path model = dir.resolve("absent.onnx");
        Result r = run("explain", "--model", model.toString(), "--input", "x.npy", "--method", "gradient",
                "--out", dir.resolve("r.npy").toString());
        assertEquals(3, r.code());
        assertEquals("glassbox: error: no such file (" + model + ")", r.err().strip());
    }

    @Test
    void malformedMethodOptionIsAUsageError(@TempDir Path dir) {
        Result r = run("explain", "--model", "m.onnx", "--input", "x.npy", "--method", "gradient", "--out", "r.npy",
                "--steps");
        assertEquals(2, r.code());
        assertEquals("glassbox: error: missing value (--steps)", r.err().strip());
    }

    @Test
    void methodOptionsAreCollectedFromUnknownWords() {
        CommandLine cmd = new CommandLine(new Main());
        CommandLine.ParseResult parsed = cmd.parseArgs("explain", "--model", "m.onnx", "--steps", "64", "--input",
                "x.npy", "--method", "integrated-gradients", "--baseline=zero", "--out", "r.npy", "--target", "1,2");
        ExplainCommand e = (ExplainCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(Map.of("steps", "64", "baseline", "zero"), Inputs.methodOptions(e.methodWords));
        assertEquals("1,2", e.target);
        assertEquals(Path.of("m.onnx"), e.model);
    }

    @Test
    void methodOptionParsing() {
        assertEquals(Map.of("rule", "a=b,c=d", "epsilon", "1e-6"),
                Inputs.methodOptions(List.of("--rule", "a=b", "--epsilon", "1e-6", "--rule=c=d")));
        var e = assertThrows(InvalidOptionException.class, () -> Inputs.methodOptions(List.of("stray")));
        assertEquals("stray", e.where());
    }

    @Test
    void targets() {
        assertInstanceOf(Target.Predicted.class, Inputs.target("predicted", 3));
        assertArrayEquals(new int[] {4}, ((Target.Classes) Inputs.target("4", 3)).indices());
        assertArrayEquals(new int[] {0, 1, 2}, ((Target.Classes) Inputs.target("0, 1,2", 3)).indices());
        assertEquals("--target", assertThrows(InvalidOptionException.class, () -> Inputs.target("cat", 1)).where());
        assertThrows(InvalidOptionException.class, () -> Inputs.target("1,2", 3));
        assertThrows(InvalidOptionException.class, () -> Inputs.target("-1", 1));
    }

    @Test
    void inputsGetABatchAxis() {
        Shape item = Shape.of(1, 2, 2);
        assertEquals(Shape.of(1, 1, 2, 2), Inputs.batched(HostTensor.zeros(item), item, "x").shape());
        assertEquals(Shape.of(3, 1, 2, 2), Inputs.batched(HostTensor.zeros(Shape.of(3, 1, 2, 2)), item, "x").shape());
        var e = assertThrows(InvalidInputException.class,
                () -> Inputs.batched(HostTensor.zeros(Shape.of(3, 4)), item, "x.npy"));
        assertEquals("x.npy", e.where());
    }

    @Test
    void exitCodes() {
        assertEquals(2, Main.exitCode(new InvalidOptionException("bad", "--x")));
        assertEquals(3, Main.exitCode(new InvalidInputException("bad", "f")));
        assertEquals(4, Main.exitCode(new UnsupportedFeatureException("no", "m")));
        assertEquals(1, Main.exitCode(new DeadlineExceededException("late", "m")));
        assertEquals(1, Main.exitCode(new IllegalStateException()));
        var wrapped = new RuntimeException(new java.util.concurrent.ExecutionException(new InvalidInputException("x", "y")));
        assertInstanceOf(InvalidInputException.class, Main.glassboxCause(wrapped));
    }

    @Test
    void argmaxAndSoftmax() {
        HostTensor logits = HostTensor.wrap(Shape.of(2, 3), new float[] {1, 5, 2, 9, 0, 0});
        assertArrayEquals(new int[] {1, 0}, Inputs.argmax(logits));
        float[] p = DemoCommand.softmax(logits).data();
        assertEquals(1.0, p[0] + p[1] + p[2], 1e-6);
        assertTrue(p[1] > p[2] && p[2] > p[0]);
    }

    @Test
    void modelMetadata() {
        String json = "{\"classes\": [\"T-shirt/top\", \"Trouser\"], \"test_accuracy\": 0.9074, \"x\": 1}";
        assertEquals(List.of("T-shirt/top", "Trouser"), DemoCommand.classNames(json));
        assertEquals("0.9074", DemoCommand.number(json, "test_accuracy"));
    }

    @Test
    void progressBarDrawsOnlyWhenEnabled() {
        var sw = new java.io.StringWriter();
        try (ProgressBar bar = new ProgressBar(new java.io.PrintWriter(sw), "ig", false)) {
            bar.progress(1, 2);
        }
        assertEquals("", sw.toString());
        try (ProgressBar bar = new ProgressBar(new java.io.PrintWriter(sw), "ig", true)) {
            bar.progress(2, 2);
        }
        assertTrue(sw.toString().contains("] 2/2"), sw.toString());
    }
}

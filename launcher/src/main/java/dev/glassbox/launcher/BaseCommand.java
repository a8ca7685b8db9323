package dev.glassbox.launcher;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.io.Npy;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** What every command shares: the common options, its streams, and starting the runtime. */
@Command(mixinStandardHelpOptions = true, sortOptions = false)
abstract class BaseCommand implements Callable<Integer> {

    /** The options every command takes (CLI.md, "Common options"). */
    static final class Common {
        @Option(names = "--backend", paramLabel = "ID", description = "backend id (default: the best available)")
        String backend;

        @Option(names = "--threads", paramLabel = "N", description = "worker threads for the backend")
        Integer threads;

        @Option(names = "--verbose", description = "stack traces and timings")
        boolean verbose;

        @Option(names = "--quiet", description = "no progress or summary")
        boolean quiet;
    }

    @Mixin
    Common common;

    @Spec
    CommandSpec spec;

    /** When this run began (Main.run), for the start time --verbose reports. */
    long startNanos = System.nanoTime();

    /** The stdin of this run (the console reads it). */
    InputStream stdin = System.in;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Whether a person is watching (decided before the runtime starts; Gogo replaces System.in). */
    boolean terminal;

    /** Progress bars and the interactive shell need a terminal. */
    boolean terminal() {
        return terminal;
    }

    /** Starts the runtime of {@code glassbox.home} with the common options applied. */
    GlassboxRuntime startRuntime(Path deploy, Map<String, String> properties) throws Exception {
        if (common.threads != null && common.threads < 1) {
            throw new dev.glassbox.api.InvalidOptionException("must be at least 1, got " + common.threads, "--threads");
        }
        GlassboxRuntime.Builder b = GlassboxRuntime.builder().home(Main.home()).deployDir(deploy)
                .startTimeout(Duration.ofSeconds(30)).properties(properties);
        if (common.threads != null) {
            b.property("glassbox.threads", Integer.toString(common.threads));
        }
        return b.build();
    }

    /** The runtime's service; under --verbose also how long the runtime took to offer it. */
    ExplanationService service(GlassboxRuntime rt) {
        ExplanationService s = rt.service();
        if (common.verbose) {
            err().printf("glassbox: runtime ready %d ms after start%n", (System.nanoTime() - startNanos) / 1_000_000);
        }
        return s;
    }

    GlassboxRuntime startRuntime() throws Exception {
        return startRuntime(null, Map.of());
    }

    /** Fails with exit 3 naming the file unless it is a readable regular file. */
    static Path existing(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(Files.exists(file) ? "not a regular file" : "no such file", file.toString());
        }
        return file;
    }

    /** Something that writes one output file. */
    @FunctionalInterface
    interface Writer {
        void write() throws IOException;
    }

    /** Runs {@code w}; a place that cannot be written is the caller's input error (exit 3). */
    static void writing(Path file, Writer w) {
        try {
            w.write();
        } catch (NoSuchFileException | AccessDeniedException e) {
            throw new InvalidInputException("cannot write the output file", file.toString(), e);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes a float32 .npy whole or not at all. */
    static void writeNpy(Path file, HostTensor tensor) {
        writing(file, () -> Npy.write(file, tensor));
    }
}

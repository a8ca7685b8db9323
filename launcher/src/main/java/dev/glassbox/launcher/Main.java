package dev.glassbox.launcher;

import dev.glassbox.api.DeadlineExceededException;
import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.UnsupportedFeatureException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * The {@code glassbox} command line (see {@code CLI.md}). Each command starts the runtime in
 * {@code glassbox.home}, does its work through the {@code ExplanationService}, and stops it.
 * Errors are one line, {@code glassbox: error: <what> (<where>)}, with the exit codes of the
 * contract: 2 usage, 3 bad input, 4 unsupported, 1 anything else.
 */
@Command(name = "glassbox", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Explains neural networks: which inputs made the model decide as it did.",
        subcommands = {ExplainCommand.class, PredictCommand.class, ListCommand.class, ConsoleCommand.class,
                DemoCommand.class, ActmaxCommand.class, EvaluateCommand.class, BenchCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    public static final int OK = 0;
    public static final int INTERNAL = 1;
    public static final int USAGE = 2;
    public static final int BAD_INPUT = 3;
    public static final int UNSUPPORTED = 4;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err));
    }

    /** Runs one command line and returns its exit code; for tests and embedding. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, out, err);
    }

    /** As {@link #run(String[], PrintStream, PrintStream)}, with the stdin the console reads. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        java.io.Console console = System.console();
        boolean terminal = in == System.in && console != null && console.isTerminal();
        CommandLine cmd = new CommandLine(new Main(), new Factory(in, terminal, System.nanoTime()));
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        cmd.setParameterExceptionHandler(Main::usageError);
        cmd.setExecutionExceptionHandler((e, c, parsed) -> failure(e, c));
        int code = cmd.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** {@code glassbox} alone: the usage, as a usage error. */
    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("glassbox: error: no command given (glassbox)");
        spec.commandLine().usage(err);
        return USAGE;
    }

    /** picocli's parse errors in the contract's one-line format. */
    static int usageError(ParameterException e, String[] args) {
        CommandLine c = e.getCommandLine();
        String where = c.getCommandSpec().qualifiedName();
        String what = e.getMessage();
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            what = arg.startsWith("-") ? "unknown option" : c.getSubcommands().isEmpty() ? "unexpected argument"
                    : "unknown command";
            where = arg;
        } else if (e instanceof CommandLine.MissingParameterException m && !m.getMissing().isEmpty()) {
            what = "missing required option";
            where = String.join(", ", m.getMissing().stream().map(Main::argName).toList());
        } else if (e.getArgSpec() != null) {
            where = argName(e.getArgSpec());
        }
        PrintWriter err = c.getErr();
        err.println("glassbox: error: " + lowerFirst(what) + " (" + where + ")");
        err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USAGE;
    }

    /** Exceptions from a command: one line, the stack trace only under --verbose. */
    static int failure(Exception e, CommandLine c) {
        PrintWriter err = c.getErr();
        GlassboxException g = glassboxCause(e);
        String line;
        if (g != null) {
            line = g.describe();
        } else {
            String msg = e.getMessage();
            line = e instanceof IllegalStateException && msg != null ? msg
                    : "internal error: " + e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg)
                    + (verbose(c) ? "" : " (run with --verbose for the stack trace)");
        }
        err.println("glassbox: error: " + line);
        if (verbose(c)) {
            e.printStackTrace(err);
        }
        err.flush();
        return exitCode(g != null ? g : e);
    }

    /** The exit code of the contract for a failure. */
    static int exitCode(Throwable e) {
        return switch (e) {
            case InvalidOptionException x -> USAGE;
            case InvalidInputException x -> BAD_INPUT;
            case UnsupportedFeatureException x -> UNSUPPORTED;
            case DeadlineExceededException x -> INTERNAL;
            case ParameterException x -> USAGE;
            default -> INTERNAL;
        };
    }

    /** The Glassbox exception in the cause chain, e.g. one wrapped by a service proxy or a future. */
    static GlassboxException glassboxCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof GlassboxException g) {
                return g;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    private static boolean verbose(CommandLine c) {
        return c.getCommand() instanceof BaseCommand b && b.common.verbose;
    }

    private static String argName(ArgSpec a) {
        return a instanceof OptionSpec o ? o.longestName() : a.paramLabel();
    }

    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * The runtime directory: {@code glassbox.home}, else the directory above the launcher jar's
     * {@code lib/}.
     */
    static Path home() {
        String prop = System.getProperty("glassbox.home");
        if (prop != null) {
            return Path.of(prop);
        }
        try {
            Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("launcher", "target", "glassbox");
        }
    }

    /** The repository root (models/): {@code glassbox.repo}, else three levels above the home. */
    static Path repo() {
        String prop = System.getProperty("glassbox.repo");
        if (prop != null) {
            return Path.of(prop);
        }
        Path guess = home().toAbsolutePath().normalize().getParent();
        for (int i = 0; i < 2 && guess != null; i++) {
            guess = guess.getParent();
        }
        return guess != null && Files.isDirectory(guess.resolve("models")) ? guess : Path.of(".");
    }

    /** Creates commands with the stdin, terminal and start time of this run. */
    private record Factory(InputStream in, boolean terminal, long startNanos) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            K obj = CommandLine.defaultFactory().create(cls);
            if (obj instanceof BaseCommand b) {
                b.stdin = in;
                b.startNanos = startNanos;
                b.terminal = terminal;
            }
            return obj;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"glassbox " + (v == null ? "(development)" : v)};
        }
    }
}

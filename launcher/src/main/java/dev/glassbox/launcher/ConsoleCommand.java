package dev.glassbox.launcher;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Gogo shell. With a terminal it is gosh's interactive shell; otherwise each line of stdin
 * is run through the Gogo {@code CommandProcessor} and the command exits at end of input.
 */
@Command(name = "console", description = {"The admin console (Gogo shell).",
        "Commands: glassbox:explainers, glassbox:backends, glassbox:formats, glassbox:explain MODEL X.npy METHOD,",
        "lb, install URL, start ID|URL, stop, uninstall ID|NAME, exit.",
        "Without a terminal it runs the commands read from stdin and exits at end of input",
        "or at 'exit [N]' (status N). In the interactive shell, 'exit' or Ctrl-D stops it."})
final class ConsoleCommand extends BaseCommand {

    private static final String PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    private static final String SESSION = "org.apache.felix.service.command.CommandSession";
    private static final Pattern EXIT = Pattern.compile("\\s*exit(?:\\s+(\\d{1,3}))?\\s*");

    @Option(names = "--deploy", paramLabel = "DIR", description = "directory watched for bundles to install (FileInstall)")
    Path deploy;

    @Override
    public Integer call() throws Exception {
        if (deploy != null) {
            Files.createDirectories(deploy);
        }
        boolean interactive = terminal();
        // An empty gosh.args lets gosh start its interactive login shell on stdin.
        Map<String, String> props = interactive ? Map.of("gosh.args", "") : Map.of();
        try (GlassboxRuntime rt = startRuntime(deploy, props)) {
            try {
                rt.service(); // so the glassbox commands are there before the first line
            } catch (IllegalStateException e) {
                err().println("glassbox: warning: " + e.getMessage());
            }
            if (interactive) {
                rt.awaitStop(); // gosh stops the framework on exit or end of input
                return Main.OK;
            }
            return runScript(rt.context());
        }
    }

    /**
     * Executes stdin line by line; a failing line prints one error and the script goes on. Ends
     * at end of input (status 0) or at {@code exit [N]}.
     */
    private int runScript(BundleContext ctx) throws Exception {
        ServiceTracker<Object, Object> tracker = new ServiceTracker<>(ctx,
                ctx.createFilter("(objectClass=" + PROCESSOR + ")"), null);
        tracker.open(true);
        try {
            Object processor = tracker.waitForService(10_000);
            if (processor == null) {
                throw new IllegalStateException("the Gogo command processor did not start (is gogo.runtime installed?)");
            }
            // Gogo's types live in its bundle, not on the launcher's class path: call them reflectively.
            ServiceReference<Object> ref = tracker.getServiceReference();
            ClassLoader gogo = ref.getBundle().adapt(org.osgi.framework.wiring.BundleWiring.class).getClassLoader();
            Class<?> processorType = gogo.loadClass(PROCESSOR);
            Class<?> sessionType = gogo.loadClass(SESSION);
            Method create = Arrays.stream(processorType.getMethods())
                    .filter(m -> m.getName().equals("createSession") && m.getParameterCount() == 3).findFirst()
                    .orElseThrow();
            Method execute = sessionType.getMethod("execute", CharSequence.class);
            Method format = sessionType.getMethod("format", Object.class, int.class);
            Method close = sessionType.getMethod("close");

            PrintWriter out = out();
            PrintWriter err = err();
            PrintStream sessionOut = new PrintStream(new WriterStream(out), true, StandardCharsets.UTF_8);
            PrintStream sessionErr = new PrintStream(new WriterStream(err), true, StandardCharsets.UTF_8);
            Object session = create.invoke(processor, stdin, sessionOut, sessionErr);
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8))) {
                String line;
                int number = 0;
                while ((line = lines.readLine()) != null) {
                    number++;
                    if (line.isBlank() || line.strip().startsWith("#")) {
                        continue;
                    }
                    Matcher exit = EXIT.matcher(line);
                    if (exit.matches()) {
                        return exit.group(1) == null ? Main.OK : Integer.parseInt(exit.group(1));
                    }
                    try {
                        Object result = execute.invoke(session, line);
                        sessionOut.flush();
                        if (result != null) {
                            out.println(format.invoke(session, result, 0)); // Converter.INSPECT
                        }
                    } catch (InvocationTargetException e) {
                        sessionOut.flush();
                        Throwable cause = e.getCause();
                        err.println("glassbox: error: " + describe(cause) + " (console line " + number + ": "
                                + line.strip() + ")");
                        if (common.verbose) {
                            cause.printStackTrace(err);
                        }
                    }
                    out.flush();
                    err.flush();
                }
            } finally {
                close.invoke(session);
            }
            return Main.OK;
        } finally {
            tracker.close();
        }
    }

    private static String describe(Throwable t) {
        var g = Main.glassboxCause(t);
        if (g != null) {
            return g.describe();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** Bytes from Gogo's session streams into the command's writer (captured in tests). */
    private static final class WriterStream extends OutputStream {
        private final PrintWriter target;
        private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();

        WriterStream(PrintWriter target) {
            this.target = target;
        }

        @Override
        public synchronized void write(int b) {
            pending.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            pending.write(b, off, len);
        }

        @Override
        public synchronized void flush() {
            target.print(pending.toString(StandardCharsets.UTF_8));
            target.flush();
            pending.reset();
        }
    }
}

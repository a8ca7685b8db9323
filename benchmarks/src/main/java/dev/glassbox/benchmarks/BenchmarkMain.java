package dev.glassbox.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@code java -jar benchmarks/target/benchmarks.jar [JMH options]}: runs {@link ExplainBenchmark}
 * (JMH's command line: {@code -p backend=djl}, {@code -wi}, {@code -i}, {@code -h} ...), then
 * prints and writes to {@code benchmarks/target/jmh-ratios.md} each explanation's time over the
 * forward time of the same model, backend and batch, against the targets of issue 6, and the
 * java/djl speed-up. JMH's own results go to {@code benchmarks/target/jmh-result.json} unless
 * {@code -rff} says otherwise.
 */
public final class BenchmarkMain {

    /** Issue 6: explanation time / forward time at most this. */
    static final Map<String, Double> RATIO_TARGETS = Map.of("gradient", 2.5, "lrp-epsilon-plus-flat", 3.0,
            "lrp-epsilon-gamma-box", 4.0);
    /** Issue 6: djl at least this many times faster than java on resnet18, batch 16. */
    static final double DJL_SPEEDUP_TARGET = 5.0;

    private BenchmarkMain() {
    }

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        if (cli.shouldHelp() || cli.shouldList() || cli.shouldListWithParams() || cli.shouldListProfilers()
                || cli.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        Path target = ExplainBenchmark.repo().resolve("benchmarks/target");
        Files.createDirectories(target);
        OptionsBuilder options = new OptionsBuilder();
        options.parent(cli);
        if (cli.getIncludes().isEmpty()) {
            options.include(ExplainBenchmark.class.getName());
        }
        if (!cli.getResult().hasValue()) {
            options.resultFormat(ResultFormatType.JSON).result(target.resolve("jmh-result.json").toString());
        }
        String report = report(new Runner(options.build()).run());
        System.out.println();
        System.out.print(report);
        Path file = target.resolve("jmh-ratios.md");
        Files.writeString(file, report);
        System.out.println("written to " + file);
    }

    /** Markdown tables: ratios to forward per (model, backend, batch), then java/djl per (model, batch, method). */
    static String report(Collection<RunResult> results) {
        // model -> backend -> batch -> method -> ms/op
        Map<String, Map<String, Map<Integer, Map<String, Double>>>> ms = new TreeMap<>();
        for (RunResult r : results) {
            var p = r.getParams();
            ms.computeIfAbsent(p.getParam("model"), k -> new TreeMap<>())
                    .computeIfAbsent(p.getParam("backend"), k -> new TreeMap<>())
                    .computeIfAbsent(Integer.parseInt(p.getParam("batch")), k -> new TreeMap<>())
                    .put(p.getParam("method"), r.getPrimaryResult().getScore());
        }
        StringBuilder out = new StringBuilder("| model | backend | batch | method | ms/op | ratio to forward | target |\n"
                + "|---|---|---|---|---|---|---|\n");
        ms.forEach((model, byBackend) -> byBackend.forEach((backend, byBatch) -> byBatch.forEach((batch, byMethod) -> {
            Double forward = byMethod.get(ExplainBenchmark.FORWARD);
            byMethod.forEach((method, time) -> {
                String ratio = forward == null || method.equals(ExplainBenchmark.FORWARD) ? ""
                        : String.format(Locale.ROOT, "%.2f", time / forward);
                Double limit = RATIO_TARGETS.get(method);
                String verdict = limit == null || ratio.isEmpty() ? ""
                        : String.format(Locale.ROOT, "<= %.1f: %s", limit, time / forward <= limit ? "met" : "MISSED");
                out.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %.2f | %s | %s |%n", model, backend, batch,
                        method, time, ratio, verdict));
            });
        })));
        List<String> speedups = new ArrayList<>();
        ms.forEach((model, byBackend) -> {
            var java = byBackend.getOrDefault("java", Map.of());
            var djl = byBackend.getOrDefault("djl", Map.of());
            java.forEach((batch, byMethod) -> byMethod.forEach((method, javaMs) -> {
                Double djlMs = djl.getOrDefault(batch, Map.of()).get(method);
                if (djlMs != null) {
                    double speedup = javaMs / djlMs;
                    String verdict = model.equals("resnet18") && batch == 16
                            ? String.format(Locale.ROOT, ">= %.0f: %s", DJL_SPEEDUP_TARGET,
                                    speedup >= DJL_SPEEDUP_TARGET ? "met" : "MISSED") : "";
                    speedups.add(String.format(Locale.ROOT, "| %s | %d | %s | %.2f | %.2f | %.2f | %s |%n", model, batch,
                            method, javaMs, djlMs, speedup, verdict));
                }
            }));
        });
        if (!speedups.isEmpty()) {
            out.append("\n| model | batch | method | java ms/op | djl ms/op | java / djl | target |\n"
                    + "|---|---|---|---|---|---|---|\n");
            speedups.forEach(out::append);
        }
        return out.toString();
    }
}

package dev.glassbox.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.ops4j.pax.exam.Option;

/** The Pax Exam configuration of every test here: the bundles of {@code launcher/target/glassbox}. */
final class AssembledRuntime {
    private AssembledRuntime() {
    }

    static Option[] options() throws IOException {
        Path runtime = Path.of(System.getProperty("glassbox.runtime"));
        List<Option> options = new ArrayList<>();
        options.add(junitBundles());
        // The launcher shares the API with the host through its class path; here it is a bundle.
        options.add(bundle(runtime.resolve("lib/glassbox-api.jar").toUri().toString()));
        try (Stream<Path> s = Files.list(runtime.resolve("bundles"))) {
            for (Path jar : s.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                options.add(bundle(jar.toUri().toString()));
            }
        }
        Path deploy = Files.createTempDirectory("glassbox-itest-deploy");
        options.add(frameworkProperty("gosh.args").value("--nointeractive"));
        options.add(frameworkProperty("felix.fileinstall.dir").value(deploy.toString()));
        options.add(systemProperty("glassbox.root").value(System.getProperty("glassbox.root")));
        options.add(systemProperty("glassbox.runtime").value(runtime.toString()));
        return options.toArray(Option[]::new);
    }

    /** The repository root, for models/ and testdata/. */
    static Path root() {
        return Path.of(System.getProperty("glassbox.root"));
    }
}

package dev.glassbox.backend.cudnn;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where the CUDA libraries are looked for, and the file of one of them. The search path is, in
 * order: the directories of the system property {@code glassbox.cuda.path} (separated like
 * {@code PATH}), {@code $CUDA_HOME/lib64} and {@code $CUDA_PATH/lib64}, {@code LD_LIBRARY_PATH},
 * {@code /usr/local/cuda/lib64} and the Debian multiarch directory.
 */
final class NativeLibraries {

    static final String PATH_PROPERTY = "glassbox.cuda.path";

    private NativeLibraries() {
    }

    /** The default search path of this process. */
    static List<Path> searchPath() {
        return searchPath(System.getProperty(PATH_PROPERTY), System.getenv());
    }

    /** The search path with the directories of {@code first} (separated like PATH) ahead of the environment's. */
    static List<Path> searchPath(String first, Map<String, String> env) {
        Set<Path> dirs = new LinkedHashSet<>();
        split(first, dirs);
        for (String home : List.of("CUDA_HOME", "CUDA_PATH")) {
            String value = env.get(home);
            if (value != null && !value.isBlank()) {
                dirs.add(Path.of(value, "lib64"));
            }
        }
        split(env.get("LD_LIBRARY_PATH"), dirs);
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        return List.copyOf(dirs);
    }

    private static void split(String list, Set<Path> into) {
        if (list == null) {
            return;
        }
        Arrays.stream(list.split(File.pathSeparator)).map(String::trim).filter(s -> !s.isEmpty()).map(Path::of).forEach(into::add);
    }

    /**
     * The file of library {@code name} (e.g. {@code cudart}) in the first directory that has
     * one: {@code lib<name>.so}, else the highest {@code lib<name>.so.<version>}.
     */
    static Optional<Path> find(String name, List<Path> dirs) {
        String plain = "lib" + name + ".so";
        for (Path dir : dirs) {
            if (Files.isRegularFile(dir.resolve(plain))) {
                return Optional.of(dir.resolve(plain));
            }
            List<Path> versioned = new ArrayList<>();
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(f -> f.getFileName().toString().startsWith(plain + ".") && Files.isRegularFile(f)
                        && version(f.getFileName().toString().substring(plain.length() + 1)) != null)
                        .forEach(versioned::add);
            } catch (IOException | SecurityException e) {
                continue; // a directory that is not there or not readable holds nothing
            }
            Optional<Path> best = versioned.stream().max(Comparator.comparing(
                    f -> version(f.getFileName().toString().substring(plain.length() + 1)), NativeLibraries::compare));
            if (best.isPresent()) {
                return best;
            }
        }
        return Optional.empty();
    }

    /** {@code 12.6.77} as numbers, or null if it is not a dotted version. */
    private static int[] version(String text) {
        String[] parts = text.split("\\.");
        int[] v = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty() || !parts[i].chars().allMatch(Character::isDigit) || parts[i].length() > 9) {
                return null;
            }
            v[i] = Integer.parseInt(parts[i]);
        }
        return v;
    }

    private static int compare(int[] a, int[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (a[i] != b[i]) {
                return Integer.compare(a[i], b[i]);
            }
        }
        return Integer.compare(a.length, b.length);
    }
}

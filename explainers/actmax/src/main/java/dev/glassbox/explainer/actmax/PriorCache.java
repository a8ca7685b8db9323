package dev.glassbox.explainer.actmax;

import dev.glassbox.api.tensor.Shape;
import java.io.IOException;
import java.lang.ref.SoftReference;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;

/**
 * The last data prior read from a file, kept (softly) for the next request with the same key:
 * a run split into parts ({@code --from-step}/{@code --to-step}, as the command line does to
 * show progress) reads and ranks its examples once rather than once per part. The key holds
 * everything the prior depends on, so a hit is exactly what reading again would give.
 */
final class PriorCache {

    private record Key(Path file, long size, FileTime modified, Object model, Objective objective, List<Integer> targets,
                       int top, boolean covariance, Shape shape) {
    }

    private record Entry(Key key, DataPrior prior) {
    }

    private volatile SoftReference<Entry> last = new SoftReference<>(null);

    /** {@link DataPrior#of}, or the last one where it was made for the same key; {@code model} is compared by identity. */
    DataPrior get(ActivationMaximizationExplainer.Settings s, float[] start, Shape shape, Object model,
                  Objective objective, int[] targets, DataPrior.Scorer scorer) {
        Key key = key(s, shape, model, objective, targets);
        Entry hit = last.get();
        if (key != null && hit != null && hit.key().equals(key)) {
            return hit.prior();
        }
        DataPrior prior = DataPrior.of(s, start, shape, scorer);
        if (key != null) {
            last = new SoftReference<>(new Entry(key, prior));
        }
        return prior;
    }

    /** The key of a file prior, or null: the start image is no file, and a file that cannot be read is DataPrior's to name. */
    private static Key key(ActivationMaximizationExplainer.Settings s, Shape shape, Object model, Objective objective,
                           int[] targets) {
        if (s.prior().equals("start")) {
            return null;
        }
        try {
            Path file = Path.of(s.prior()).toAbsolutePath();
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Key(file, a.size(), a.lastModifiedTime(), new Identity(model), objective,
                    Arrays.stream(targets).boxed().toList(), s.priorTop(), s.covariance(), shape);
        } catch (IOException | InvalidPathException e) {
            return null;
        }
    }

    /** Equal only to the same object, whatever its class's equals. */
    private record Identity(Object object) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Identity i && i.object == object;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(object);
        }
    }
}

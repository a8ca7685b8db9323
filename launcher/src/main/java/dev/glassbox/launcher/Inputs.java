package dev.glassbox.launcher;

import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.io.Images;
import dev.glassbox.io.Npy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/** Reading {@code --input} and parsing {@code --target} and method options, shared by the commands. */
final class Inputs {

    /** How an image input becomes the model's input: {@code (pixel / 255 * scale - mean) / std}. */
    /** {@code --timeout SECONDS}: the deadline of the command's request. */
    static final class TimeoutOption {
        @Option(names = "--timeout", paramLabel = "SECONDS", description = "deadline of the request (default 600)")
        Double seconds;

        /** The deadline, or null for the service's default; an error for a value that is not positive. */
        Duration duration() {
            if (seconds == null) {
                return null;
            }
            if (!(seconds > 0)) {
                throw new InvalidOptionException("must be positive, got " + seconds, "--timeout");
            }
            return Duration.ofMillis(Math.round(seconds * 1000));
        }
    }

    static final class ImageOptions {
        @Option(names = "--scale", paramLabel = "S", defaultValue = "1",
                description = "images: multiply pixel/255 by S (default ${DEFAULT-VALUE})")
        double scale;

        @Option(names = "--mean", paramLabel = "M", split = ",", defaultValue = "0",
                description = "images: subtract, one value or one per channel (default ${DEFAULT-VALUE})")
        double[] mean;

        @Option(names = "--std", paramLabel = "S", split = ",", defaultValue = "1",
                description = "images: divide, one value or one per channel (default ${DEFAULT-VALUE})")
        double[] std;
    }

    private Inputs() {
    }

    /**
     * The input as a batch {@code [N, ...item]} for {@code model}: a .npy with or without the batch
     * axis, or an image converted to the item shape {@code [C, H, W]}.
     */
    static HostTensor read(Path file, ValueInfo model, ImageOptions image) {
        BaseCommand.existing(file);
        Shape item = model.itemShape();
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        HostTensor t;
        if (name.endsWith(".npy")) {
            t = Npy.read(file);
        } else if (name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg")) {
            if (item.rank() != 3 || (item.dim(0) != 1 && item.dim(0) != 3)) {
                throw new InvalidInputException("an image input needs a model input of shape [1|3, H, W], the model's is "
                        + item, file.toString());
            }
            t = Images.read(file, new Images.Options(item.dim(0), item.dim(1), item.dim(2), image.scale, image.mean,
                    image.std));
        } else {
            throw new InvalidInputException("unknown input format (expected .npy, .png, .jpg or .jpeg)", file.toString());
        }
        return batched(t, item, file.toString());
    }

    /** {@code t} with a batch axis; an error naming {@code where} if it fits neither way. */
    static HostTensor batched(HostTensor t, Shape item, String where) {
        Shape s = t.shape();
        if (s.equals(item)) {
            return t.reshape(item.withBatch(1));
        }
        if (s.rank() == item.rank() + 1 && s.withoutBatch().equals(item) && s.dim(0) > 0) {
            return t;
        }
        throw new InvalidInputException("input shape " + s + " does not match the model input " + item
                + " (with or without a batch axis)", where);
    }

    /** {@code predicted}, one class for the batch, or a comma list with one class per item. */
    static Target target(String text, int batch) {
        String s = text.trim();
        if (s.equals("predicted")) {
            return Target.predicted();
        }
        int[] classes;
        try {
            classes = Arrays.stream(s.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new InvalidOptionException("expected a class index, a comma list or 'predicted', got '" + text + "'",
                    "--target");
        }
        for (int c : classes) {
            if (c < 0) {
                throw new InvalidOptionException("class indices are not negative, got " + c, "--target");
            }
        }
        if (classes.length != 1 && classes.length != batch) {
            throw new InvalidOptionException("give one class for the batch or one per item (" + batch + "), got "
                    + classes.length, "--target");
        }
        return Target.classes(classes);
    }

    /**
     * Method options from the words the command did not know: {@code --name value} or
     * {@code --name=value}; a repeated option's values are joined with commas.
     */
    static Map<String, String> methodOptions(List<String> words) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (!w.startsWith("--") || w.length() == 2) {
                throw new InvalidOptionException("unexpected argument", w);
            }
            String name;
            String value;
            int eq = w.indexOf('=');
            if (eq > 0) {
                name = w.substring(2, eq);
                value = w.substring(eq + 1);
            } else if (i + 1 < words.size()) {
                name = w.substring(2);
                value = words.get(++i);
            } else {
                throw new InvalidOptionException("missing value", w);
            }
            out.merge(name, value, (a, b) -> a + "," + b);
        }
        return out;
    }

    /** The index of the largest value in each row of {@code [N, K]}. */
    static int[] argmax(HostTensor logits) {
        int n = logits.shape().dim(0);
        int k = logits.shape().size() / Math.max(1, n);
        float[] d = logits.data();
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            for (int j = 1; j < k; j++) {
                if (d[i * k + j] > d[i * k + out[i]]) {
                    out[i] = j;
                }
            }
        }
        return out;
    }
}

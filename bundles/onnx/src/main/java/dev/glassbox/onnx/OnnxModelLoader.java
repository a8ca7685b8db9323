package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.ModelLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.osgi.service.component.annotations.Component;

/**
 * Loads {@code .onnx} files (default-domain opset 1 to 23) into a Glassbox {@link Graph}. The
 * ONNX protobuf classes are embedded in this bundle; nothing of them is visible outside it.
 * See {@link OnnxConverter} for what is supported.
 *
 * <p>Tensors stored as external data are read from files next to the model: the source name
 * passed to {@link #load} is taken as the model's path when a file of that name exists.
 */
@Component(service = ModelLoader.class)
public final class OnnxModelLoader implements ModelLoader {

    @Override
    public String format() {
        return "onnx";
    }

    @Override
    public boolean accepts(String fileName) {
        return fileName != null && fileName.toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    @Override
    public List<String> operators() {
        return OnnxConverter.OPERATORS;
    }

    @Override
    public Graph load(byte[] bytes, String sourceName) {
        return load(bytes, sourceName, modelDirectory(sourceName));
    }

    /**
     * Loads a model whose external data (if any) lives in {@code modelDir}; null when there is
     * no such directory, in which case external data is an error.
     */
    Graph load(byte[] bytes, String sourceName, Path modelDir) {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidInputException("not a valid ONNX model: the file is empty", sourceName);
        }
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (IOException | RuntimeException | StackOverflowError e) {
            // InvalidProtocolBufferException (an IOException) for truncated or garbled bytes;
            // the runtime may throw unchecked exceptions on some malformed input as well.
            throw new InvalidInputException("not a valid ONNX model: " + clean(oneLine(e)), clean(sourceName), e);
        }
        try {
            return OnnxConverter.convert(model, sourceName, modelDir);
        } catch (InvalidInputException e) {
            if (printable(e)) {
                throw e;
            }
            throw new InvalidInputException(clean(e.getMessage()), clean(e.where()), e);
        } catch (UnsupportedFeatureException e) {
            if (printable(e)) {
                throw e;
            }
            throw new UnsupportedFeatureException(clean(e.getMessage()), clean(e.where()), e);
        }
    }

    /** Longest message kept whole; names from a hostile file can be long. */
    private static final int MAX_MESSAGE = 500;

    private static boolean printable(GlassboxException e) {
        return clean(e.getMessage()).equals(e.getMessage()) && clean(e.where()).equals(e.where());
    }

    /** Names from the file may hold line breaks and control characters: messages stay one short line. */
    static String clean(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_MESSAGE + 3));
        for (int i = 0; i < s.length() && b.length() < MAX_MESSAGE; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? '?' : c);
        }
        if (b.length() < s.length()) {
            b.append("...");
        }
        return b.toString();
    }

    /** The directory of {@code sourceName} when it names an existing file, else null. */
    static Path modelDirectory(String sourceName) {
        if (sourceName == null || sourceName.isEmpty()) {
            return null;
        }
        try {
            Path p = Path.of(sourceName);
            if (!Files.isRegularFile(p)) {
                return null;
            }
            return p.toAbsolutePath().getParent();
        } catch (InvalidPathException | SecurityException e) {
            return null;
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}

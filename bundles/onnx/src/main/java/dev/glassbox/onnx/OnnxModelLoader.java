package dev.glassbox.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.ModelLoader;
import java.io.IOException;
import java.util.Locale;
import org.osgi.service.component.annotations.Component;

/**
 * Loads {@code .onnx} files (opset 7 or newer) into a Glassbox {@link Graph}. The ONNX
 * protobuf classes are embedded in this bundle; nothing of them is visible outside it.
 * See {@link OnnxConverter} for what is supported.
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
    public Graph load(byte[] bytes, String sourceName) {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidInputException("not a valid ONNX model: the file is empty", sourceName);
        }
        ModelProto model;
        try {
            model = ModelProto.parseFrom(bytes);
        } catch (IOException | RuntimeException e) {
            // InvalidProtocolBufferException (an IOException) for truncated or garbled bytes;
            // the runtime may throw unchecked exceptions on some malformed input as well.
            throw new InvalidInputException("not a valid ONNX model: " + oneLine(e), sourceName, e);
        }
        return OnnxConverter.convert(model, sourceName);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}

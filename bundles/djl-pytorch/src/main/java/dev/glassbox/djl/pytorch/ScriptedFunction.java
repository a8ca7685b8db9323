package dev.glassbox.djl.pytorch;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A function of tensors written in TorchScript and compiled by libtorch: its graph executor runs
 * it, so on CUDA PyTorch's fuser may compile a chain of elementwise operators into one kernel
 * (after profiling its first calls), where the same operators called one by one launch a kernel
 * each. DJL loads only saved modules, so the source is wrapped into one (the archive
 * {@code torch.jit.save} writes, in memory) and loaded from there: nothing touches the disk.
 *
 * <p>The module holds native memory until {@link #close()}; calls from several threads at once
 * are safe (the graph executor's own lock).
 */
public final class ScriptedFunction implements AutoCloseable {
    /** Archive format 6: recent enough that no operator used here is upgraded on load. */
    private static final String FORMAT_VERSION = "6\n";

    private final PtSymbolBlock module;

    private ScriptedFunction(PtSymbolBlock module) {
        this.module = module;
    }

    /**
     * Compiles {@code body} as the function of {@code parameters} (tensors) that returns a tuple
     * of {@code results} tensors. {@code body} is TorchScript statements, one per line, the last
     * one a {@code return} of the tuple, e.g. {@code v = torch.mul(a, b)} and
     * {@code return (torch.add(v, a),)}.
     *
     * @param manager the device the module is loaded for, and the owner of its native memory
     * @throws IllegalArgumentException if libtorch does not compile the source (its message and
     *         the source are in the exception's)
     */
    public static ScriptedFunction compile(NDManager manager, List<String> parameters, int results, String body) {
        StringBuilder code = new StringBuilder("""
                class Function(Module):
                  __parameters__ = []
                  __buffers__ = []
                  training : bool
                  def forward(self: __torch__.Function""");
        for (String p : parameters) {
            code.append(", ").append(p).append(": Tensor");
        }
        code.append(") -> Tuple[").append(String.join(", ", Collections.nCopies(results, "Tensor")))
                .append("]:\n");
        body.lines().forEach(line -> code.append("    ").append(line).append('\n'));
        String source = code.toString();
        try {
            return new ScriptedFunction(JniUtils.loadModule((PtNDManager) manager,
                    new ByteArrayInputStream(archive(source)), true, false));
        } catch (EngineException e) {
            throw new IllegalArgumentException("libtorch did not compile " + source + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Calls the function; the results belong to the manager of the first input. Gradient
     * mode is the caller's (a call with inputs that need no gradient records nothing).
     */
    public NDList call(NDList inputs) {
        // isTrain: without it DJL runs the call in inference mode, whose tensors autograd refuses later
        return IValueUtils.forward(module, inputs, true);
    }

    @Override
    public void close() {
        module.close();
    }

    /** The archive {@code torch.jit.save} writes for a module of {@code code} with no state. */
    private static byte[] archive(String code) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            // libtorch reads stored entries only
            zip.setMethod(ZipOutputStream.STORED);
            entry(zip, "function/data.pkl", moduleObject());
            entry(zip, "function/code/__torch__.py", code.getBytes(StandardCharsets.UTF_8));
            entry(zip, "function/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // an empty tuple
            entry(zip, "function/version", FORMAT_VERSION.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: does not happen
        }
        return bytes.toByteArray();
    }

    /** The pickled module (protocol 2): {@code __torch__.Function} with {@code training = False}. */
    private static byte[] moduleObject() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(new byte[] {(byte) 0x80, 2}); // PROTO 2
        p.writeBytes("c__torch__\nFunction\n".getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        p.writeBytes(new byte[] {')', (byte) 0x81, '}', '('}); // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
        p.writeBytes(new byte[] {'X', 8, 0, 0, 0}); // BINUNICODE of 8 bytes
        p.writeBytes("training".getBytes(StandardCharsets.US_ASCII));
        p.writeBytes(new byte[] {(byte) 0x89, 'u', 'b', '.'}); // NEWFALSE SETITEMS BUILD STOP
        return p.toByteArray();
    }

    private static void entry(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}

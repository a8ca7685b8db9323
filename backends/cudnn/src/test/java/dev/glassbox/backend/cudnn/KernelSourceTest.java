package dev.glassbox.backend.cudnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three descriptions of the kernels agree without a GPU: the shipped PTX declares each
 * {@link Kernel} with exactly the parameters the launcher passes, the op codes of kernels.cu are
 * {@link Kernel}'s constants, and (where nvcc is installed) the PTX is what build-ptx.sh makes
 * of the current source.
 */
class KernelSourceTest {
    private static final Path SOURCE = Path.of("src/main/cuda/kernels.cu");

    private static String ptx() {
        return GpuDevice.ptx();
    }

    /** PTX parameter types per entry, e.g. strided -> [u64, u32, f32, f32, b8[164], u64, ...]. */
    private static Map<String, List<String>> entries(String ptx) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher entry = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)").matcher(ptx);
        while (entry.find()) {
            List<String> params = new ArrayList<>();
            Matcher p = Pattern.compile("\\.param (?:\\.align \\d+ )?\\.(\\w+) \\w+(\\[\\d+\\])?").matcher(entry.group(2));
            while (p.find()) {
                params.add(p.group(1) + (p.group(2) == null ? "" : p.group(2)));
            }
            out.put(entry.group(1), params);
        }
        return out;
    }

    @Test
    void thePtxDeclaresEveryKernelWithTheParametersTheLauncherPasses() {
        Map<String, List<String>> entries = entries(ptx());
        assertEquals(Kernel.values().length, entries.size(), "entries " + entries.keySet());
        for (Kernel k : Kernel.values()) {
            List<String> expected = new ArrayList<>(List.of("u64")); // the element count
            for (Kernel.Param p : k.params()) {
                expected.add(switch (p.type()) {
                    case INT -> "u32";
                    case FLOAT -> "f32";
                    case ADDRESS -> "u64";
                    case STRUCT -> "b8[" + p.ints() * Integer.BYTES + "]";
                });
            }
            assertEquals(expected, entries.get(k.symbol()), k.symbol());
        }
    }

    @Test
    void theOpCodesOfTheSourceAreTheLaunchersConstants() throws Exception {
        Map<String, Integer> source = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\\b([A-Z][A-Z_]+) = (\\d+)").matcher(Files.readString(SOURCE));
        while (m.find()) {
            source.put(m.group(1).replaceFirst("^OP_", ""), Integer.parseInt(m.group(2)));
        }
        Map<String, Integer> java = new LinkedHashMap<>();
        for (Field f : Kernel.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                java.put(f.getName(), f.getInt(null));
            }
        }
        // the softmax forward kinds are SOFTMAX and LOG_SOFTMAX in C, *_FORWARD in Java (SOFTMAX names the kernel)
        java.put("SOFTMAX", java.remove("SOFTMAX_FORWARD"));
        java.put("LOG_SOFTMAX", java.remove("LOG_SOFTMAX_FORWARD"));
        assertEquals(new java.util.TreeMap<>(source), new java.util.TreeMap<>(java));
        assertEquals(Layout.MAX_RANK, Integer.parseInt(find("#define MAX_RANK (\\d+)")));
        assertEquals(Program.MAX_NODES, Integer.parseInt(find("#define PROGRAM_NODES (\\d+)")));
        assertEquals(Program.MAX_INPUTS, Integer.parseInt(find("#define PROGRAM_INPUTS (\\d+)")));
        assertEquals(Program.MAX_RESULTS, Integer.parseInt(find("#define PROGRAM_RESULTS (\\d+)")));
    }

    private static String find(String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(Files.readString(SOURCE));
        assertTrue(m.find(), regex);
        return m.group(1);
    }

    @Test
    void theShippedPtxIsBuiltFromTheCurrentSource(@TempDir Path tmp) throws Exception {
        assumeTrue(onPath("nvcc") && onPath("ptxas"), "no nvcc here: the PTX is checked against its entries only");
        Path out = tmp.resolve("kernels.ptx");
        Process build = new ProcessBuilder("bash", "build-ptx.sh", out.toString()).redirectErrorStream(true).start();
        String log = new String(build.getInputStream().readAllBytes());
        assertTrue(build.waitFor(300, TimeUnit.SECONDS) && build.exitValue() == 0, log);
        assertEquals(Files.readString(out), ptx(), "kernels.ptx is stale: run backends/cudnn/build-ptx.sh");
    }

    @Test
    void thePtxAsksForAnIsaThatDriversFromCuda11Load() {
        assertTrue(ptx().contains("\n.version 7.0\n"), "build-ptx.sh sets PTX ISA 7.0");
        assertTrue(ptx().contains("\n.target sm_75\n"));
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}

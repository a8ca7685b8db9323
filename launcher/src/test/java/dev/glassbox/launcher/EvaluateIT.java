package dev.glassbox.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pixel flipping on the demo model's test images (models/samples), end to end through glassbox evaluate. */
class EvaluateIT {

    static final Path MODEL = ActmaxIT.MODEL;
    static final Path SAMPLES = ActmaxIT.SAMPLES;

    static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.eE+-]+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    static double[] numbers(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\[([^]]*)]").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Arrays.stream(m.group(1).split(",")).mapToDouble(Double::parseDouble).toArray();
    }

    static String lastLine(String out) {
        String[] lines = out.strip().split("\n");
        return lines[lines.length - 1];
    }

    @Test
    void lrpEpsilonPlusFlatBeatsRandomOrderByAClearMargin(@TempDir Path tmp) throws Exception {
        ActmaxIT.Result r = ActmaxIT.run("evaluate", "--model", MODEL.toString(), "--input", SAMPLES.toString(),
                "--method", "lrp", "--composite", "epsilon-plus-flat", "--out", tmp.toString());
        assertEquals(0, r.code(), r::toString);
        String json = lastLine(r.out());
        assertTrue(json.startsWith("{\"model\":\"" + MODEL + "\",\"method\":\"lrp\",\"inputs\":10,\"steps\":20,\"aopc\":"),
                json);
        double aopc = number(json, "aopc");
        double random = number(json, "aopc_random");
        double[] curve = numbers(json, "curve");
        double[] curveRandom = numbers(json, "curve_random");
        assertEquals(21, curve.length);
        assertEquals(21, curveRandom.length);
        assertEquals(curve[0], curveRandom[0], 1e-9, "both curves start at the unperturbed inputs");
        System.out.printf("pixel flipping, lrp epsilon-plus-flat on 10 samples: AOPC %.4f, random %.4f%n", aopc, random);
        assertTrue(aopc >= 1.5 * random && aopc - random >= 2.0, "AOPC " + aopc + " vs random " + random);
        assertEquals(json, Files.readString(tmp.resolve("evaluate-lrp.json")).strip());
        assertTrue(Files.size(tmp.resolve("evaluate-lrp.png")) > 1000);
    }

    @Test
    void regionFlippingWithAMeanBaselineAlsoBeatsRandomOrder(@TempDir Path tmp) {
        ActmaxIT.Result r = ActmaxIT.run("evaluate", "--quiet", "--model", MODEL.toString(), "--input",
                SAMPLES.toString(), "--method", "lrp", "--patch", "4", "--flip-steps", "10", "--fraction", "0.5",
                "--flip-baseline", "mean", "--random-orders", "3", "--out", tmp.toString());
        assertEquals(0, r.code(), r::toString);
        String json = lastLine(r.out());
        assertEquals(11, numbers(json, "curve").length);
        assertEquals(49, (int) number(json, "features"));
        assertTrue(json.contains("\"patch\":4") && json.contains("\"baseline\":\"mean\""), json);
        assertTrue(number(json, "aopc") > number(json, "aopc_random"), json);
    }

    @Test
    void anUnknownMethodIsUnsupportedAndWritesNothing(@TempDir Path tmp) {
        Path dir = tmp.resolve("out");
        ActmaxIT.Result r = ActmaxIT.run("evaluate", "--model", MODEL.toString(), "--input", SAMPLES.toString(),
                "--method", "no-such-method", "--out", dir.toString());
        assertEquals(4, r.code(), r::toString);
        assertTrue(r.err().strip().startsWith("glassbox: error: unknown method no-such-method"), r::toString);
        assertFalse(Files.exists(dir));
    }
}

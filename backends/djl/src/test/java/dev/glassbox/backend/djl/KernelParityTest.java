package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.backend.conformance.KernelCases;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Forward and vector-Jacobian product of every op on the DJL backend against the Java
 * backend, normwise: {@code max|djl - java| <= 1e-4 * max|java|}, on small random inputs with
 * the attribute variants that matter ({@link KernelCases}). Skipped with the reason when PyTorch cannot load here.
 */
class KernelParityTest {
    private static BackendRun djl;
    private static BackendRun java;
    /** The worst error seen, printed at the end (forward, VJP). */
    private static double worstForward;
    private static double worstGradient;

    @BeforeAll
    static void open() {
        String why = Backends.unavailable();
        if (why != null) {
            System.err.println("KernelParityTest skipped: DJL backend " + why);
        }
        assumeTrue(why == null, () -> "DJL backend " + why);
        djl = new BackendRun(Backends.DJL);
        java = new BackendRun(Backends.JAVA);
    }

    @AfterAll
    static void close() {
        if (djl != null) {
            System.out.printf("DJL vs Java: worst normwise error forward %.3g, VJP %.3g%n", worstForward, worstGradient);
            djl.close();
            java.close();
            assertEquals(0, djl.scope.liveTensors());
        }
    }

    @TestFactory
    Stream<DynamicTest> forwardAndGradientMatchJava() {
        return KernelCases.cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private static void check(KernelCases.Case c) {
        double[] worst = KernelCases.check(c, djl, java);
        worstForward = Math.max(worstForward, worst[0]);
        worstGradient = Math.max(worstGradient, worst[1]);
    }
}

package dev.glassbox.backend.djl;

import static dev.glassbox.backend.conformance.BackendRun.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Elementwise;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.TensorScope;
import dev.glassbox.backend.conformance.BackendRun;
import dev.glassbox.djl.pytorch.ScriptedFunction;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The TorchScript that elementwise formulas become (their values: ElementwiseAndScopeTest). */
class ScriptedFormulasTest {

    @Test
    void eachDistinctNodeIsOneStatementAndNoResultAliasesAnother() {
        Elementwise r = Elementwise.input(0);
        Elementwise z = Elementwise.input(1);
        Elementwise s = r.dividedBy(z.stabilized(0.5f));
        ScriptedFormulas.Script script = ScriptedFormulas.translate(List.of(s, s.positiveMask(), s.scaled(0.5f), s, z), 2);
        assertEquals("""
                v2 = torch.where(torch.lt(x1, 0.0), torch.sub(x1, c0), torch.add(x1, c0))
                v3 = torch.div(x0, v2)
                v4 = torch.gt(v3, 0.0).float()
                v5 = torch.mul(v3, c0)
                return (v3, v4, v5, torch.clone(v3), torch.clone(x1))""", script.shape().body());
        assertEquals(new ScriptedFormulas.Script.Shape(script.shape().body(), 2, 1, 5), script.shape());
        assertArrayEquals(new float[] {0.5f}, script.constants());
        ScriptedFormulas.Script clamp = ScriptedFormulas.translate(List.of(r.clamped(-0f, 0f)), 1);
        assertEquals("""
                v1 = torch.clamp_max(torch.clamp_min(x0, c0), c1)
                return (v1,)""", clamp.shape().body());
        assertArrayEquals(new float[] {-0f, 0f}, clamp.constants(), "-0 and 0 are two constants");
        assertEquals("return (torch.clone(x0),)", ScriptedFormulas.translate(
                List.of(r.clamped(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY)), 1).shape().body());
        assertThrows(IllegalArgumentException.class, () -> ScriptedFormulas.translate(List.of(Elementwise.input(2)), 2));
    }

    /** A formula's constants (option values such as --epsilon) are arguments: one function serves all. */
    @Test
    void formulasDifferingInConstantsShareOneFunction() {
        String why = Backends.unavailable();
        assumeTrue(why == null, () -> "DJL backend " + why);
        Elementwise r = Elementwise.input(0);
        Elementwise z = Elementwise.input(1);
        Random rnd = new Random(5);
        HostTensor a = random(rnd, 2, 6);
        HostTensor b = random(rnd, 2, 6);
        try (BackendRun djl = new BackendRun(Backends.DJL_SCRIPTED); BackendRun java = new BackendRun(Backends.JAVA);
             TensorScope s = djl.scope.child(); TensorScope js = java.scope.child()) {
            for (float eps : new float[] {1e-6f, 0.25f, 3f}) {
                List<Elementwise> formula = List.of(r.dividedBy(z.stabilized(eps)).scaled(eps));
                assertArrayEquals(java.k.evaluate(formula, java.upload(js, a, b), js).get(0).toHost().data(),
                        djl.k.evaluate(formula, djl.upload(s, a, b), s).get(0).toHost().data(), "eps " + eps);
            }
            assertEquals(1, ((DjlPreparedModel) djl.model).compiledFormulas());
            // another input count is another function, though the expression reads only input 0
            djl.k.evaluate(List.of(r.scaled(2f)), djl.upload(s, a), s);
            djl.k.evaluate(List.of(r.scaled(2f)), djl.upload(s, a, b), s);
            assertEquals(3, ((DjlPreparedModel) djl.model).compiledFormulas());
        }
    }

    @Test
    void sourceLibtorchRejectsIsNamedInTheError() {
        String why = Backends.unavailable();
        assumeTrue(why == null, () -> "DJL backend " + why);
        try (NDManager m = NDManager.newBaseManager(Engine.getEngine("PyTorch").defaultDevice(), "PyTorch")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ScriptedFunction.compile(m, List.of("x0"), 1, "return (torch.no_such_op(x0),)"));
            assertTrue(e.getMessage().startsWith("libtorch did not compile class Function(Module):")
                    && e.getMessage().contains("torch.no_such_op(x0)"), e.getMessage());
        }
    }
}

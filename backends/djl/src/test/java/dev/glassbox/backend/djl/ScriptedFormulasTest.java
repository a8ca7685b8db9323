package dev.glassbox.backend.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.glassbox.api.backend.Elementwise;
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
        assertEquals("""
                v2 = torch.where(torch.lt(x1, 0.0), torch.sub(x1, 0.5), torch.add(x1, 0.5))
                v3 = torch.div(x0, v2)
                v4 = torch.gt(v3, 0.0).float()
                return (v3, v4, torch.clone(v3), torch.clone(x1))""",
                ScriptedFormulas.body(List.of(s, s.positiveMask(), s, z), 2));
        assertEquals("""
                v1 = torch.clamp_max(torch.clamp_min(x0, -1.0), 2.0)
                return (v1,)""", ScriptedFormulas.body(List.of(r.clamped(-1f, 2f)), 1));
        assertEquals("return (torch.clone(x0),)",
                ScriptedFormulas.body(List.of(r.clamped(Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY)), 1));
        assertThrows(IllegalArgumentException.class, () -> ScriptedFormulas.body(List.of(Elementwise.input(2)), 2));
    }

    @Test
    void literalsParseBackToTheSameFloat() {
        Random rnd = new Random(3);
        for (int i = 0; i < 10_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isNaN(f) && !Float.isInfinite(f)) {
                assertEquals(Float.floatToRawIntBits(f),
                        Float.floatToRawIntBits((float) Double.parseDouble(ScriptedFormulas.literal(f))), "" + f);
            }
        }
        assertEquals("-0.0", ScriptedFormulas.literal(-0f));
        assertEquals("2.0", ScriptedFormulas.literal(2f));
        assertEquals("float(\"nan\")", ScriptedFormulas.literal(Float.NaN));
        assertEquals("-float(\"inf\")", ScriptedFormulas.literal(Float.NEGATIVE_INFINITY));
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

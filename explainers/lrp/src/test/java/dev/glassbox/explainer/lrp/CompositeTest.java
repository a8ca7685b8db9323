package dev.glassbox.explainer.lrp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CompositeTest {

    private static Node conv(String name, String in, String out) {
        return new Node(name, new Op.Conv2d(HostTensor.zeros(Shape.of(2, 1, 3, 3)), null, Geometry2d.UNIT, 1),
                List.of(in), out);
    }

    private static Node dense(String name, String in, String out) {
        return new Node(name, new Op.Dense(HostTensor.zeros(Shape.of(3, 4)), null), List.of(in), out);
    }

    @Test
    void ruleSpecsParseWithAndWithoutParameters() {
        assertEquals(RuleSpec.of("zplus"), RuleSpec.parse("zplus", "--rule"));
        RuleSpec ab = RuleSpec.parse(" alpha-beta( 2, 1 ) ", "--rule");
        assertEquals("alpha-beta", ab.name());
        assertArrayEquals(new double[] {2, 1}, ab.params());
        assertEquals(List.of("conv*=alpha-beta(2,1)", "fc1=epsilon(0.25)", "x=flat"),
                RuleSpec.splitList("conv*=alpha-beta(2,1), fc1=epsilon(0.25),x=flat,"));
        InvalidOptionException bad = assertThrows(InvalidOptionException.class, () -> RuleSpec.parse("foo(", "--rule"));
        assertEquals("--rule", bad.where());
        assertThrows(InvalidOptionException.class, () -> RuleSpec.parse("epsilon(abc)", "--rule"));
    }

    @Test
    void overridesMatchGlobsFirstEntryWins() {
        RuleOverrides o = RuleOverrides.parse("conv1=flat,conv*=epsilon(0.5),fc?=zplus");
        assertEquals(Optional.of(RuleSpec.of("flat")), o.match("conv1"));
        assertEquals(Optional.of(RuleSpec.of("epsilon", 0.5)), o.match("conv12"));
        assertEquals(Optional.of(RuleSpec.of("zplus")), o.match("fc2"));
        assertEquals(Optional.empty(), o.match("fc10"));
        assertThrows(InvalidOptionException.class, () -> RuleOverrides.parse("conv1"));
    }

    @Test
    void compositesFollowTheTableOfLrpRules() {
        Node c1 = conv("c1", "x", "a");
        Node relu = new Node("relu", new Op.Relu(), List.of("a"), "b");
        Node c2 = conv("c2", "b", "c");
        Node pool = new Node("pool", new Op.MaxPool2d(2, 2, new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1)), List.of("c"), "d");
        Node flat = new Node("flatten", new Op.Flatten(1), List.of("d"), "e");
        Node fc = dense("fc", "e", "f");
        Node first = Composite.firstLayer(List.of(c1, relu, c2, pool, flat, fc));
        assertEquals(c1, first);

        Composite epf = Composite.BUILT_IN.get("epsilon-plus-flat");
        assertEquals(RuleSpec.of("flat"), epf.ruleFor(c1, first));
        assertEquals(RuleSpec.of("zplus"), epf.ruleFor(c2, first));
        assertEquals(RuleSpec.of("epsilon"), epf.ruleFor(fc, first));
        assertEquals(RuleSpec.of("pass"), epf.ruleFor(relu, first));
        assertEquals(RuleSpec.of("gradient"), epf.ruleFor(pool, first));
        assertEquals(RuleSpec.of("gradient"), epf.ruleFor(flat, first));

        Composite egb = Composite.BUILT_IN.get("epsilon-gamma-box");
        assertEquals(RuleSpec.of("zbox"), egb.ruleFor(c1, first));
        assertEquals(RuleSpec.of("gamma"), egb.ruleFor(c2, first));
        // An MLP has no convolution: its first layer keeps the dense rule.
        Node d1 = dense("d1", "x", "y");
        assertEquals(RuleSpec.of("epsilon"), egb.ruleFor(d1, d1));
        assertEquals(RuleSpec.of("flat"), epf.ruleFor(d1, d1));

        assertEquals(RuleSpec.of("alpha-beta"), Composite.BUILT_IN.get("epsilon-alpha2-beta1").ruleFor(c2, first));
        assertEquals(7, Composite.BUILT_IN.size());
        assertTrue(Composite.BUILT_IN.values().stream().allMatch(c -> c.ruleFor(fc, first) != null));
    }
}

package dev.glassbox.explainer.lrp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.graph.Geometry2d;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.Node;
import dev.glassbox.api.graph.Op;
import dev.glassbox.api.graph.ValueInfo;
import dev.glassbox.api.lrp.Composite;
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

    /** The rule a node gets under a composite, without overrides. */
    private static RuleSpec rule(Composite composite, Node node, Graph graph) {
        return RelevancePropagation.assign(node, graph, BaseRules.firstLayer(graph.nodes()), RuleOverrides.NONE,
                composite, "test");
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
        Graph graph = new Graph("t", List.of(new ValueInfo("x", Shape.of(1, 8, 8))), List.of(c1, relu, c2, pool, flat, fc),
                List.of("f"));
        Node first = BaseRules.firstLayer(graph.nodes());
        assertEquals(c1, first);

        TableComposite epf = TableComposite.BUILT_IN.get("epsilon-plus-flat");
        assertEquals(RuleSpec.of("flat"), rule(epf, c1, graph));
        assertEquals(RuleSpec.of("zplus"), rule(epf, c2, graph));
        assertEquals(RuleSpec.of("epsilon"), rule(epf, fc, graph));
        assertEquals(RuleSpec.of("pass"), rule(epf, relu, graph));
        assertEquals(RuleSpec.of("gradient"), rule(epf, pool, graph));
        assertEquals(RuleSpec.of("gradient"), rule(epf, flat, graph));

        TableComposite egb = TableComposite.BUILT_IN.get("epsilon-gamma-box");
        assertEquals(RuleSpec.of("zbox"), rule(egb, c1, graph));
        assertEquals(RuleSpec.of("gamma"), rule(egb, c2, graph));
        // An MLP has no convolution: its first layer keeps the dense rule.
        Node d1 = dense("d1", "x", "y");
        Graph mlp = new Graph("mlp", List.of(new ValueInfo("x", Shape.of(4))), List.of(d1), List.of("y"));
        assertEquals(RuleSpec.of("epsilon"), rule(egb, d1, mlp));
        assertEquals(RuleSpec.of("flat"), rule(epf, d1, mlp));

        assertEquals(Optional.of("alpha-beta"), TableComposite.BUILT_IN.get("epsilon-alpha2-beta1").ruleFor(c2, graph, first));
        assertEquals(Optional.empty(), epf.ruleFor(relu, graph, first), "base rules come from the role");
        assertEquals(7, TableComposite.BUILT_IN.size());
        assertTrue(TableComposite.BUILT_IN.values().stream().allMatch(c -> rule(c, fc, graph) != null));
    }

    @Test
    void mappedCompositesFollowNodeThenFirstThenOpType() {
        Node c1 = conv("features.0", "x", "a");
        Node c2 = conv("features.3", "a", "b");
        Node fc = dense("fc", "b", "c");
        Graph graph = new Graph("t", List.of(new ValueInfo("x", Shape.of(1, 8, 8))), List.of(c1, c2, fc), List.of("c"));
        MappedComposite m = MappedComposite.parse("""
                # a comment
                name = mine
                node features.3 = epsilon(0.5)
                first = flat
                op Conv2d = gamma(0.5)   # after the first layer
                op Dense = zplus
                """, "default", "test");
        assertEquals("mine", m.name());
        assertEquals(RuleSpec.of("flat"), rule(m, c1, graph));
        assertEquals(RuleSpec.of("epsilon", 0.5), rule(m, c2, graph));
        assertEquals(RuleSpec.of("zplus"), rule(m, fc, graph));
        MappedComposite oneLine = MappedComposite.parse("op Conv2d = zplus; op Dense = epsilon(0.1)", "cfg", "test");
        assertEquals("cfg", oneLine.name());
        assertEquals(RuleSpec.of("zplus"), rule(oneLine, c1, graph));
        assertEquals(RuleSpec.of("epsilon", 0.1), rule(oneLine, fc, graph));
        InvalidOptionException bad = assertThrows(InvalidOptionException.class,
                () -> MappedComposite.parse("name = x\nlayer conv = zplus", "x", "my.composite"));
        assertEquals("my.composite, entry 2", bad.where());
        assertThrows(InvalidOptionException.class, () -> MappedComposite.parse("op Dense = zplus(", "x", "f"));
        assertThrows(InvalidOptionException.class, () -> MappedComposite.parse("node = zplus", "x", "f"));
    }

    @Test
    void everyRoleGetsItsBaseRule() {
        HostTensor two = HostTensor.wrap(Shape.of(2), new float[] {1, 2});
        Node convT = new Node("up", new Op.ConvTranspose2d(HostTensor.zeros(Shape.of(2, 2, 2, 2)), null,
                new Geometry2d(2, 2, 0, 0, 0, 0, 1, 1), 1, 0, 0), List.of("x"), "a");
        Node bn = new Node("bn", new Op.BatchNorm(two, two), List.of("a"), "b");
        Node sig = new Node("sig", new Op.Sigmoid(), List.of("b"), "c");
        Node scale = new Node("scale", new Op.Constant(two), List.of(), "s");
        Node mul = new Node("mul", new Op.Mul(), List.of("c", "s"), "d");
        Node gate = new Node("gate", new Op.Mul(), List.of("d", "c"), "e");
        Node sub = new Node("sub", new Op.Sub(), List.of("e", "s"), "f");
        Node cat = new Node("cat", new Op.Concat(1, 2), List.of("f", "f"), "g");
        Graph graph = new Graph("roles", List.of(new ValueInfo("x", Shape.of(2, 3, 3))),
                List.of(convT, bn, sig, scale, mul, gate, sub, cat), List.of("g"));
        Node first = BaseRules.firstLayer(graph.nodes());
        assertEquals(convT, first, "a transposed convolution is a convolution");
        TableComposite egb = TableComposite.BUILT_IN.get("epsilon-gamma-box");
        assertEquals(RuleSpec.of("zbox"), rule(egb, convT, graph));
        assertEquals(RuleSpec.of("epsilon", 1e-6), rule(egb, bn, graph), "unfolded BatchNorm");
        assertEquals(RuleSpec.of("pass"), rule(egb, sig, graph));
        assertEquals(RuleSpec.of("norm"), rule(egb, mul, graph), "scaling by a constant");
        assertEquals(RuleSpec.of("norm"), rule(egb, sub, graph));
        assertEquals(RuleSpec.of("gradient"), rule(egb, cat, graph));
        UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class,
                () -> rule(egb, gate, graph));
        assertTrue(e.getMessage().contains("gate") && e.getMessage().contains("--rule"), e.getMessage());
    }
}

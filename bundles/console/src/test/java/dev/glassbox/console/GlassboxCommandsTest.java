package dev.glassbox.console;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class GlassboxCommandsTest {

    @Test
    void flatIndexToMultiIndex() {
        assertArrayEquals(new int[] {0, 0, 1, 2}, GlassboxCommands.index(5, Shape.of(1, 1, 2, 3)));
        assertArrayEquals(new int[] {1, 0}, GlassboxCommands.index(3, Shape.of(2, 3)));
    }

    @Test
    void summaryShowsSumAndLargestMagnitudes() {
        Shape s = Shape.of(1, 4);
        Explanation e = new Explanation("gradient", "java", HostTensor.wrap(s, new float[] {0.5f, -3, 1, 0}),
                new int[] {2}, HostTensor.zeros(Shape.of(1, 3)), Duration.ofMillis(7));
        String text = GlassboxCommands.summary(e, s);
        assertTrue(text.startsWith("gradient on java: targets [2], 7 ms, attribution sum -1.50000"), text);
        assertTrue(text.indexOf("[0, 1] -3.00000") < text.indexOf("[0, 2] 1.00000"), text);
    }
}

package dev.glassbox.core;

import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.tensor.Tensor;
import java.util.Map;

/** The activations of one forward pass by value name. */
record RecordedTrace(PreparedModel model, Map<String, Tensor> values, String inputName, String outputName)
        implements Trace {

    RecordedTrace {
        values = Map.copyOf(values);
    }

    @Override
    public Tensor value(String value) {
        Tensor t = values.get(value);
        if (t == null) {
            throw new IllegalArgumentException("no value named " + value + " in graph " + model.graph().name());
        }
        return t;
    }

    @Override
    public Tensor input() {
        return values.get(inputName);
    }

    @Override
    public Tensor output() {
        return values.get(outputName);
    }
}

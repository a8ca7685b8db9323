package dev.glassbox.backend.java;

import dev.glassbox.api.tensor.Shape;
import dev.glassbox.backend.support.OwningScope;

/**
 * Owns the tensors created in it and its child scopes. Closing frees them (drops the arrays
 * for the garbage collector and makes later use fail loudly); bookkeeping and thread safety as
 * every backend's ({@link OwningScope}).
 */
final class JavaScope extends OwningScope<JavaScope, JavaTensor> {

    JavaScope(JavaScope parent) {
        super(parent);
    }

    /** Wraps {@code data} (not copied) as a tensor owned by this scope. */
    JavaTensor adopt(Shape shape, float[] data, String label) {
        JavaTensor t = new JavaTensor(shape, data, label);
        return own(t, t.toString());
    }

    @Override
    protected JavaScope newChild() {
        return new JavaScope(this);
    }

    @Override
    protected void release(JavaTensor tensor) {
        tensor.free();
    }
}

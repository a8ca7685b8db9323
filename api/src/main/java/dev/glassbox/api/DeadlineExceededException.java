package dev.glassbox.api;

/** A request ran past its deadline and was abandoned; {@link #where()} names the method. */
public final class DeadlineExceededException extends GlassboxException {
    private static final long serialVersionUID = 1L;

    public DeadlineExceededException(String what, String where) {
        super(what, where, null);
    }
}

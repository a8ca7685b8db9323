package dev.glassbox.api;

/** An option is unknown, malformed or out of range; {@link #where()} names the option. */
public final class InvalidOptionException extends GlassboxException {
    private static final long serialVersionUID = 1L;

    public InvalidOptionException(String what, String where) {
        super(what, where, null);
    }
}

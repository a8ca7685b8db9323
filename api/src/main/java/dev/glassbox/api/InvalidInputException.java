package dev.glassbox.api;

/** The caller's data is wrong: a corrupt or missing model file, malformed input, a wrong shape. */
public final class InvalidInputException extends GlassboxException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String what, String where) {
        this(what, where, null);
    }

    public InvalidInputException(String what, String where, Throwable cause) {
        super(what, where, cause);
    }
}

package dev.glassbox.api;

/**
 * The request is well-formed but asks for something not installed or not supported here: an
 * unknown method, an op no backend implements, an unavailable backend.
 */
public final class UnsupportedFeatureException extends GlassboxException {
    private static final long serialVersionUID = 1L;

    public UnsupportedFeatureException(String what, String where) {
        this(what, where, null);
    }

    public UnsupportedFeatureException(String what, String where, Throwable cause) {
        super(what, where, cause);
    }
}

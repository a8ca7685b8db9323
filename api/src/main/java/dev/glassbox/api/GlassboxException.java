package dev.glassbox.api;

/**
 * A failure Glassbox can name: what went wrong and where. The subclasses are a closed set
 * because the command line turns each into an exit code; everything else is an internal error.
 */
public sealed abstract class GlassboxException extends RuntimeException
        permits InvalidInputException, InvalidOptionException, UnsupportedFeatureException,
                DeadlineExceededException {

    private static final long serialVersionUID = 1L;
    private final String where;

    protected GlassboxException(String what, String where, Throwable cause) {
        super(what, cause);
        this.where = where == null ? "" : where;
    }

    /** The thing at fault (a file, node name, op, option or service), or "" when there is none. */
    public String where() {
        return where;
    }

    /** {@code what (where)}, the one line the command line prints. */
    public String describe() {
        return where.isEmpty() ? getMessage() : getMessage() + " (" + where + ")";
    }
}

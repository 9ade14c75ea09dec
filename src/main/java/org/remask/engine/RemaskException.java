package org.remask.engine;

/** A failed native call, carrying the native library's own message. */
public final class RemaskException extends RuntimeException {
    /** What kind of failure the native status code reports. */
    public enum Kind { INVALID_ARGUMENT, CHECKPOINT, CLOSED, RUNTIME }

    private final Kind kind;

    public RemaskException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}

package org.remask.text;

/** A tokenizer or chat template that cannot be loaded or used; the message is one line for the user. */
public final class TextException extends RuntimeException {
    public TextException(String message) {
        super(message);
    }

    public TextException(String message, Throwable cause) {
        super(message, cause);
    }
}

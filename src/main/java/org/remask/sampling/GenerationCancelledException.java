package org.remask.sampling;

import java.util.concurrent.CancellationException;

/** A generation stopped before it finished; what it had committed so far is kept, not lost. */
public final class GenerationCancelledException extends CancellationException {
    private final transient Generation partial;

    GenerationCancelledException(String message, Generation partial) {
        super(message);
        this.partial = partial;
    }

    /** The generation as far as it got: positions never committed still hold the mask id. */
    public Generation partial() {
        return partial;
    }
}

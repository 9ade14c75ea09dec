package org.remask.serve;

import java.time.Duration;
import java.util.Map;
import org.remask.sampling.GenerationRequest;

/**
 * Turns a request body's sampling fields into generation requests, checked as the command line checks its
 * options (the CLI implements it with the same option parser, so a field means what its option means).
 */
@FunctionalInterface
public interface RequestTemplate {
    /**
     * @param fields the body's fields other than the server's own (prompt, messages, n, stream, stop, ...):
     *     max_tokens, temperature, seed, top_p and the diffusion controls named as the CLI's options
     *     (block_length for --block-length); a null value counts as absent
     * @throws BadField for a bad value or an unknown field, naming it as the body does
     */
    Sampling parse(Map<String, Object> fields);

    /** One body's sampling settings. */
    interface Sampling {
        /** The request for one prompt; {@link BadField} names a bad combination of fields. */
        GenerationRequest request(long[] promptIds);

        /** The time limit the body asked for, or null. */
        Duration timeLimit();
    }

    /** Bad input in the body, and the field it is in (null where it is no one field). */
    final class BadField extends IllegalArgumentException {
        private final String field;

        public BadField(String message, String field) {
            super(message);
            this.field = field;
        }

        public String field() {
            return field;
        }
    }
}

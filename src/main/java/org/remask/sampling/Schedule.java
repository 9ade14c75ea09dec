package org.remask.sampling;

/**
 * How many tokens each model call commits. Every block is scheduled on its own and always finishes; remask's
 * own schedules never commit nothing in a step, so no NFE is wasted (the published Dream and LLaDA2 ones may).
 */
public interface Schedule {
    /** Throws {@link IllegalArgumentException} when the schedule cannot run these lengths. */
    default void validate(int genLength, int blockLength) {}

    /**
     * Tokens step {@code step} (0-based within the block) commits at least, 1..remaining, with
     * {@code remaining} of the block's {@code blockLength} positions still masked.
     */
    int commits(int step, int remaining, int blockLength, int blockCount);

    /** In-block masked positions with confidence at or above this commit too; +inf turns it off. */
    default double threshold() {
        return Double.POSITIVE_INFINITY;
    }

    /** Whether a step may commit no token (Dream's early steps; LLaDA2's when it has more steps than tokens). */
    default boolean mayCommitNothing() {
        return false;
    }

    /** A short description for logs and reports, e.g. "pyramid --factor 2". */
    String describe();
}

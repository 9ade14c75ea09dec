package org.remask.sampling;

/**
 * The pyramidal schedule: step i commits i / factor + 1 tokens, over
 * S = floor(factor * sqrt(1 + 8 * L / factor) / 2) steps for a block of L, about sqrt(2L) for factor 1.
 * Unlike the published code, each block is scheduled on its own length, the last step takes what is
 * left (so the block always finishes), and a step with nothing left is never spent.
 */
public record PyramidSchedule(int factor) implements Schedule {
    public static final int DEFAULT_FACTOR = 1;

    @Override
    public void validate(int genLength, int blockLength) {
        if (factor < 1) {
            throw new IllegalArgumentException("--factor must be at least 1, not " + factor);
        }
    }

    /** The published step count for a block of {@code length}. */
    public int steps(int length) {
        return (int) (factor * Math.sqrt(1 + 8.0 * length / factor) / 2);
    }

    @Override
    public int commits(int step, int remaining, int blockLength, int blockCount) {
        if (step >= steps(blockLength) - 1) {
            return remaining;
        }
        return Math.min(step / factor + 1, remaining);
    }

    @Override
    public String describe() {
        return "pyramid --factor " + factor;
    }
}

package org.remask.sampling;

/**
 * LLaDA2's schedule (modeling_llada2_moe.py, {@code generate}): each block's {@code steps} split the block length
 * evenly (the remainder to the first steps); a step commits every masked position whose confidence is above the
 * threshold when they are at least its share, else its share of the most confident.
 */
public record Llada2Schedule(int steps, double threshold) implements Schedule {
    /** generate()'s default. */
    public static final double DEFAULT_THRESHOLD = 0.95;

    @Override
    public void validate(int genLength, int blockLength) {
        if (steps < 1) {
            throw new IllegalArgumentException("llada2 steps per block must be at least 1, not " + steps);
        }
        if (!(threshold > 0 && threshold <= 1)) {
            throw new IllegalArgumentException("llada2 threshold must be in (0, 1], not " + threshold);
        }
    }

    @Override
    public int commits(int step, int remaining, int blockLength, int blockCount) {
        int share = blockLength / steps + (step < blockLength % steps ? 1 : 0);
        return Math.min(share, remaining);
    }

    /** The commit takes confidences at or above this: the next double above the threshold, as generate() compares with >. */
    @Override
    public double threshold() {
        return Math.nextUp(threshold);
    }

    @Override
    public boolean mayCommitNothing() {
        return steps > 1;
    }

    @Override
    public String describe() {
        return "llada2 --steps " + steps + " --threshold " + threshold;
    }
}

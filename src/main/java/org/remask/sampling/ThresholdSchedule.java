package org.remask.sampling;

/**
 * Fast-dLLM's confidence-threshold parallel decoding: each step commits every masked in-block position
 * whose confidence is at least the threshold, and always at least the most confident one.
 */
public record ThresholdSchedule(double threshold) implements Schedule {
    public static final double DEFAULT_THRESHOLD = 0.9;

    @Override
    public void validate(int genLength, int blockLength) {
        if (!(threshold > 0 && threshold <= 1)) {
            throw new IllegalArgumentException("--threshold must be in (0, 1], not " + threshold);
        }
    }

    @Override
    public int commits(int step, int remaining, int blockLength, int blockCount) {
        return 1;
    }

    @Override
    public String describe() {
        return "threshold --threshold " + threshold;
    }
}

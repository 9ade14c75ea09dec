package org.remask.sampling;

/**
 * LLaDA's uniform schedule: steps / blocks steps per block, each committing blockLength / stepsPerBlock
 * tokens, the remainder going to the first steps (10 over 4 steps: 3, 3, 2, 2).
 */
public record LladaSchedule(int steps) implements Schedule {

    @Override
    public void validate(int genLength, int blockLength) {
        int blocks = genLength / blockLength;
        if (blocks < 1) {
            throw new IllegalArgumentException("--block-length " + blockLength + " exceeds --gen-length " + genLength);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("--steps must be at least 1, not " + steps);
        }
        if (steps % blocks != 0) {
            throw new IllegalArgumentException("--steps " + steps + " is not divisible by the number of blocks "
                    + blocks + " (gen length " + genLength + " / block length " + blockLength + ")");
        }
    }

    @Override
    public int commits(int step, int remaining, int blockLength, int blockCount) {
        int stepsPerBlock = steps / blockCount;
        int count = blockLength / stepsPerBlock + (step < blockLength % stepsPerBlock ? 1 : 0);
        // With more steps than tokens the trailing steps would commit nothing; the block ends before them.
        return Math.min(count, remaining);
    }

    @Override
    public String describe() {
        return "llada --steps " + steps;
    }
}

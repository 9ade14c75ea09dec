package org.remask.sampling;

/**
 * Dream's schedule (generation_utils.py, {@code _sample}): {@code steps} model calls over the whole generation as
 * one block, at times t_i = linspace(1, eps, steps + 1) in fp32; step i commits int(M * (1 - t_{i+1} / t_i)) of
 * the M positions still masked, the last step all of them. Early steps may commit nothing. With {@code algTemp}
 * above 0 the positions are drawn, as multinomial(softmax(confidence / algTemp)) without replacement, instead of
 * taken by confidence.
 */
public record DreamSchedule(int steps, double eps, double algTemp) implements Schedule {
    /** generation_config.json's eps of Dream-v0-Instruct-7B. */
    public static final double DEFAULT_EPS = 1e-3;

    /** Without alg_temp: the most confident positions commit. */
    public DreamSchedule(int steps, double eps) {
        this(steps, eps, 0);
    }

    @Override
    public void validate(int genLength, int blockLength) {
        if (steps < 1) {
            throw new IllegalArgumentException("dream steps must be at least 1, not " + steps);
        }
        if (!(algTemp >= 0) || Double.isInfinite(algTemp)) {
            throw new IllegalArgumentException("dream alg temp must be a finite number >= 0, not " + algTemp);
        }
        if (!(eps > 0 && eps < 1)) {
            throw new IllegalArgumentException("dream eps must lie in (0, 1), not " + eps);
        }
        if (blockLength != genLength) {
            throw new IllegalArgumentException("the dream schedule runs the whole generation as one block: block length "
                    + blockLength + " must equal the gen length " + genLength);
        }
    }

    /** t_i as torch.linspace gives it in fp32: the step in double, from the nearer end, then rounded. */
    private float time(int i) {
        double stepSize = (eps - 1) / steps;
        return (float) (i < (steps + 1) / 2 ? 1 + stepSize * i : eps - stepSize * (steps - i));
    }

    @Override
    public int commits(int step, int remaining, int blockLength, int blockCount) {
        return step >= steps - 1 ? remaining : (int) (remaining * transfer(step));
    }

    /** The probability that a masked position commits at this step (the {@code origin} rule's), 1 at the last. */
    public float transfer(int step) {
        return step >= steps - 1 ? 1f : 1f - time(step + 1) / time(step);
    }

    @Override
    public boolean mayCommitNothing() {
        return true;
    }

    @Override
    public String describe() {
        return "dream --steps " + steps + (algTemp > 0 ? " --alg-temp " + algTemp : "");
    }
}

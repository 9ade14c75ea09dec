package org.remask.sampling;

import java.util.List;

/**
 * What a step does with the tokens its block has already committed: the revision rules, named in this one
 * place, which the command line, eval and the benches use. With {@code none} and {@code rcr} the schedule decides
 * how many tokens a step adds; {@code wino} drafts by its own threshold and does not use the schedule;
 * {@code edit} adds the schedule's tokens and may also replace committed ones.
 */
public sealed interface Revision {
    Revision NONE = new None();
    Revision RCR = new Rcr();

    /** Committed tokens stay committed: LLaDA's sampler. */
    record None() implements Revision {
        @Override
        public String describe() {
            return "none";
        }
    }

    /**
     * Running-confidence remasking (autonomousvision/mdpo): each position keeps the confidence it had when its
     * token was predicted, and the block holds the schedule's count of tokens at the positions of highest such
     * confidence, so a later, more confident prediction displaces an earlier commit. No extra forward; a block
     * takes the model calls it takes without revision.
     */
    record Rcr() implements Revision {
        @Override
        public String describe() {
            return "rcr";
        }
    }

    /**
     * Wide-in, narrow-out (Feng-Hong/WINO-DLLM): each model call also runs a shadow copy of the block, all masks,
     * whose positions see everything but their own original one. Draft: masked positions above {@code wide}
     * commit (capped at min(max(int(masked * 0.7), 5), 20), at least the most confident). Verify: committed
     * positions whose shadow probability of their own token is below {@code narrow} are masked again (after a
     * draft of more than one; at most the previous draft minus one). From a block's step blockLength on the
     * verify is off, so that every block finishes.
     */
    record Wino(double wide, double narrow) implements Revision {
        public static final double DEFAULT_WIDE = 0.6;
        public static final double DEFAULT_NARROW = 0.9;
        /** The previous draft at a block's first step: the published code's initial last_accept. */
        static final int FIRST_LAST_ACCEPT = 30;

        public Wino {
            if (!(wide > 0 && wide <= 1)) {
                throw new IllegalArgumentException("--wino-wide must be in (0, 1], not " + wide);
            }
            if (!(narrow > 0 && narrow <= 1)) {
                throw new IllegalArgumentException("--wino-narrow must be in (0, 1], not " + narrow);
            }
        }

        @Override
        public String describe() {
            return "wino --wino-wide " + wide + " --wino-narrow " + narrow;
        }
    }

    /**
     * ReMDM's conf strategy (kuleshov-group/remdm, diffusion.py, remdm-conf): each step, every committed
     * position of the block goes back to the mask with probability softmax over the block's committed positions
     * of minus their confidence (from when they committed), times min(sigmaMax, (1 - alpha_s) / alpha_t) for the
     * block's unmasked fractions before and after the step; then the schedule's count plus one per position masked
     * again commit, so a block takes the model calls it takes without revision. The draws are remask's
     * counter-based noise at (seed, model call, position).
     */
    record RemdmConf(double sigmaMax) implements Revision {
        public static final double DEFAULT_SIGMA_MAX = 1.0;

        public RemdmConf {
            if (!(sigmaMax >= 0) || Double.isInfinite(sigmaMax)) {
                throw new IllegalArgumentException("--remdm-sigma-max must be a number >= 0, not " + sigmaMax);
            }
        }

        @Override
        public String describe() {
            return "remdm --remdm-strategy conf --remdm-sigma-max " + sigmaMax;
        }
    }

    /**
     * ReMDM's loop strategy (remdm-loop): the block's llada steps are a time grid t = 1 - step / S. Until tOn the
     * unmasked fraction rises linearly to alphaOn; from tOn to tOff it stays there while each committed position
     * goes back with probability eta and as many masked ones commit (a step may change nothing); after tOff it
     * rises to 1. So NFE stays the schedule's while part of them only revise.
     */
    record RemdmLoop(double eta, double tOn, double tOff, double alphaOn) implements Revision {
        public static final double DEFAULT_ETA = 0.02;
        public static final double DEFAULT_T_ON = 0.55;
        public static final double DEFAULT_T_OFF = 0.05;
        public static final double DEFAULT_ALPHA_ON = 0.9;

        public RemdmLoop {
            if (!(eta >= 0 && eta <= 1)) {
                throw new IllegalArgumentException("--remdm-eta must be in [0, 1], not " + eta);
            }
            if (!(tOff >= 0 && tOff < tOn && tOn <= 1)) {
                throw new IllegalArgumentException("--remdm-t-on and --remdm-t-off need 0 <= t_off < t_on <= 1, not t_on "
                        + tOn + " and t_off " + tOff);
            }
            if (!(alphaOn > 0 && alphaOn < 1)) {
                throw new IllegalArgumentException("--remdm-alpha-on must be in (0, 1), not " + alphaOn);
            }
        }

        /** Tokens step {@code step} of {@code steps} adds to a block of n with {@code remaining} masked (0 or more). */
        int commits(int step, int remaining, int n, int steps) {
            double next = 1 - (step + 1.0) / steps;
            double masked = next >= tOn ? 1 - (1 - next) * alphaOn / (1 - tOn)
                    : next > tOff ? 1 - alphaOn : next * (1 - alphaOn) / tOff;
            return Math.max(0, remaining - (int) Math.floor(n * masked + 0.5));
        }

        /** The re-masking probability at that step: eta while t lies in (tOff, tOn], never at the block's last step. */
        double sigma(int step, int steps) {
            double t = 1 - (double) step / steps;
            return t > tOff && t <= tOn && step < steps - 1 ? eta : 0;
        }

        @Override
        public String describe() {
            return "remdm --remdm-strategy loop --remdm-eta " + eta + " --remdm-t-on " + tOn + " --remdm-t-off " + tOff
                    + " --remdm-alpha-on " + alphaOn;
        }
    }

    /**
     * Token-to-token editing, for a model trained to judge the tokens it sees (remask_train --edit-fraction; LLaDA
     * 2.1's T2T editing as SGLang's JointThreshold runs it): each step commits masked positions as the schedule
     * says and also gives a committed position of the block the model's prediction where that differs from its
     * token with confidence above {@code threshold}; once the block holds no mask, up to {@code steps} more model
     * calls only edit, ending early after one that changes nothing. Every model call counts in NFE.
     */
    record Edit(double threshold, int steps) implements Revision {
        public static final double DEFAULT_THRESHOLD = 0.9;
        public static final int DEFAULT_STEPS = 16;

        public Edit {
            if (!(threshold >= 0 && threshold < 1)) {
                throw new IllegalArgumentException("--edit-threshold must be in [0, 1), not " + threshold);
            }
            if (steps < 0) {
                throw new IllegalArgumentException("--edit-steps must be at least 0, not " + steps);
            }
        }

        @Override
        public String describe() {
            return "edit --edit-threshold " + threshold + " --edit-steps " + steps;
        }
    }

    /** The rule with its parameters, as options ("wino --wino-wide 0.6 --wino-narrow 0.9"). */
    String describe();

    /** The name the command line and reports use: none, rcr, wino. */
    default String cliName() {
        return describe().split(" ", 2)[0];
    }

    static List<String> names() {
        return List.of("none", "rcr", "wino", "remdm", "edit");
    }

    /** The rule NAME with its published defaults (remdm: the conf strategy). */
    static Revision parse(String name) {
        return switch (name) {
            case "none" -> NONE;
            case "rcr" -> RCR;
            case "wino" -> new Wino(Wino.DEFAULT_WIDE, Wino.DEFAULT_NARROW);
            case "remdm" -> new RemdmConf(RemdmConf.DEFAULT_SIGMA_MAX);
            case "edit" -> new Edit(Edit.DEFAULT_THRESHOLD, Edit.DEFAULT_STEPS);
            default -> throw new IllegalArgumentException("unknown revision rule '" + name + "' (use none, rcr, wino,"
                    + " remdm or edit)");
        };
    }
}

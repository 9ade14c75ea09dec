package org.remask.sampling;

import java.util.List;

/**
 * What a step does with the tokens its block has already committed: the revision rules, named in this one
 * place, which the command line, eval and the benches use. With {@code none} and {@code rcr} the schedule decides
 * how many tokens a step adds; {@code wino} drafts by its own threshold and does not use the schedule.
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

    /** The rule with its parameters, as options ("wino --wino-wide 0.6 --wino-narrow 0.9"). */
    String describe();

    /** The name the command line and reports use: none, rcr, wino. */
    default String cliName() {
        return describe().split(" ", 2)[0];
    }

    static List<String> names() {
        return List.of("none", "rcr", "wino");
    }

    /** The rule NAME; wide and narrow are wino's thresholds (null: the defaults), refused for another rule. */
    static Revision parse(String name, Double wide, Double narrow) {
        if (!name.equals("wino") && (wide != null || narrow != null)) {
            throw new IllegalArgumentException("--wino-wide and --wino-narrow go with --revise wino, not " + name);
        }
        return switch (name) {
            case "none" -> NONE;
            case "rcr" -> RCR;
            case "wino" -> new Wino(wide != null ? wide : Wino.DEFAULT_WIDE, narrow != null ? narrow : Wino.DEFAULT_NARROW);
            default -> throw new IllegalArgumentException("unknown revision rule '" + name + "' (use none, rcr or wino)");
        };
    }
}

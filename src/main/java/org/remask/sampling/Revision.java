package org.remask.sampling;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a step does with the tokens its block has already committed: the revision rules, named and parsed in
 * this one place, which the command line, eval and the benches use. The schedule still decides how many tokens
 * a step adds; a revision rule decides which positions hold them.
 */
public enum Revision {
    /** Committed tokens stay committed: LLaDA's sampler. */
    NONE,
    /**
     * Running-confidence remasking (autonomousvision/mdpo): each position keeps the confidence it had when its
     * token was predicted, and the block keeps the schedule's count of tokens at the positions of highest such
     * confidence, so a later, more confident prediction displaces an earlier commit. No extra forward; a block
     * takes the same model calls as without it.
     */
    RCR;

    /** The name the command line and reports use: none, rcr. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(Revision::cliName).toList();
    }

    public static Revision parse(String name) {
        for (Revision revision : values()) {
            if (revision.cliName().equals(name)) {
                return revision;
            }
        }
        throw new IllegalArgumentException("unknown revision rule '" + name + "' (use " + String.join(" or ", names())
                + ")");
    }
}

package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.util.Locale;

/** Which masked positions win a step: the ones whose confidence by this rule is largest. */
public enum Remasking {
    /** Softmax probability of the predicted token (LLaDA's default). */
    LOW_CONFIDENCE(REMASK_RULE_LOW_CONFIDENCE()),
    /** A uniform draw per position. */
    RANDOM(REMASK_RULE_RANDOM()),
    /** p1 - p2 of the two most likely tokens (Dream's topk_margin). */
    MARGIN(REMASK_RULE_MARGIN()),
    /** Sum of p log p: the least uncertain first (Dream's entropy). */
    ENTROPY(REMASK_RULE_ENTROPY()),
    /**
     * Dream's {@code origin}: each masked position commits x0 with the dream schedule's probability, by a uniform
     * draw of its own; its sampling pass is the low-confidence one (x0 is the most likely token).
     */
    ORIGIN(REMASK_RULE_LOW_CONFIDENCE());

    private final int nativeRule;

    Remasking(int nativeRule) {
        this.nativeRule = nativeRule;
    }

    int nativeRule() {
        return nativeRule;
    }

    /** The command-line name: low-confidence, random, margin, entropy. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A rule by its name, or by Dream's name for it (maskgit_plus, topk_margin, entropy, origin). */
    public static Remasking parse(String text) {
        for (Remasking rule : values()) {
            if (rule.cliName().equals(text) || rule.name().equalsIgnoreCase(text)) {
                return rule;
            }
        }
        return switch (text) {
            case "maskgit_plus", "maskgit-plus" -> LOW_CONFIDENCE;
            case "topk_margin", "topk-margin" -> MARGIN;
            default -> throw new IllegalArgumentException("unknown remasking rule '" + text
                    + "' (use low-confidence, random, margin, entropy or origin, or Dream's maskgit_plus or topk_margin)");
        };
    }
}

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
    ENTROPY(REMASK_RULE_ENTROPY());

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

    public static Remasking parse(String text) {
        for (Remasking rule : values()) {
            if (rule.cliName().equals(text) || rule.name().equalsIgnoreCase(text)) {
                return rule;
            }
        }
        throw new IllegalArgumentException(
                "unknown remasking rule '" + text + "' (use low-confidence, random, margin or entropy)");
    }
}

package org.remask.sampling;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Fast-dLLM's block caches. Each block's first step is a full forward that keeps every layer's keys and
 * values; its later steps recompute only some positions and attend to the kept keys and values of the
 * others, an approximation (attention is bidirectional) that the evaluation measures.
 */
public enum CacheMode {
    /** Every step runs the whole sequence. */
    NONE,
    /** Later steps run the block and everything right of it; the prompt and finished blocks are kept. */
    PREFIX,
    /** Later steps run the block alone; the masked positions right of it are kept too. */
    DUAL;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static CacheMode parse(String name) {
        for (CacheMode mode : values()) {
            if (mode.cliName().equalsIgnoreCase(name)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown cache mode '" + name + "' (use "
                + Arrays.stream(values()).map(CacheMode::cliName).collect(Collectors.joining(", ")) + ")");
    }
}

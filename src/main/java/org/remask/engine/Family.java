package org.remask.engine;

import static org.remask.ffi.remask_h.REMASK_FAMILY_DREAM;
import static org.remask.ffi.remask_h.REMASK_FAMILY_LLADA;
import static org.remask.ffi.remask_h.REMASK_FAMILY_LLADA2;
import static org.remask.ffi.remask_h.REMASK_FAMILY_LLADA_MOE;

/** The model families remask runs, by the architecture name in their config.json. */
public enum Family {
    /** LLaDA-8B, LLaDA 1.5. */
    LLADA("LLaDAModelLM", REMASK_FAMILY_LLADA()),
    /** Dream 7B: a position's distribution is the model's output one position earlier. */
    DREAM("DreamModel", REMASK_FAMILY_DREAM()),
    /** LLaDA-MoE-7B-A1B: LLaDA's sampler over routed experts. */
    LLADA_MOE("LLaDAMoEModelLM", REMASK_FAMILY_LLADA_MOE()),
    /** LLaDA2.0-mini: trained block-causally, it generates block by block from the sequence's start. */
    LLADA2("LLaDA2MoeModelLM", REMASK_FAMILY_LLADA2());

    private final String architecture;
    private final int nativeFamily;

    Family(String architecture, int nativeFamily) {
        this.architecture = architecture;
        this.nativeFamily = nativeFamily;
    }

    public String architecture() {
        return architecture;
    }

    /** Whether a generation runs LLaDA2's block-causal layout: blocks from position 0, later blocks unseen. */
    public boolean blockCausal() {
        return this == LLADA2;
    }

    static Family ofNative(long value) {
        for (Family family : values()) {
            if (family.nativeFamily == value) {
                return family;
            }
        }
        throw new IllegalStateException("unknown native model family " + value);
    }
}

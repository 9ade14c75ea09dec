package org.remask.engine;

import static org.remask.ffi.remask_h.*;

/**
 * How the fused sampler turns a row of logits into x0 and its confidence.
 *
 * @param cfgScale classifier-free guidance scale; above 0 the logits hold a second, unconditional half
 * @param temperature 0 for argmax, above 0 for Gumbel-max sampling of softmax(logits / temperature)
 * @param eosLogitOff EOS is never sampled (LLaDA's logits_eos_inf)
 * @param eosConfidenceOff positions predicting EOS or EoT commit last (LLaDA's confidence_eos_eot_inf)
 * @param eotId the EoT token, or -1 where the model has none
 * @param seed the noise depends only on (seed, step, row, token), so a seed reproduces a run on one device
 * @param topP below 1: Dream's nucleus truncation of each row before the confidence (1 turns it off)
 * @param topK above 0: then only the k most likely tokens stay (0 turns it off)
 */
public record SampleSettings(
        double cfgScale,
        double temperature,
        Remasking remasking,
        boolean eosLogitOff,
        boolean eosConfidenceOff,
        long eotId,
        long seed,
        double topP,
        int topK) {

    public static final SampleSettings GREEDY = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0);

    /** Without truncation. */
    public SampleSettings(double cfgScale, double temperature, Remasking remasking, boolean eosLogitOff,
            boolean eosConfidenceOff, long eotId, long seed) {
        this(cfgScale, temperature, remasking, eosLogitOff, eosConfidenceOff, eotId, seed, 1, 0);
    }

    public SampleSettings {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, not " + temperature);
        }
        if (!(cfgScale >= 0) || Double.isInfinite(cfgScale)) {
            throw new IllegalArgumentException("cfg scale must be a finite number >= 0, not " + cfgScale);
        }
        if (remasking == null) {
            throw new IllegalArgumentException("a remasking rule is required");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must lie in (0, 1], not " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be 0 (off) or at least 1, not " + topK);
        }
        if (truncates() && guided()) {
            throw new IllegalArgumentException("top-p and top-k run without classifier-free guidance");
        }
    }

    /** Whether rows are truncated (top-p or top-k) before the sampling pass. */
    public boolean truncates() {
        return topP < 1 || topK > 0;
    }

    /** The same settings with another seed. */
    public SampleSettings withSeed(long other) {
        return new SampleSettings(cfgScale, temperature, remasking, eosLogitOff, eosConfidenceOff, eotId, other, topP,
                topK);
    }

    public boolean guided() {
        return cfgScale > 0;
    }

    int nativeFlags() {
        return (eosLogitOff ? REMASK_SAMPLE_EOS_LOGIT_OFF() : 0)
                | (eosConfidenceOff ? REMASK_SAMPLE_EOS_CONFIDENCE_OFF() : 0);
    }
}

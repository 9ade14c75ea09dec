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
 */
public record SampleSettings(
        double cfgScale,
        double temperature,
        Remasking remasking,
        boolean eosLogitOff,
        boolean eosConfidenceOff,
        long eotId,
        long seed) {

    public static final SampleSettings GREEDY = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0);

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
    }

    public boolean guided() {
        return cfgScale > 0;
    }

    int nativeFlags() {
        return (eosLogitOff ? REMASK_SAMPLE_EOS_LOGIT_OFF() : 0)
                | (eosConfidenceOff ? REMASK_SAMPLE_EOS_CONFIDENCE_OFF() : 0);
    }
}

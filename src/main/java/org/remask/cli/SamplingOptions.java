package org.remask.cli;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.remask.engine.Family;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;
import org.remask.sampling.CacheMode;
import org.remask.sampling.Cancellation;
import org.remask.sampling.DreamSchedule;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.Llada2Schedule;
import org.remask.sampling.LladaSchedule;
import org.remask.sampling.PyramidSchedule;
import org.remask.sampling.Revision;
import org.remask.sampling.Schedule;
import org.remask.sampling.ScheduleKind;
import org.remask.sampling.ThresholdSchedule;
import picocli.CommandLine.Option;

/** The schedule and the sampler's options, shared by the commands that generate. */
final class SamplingOptions {
    static final int DEFAULT_GEN_LENGTH = 128;

    @Option(names = "--gen-length", paramLabel = "L", description = "Tokens to generate (default: max_new_tokens in"
            + " the model's generation_config.json, else " + DEFAULT_GEN_LENGTH + ").")
    Integer genLength;

    @Option(names = "--block-length", paramLabel = "B",
            description = "Tokens per semi-autoregressive block; gen length must be a multiple (default: 32 where it"
                    + " divides the gen length, else one block of the gen length; dream: one block).")
    Integer blockLength;

    @Option(names = "--schedule", paramLabel = "S", description = "llada, pyramid, threshold, dream or llada2"
            + " (default: llada2 for an LLaDA2 model, dream where generation_config.json has Dream's alg, else llada).")
    String schedule; // ScheduleKind's names

    @Option(names = "--steps", paramLabel = "N", description = "Model calls: llada and dream in all, llada2 per block"
            + " (default: the gen length; dream: steps in generation_config.json, if any; llada2: the block length).")
    Integer steps;

    // --steps, --factor and --threshold stay null unless given, so that one given to another schedule is refused.
    @Option(names = "--factor", paramLabel = "F",
            description = "pyramid: step i commits i / F + 1 tokens (default: " + PyramidSchedule.DEFAULT_FACTOR + ").")
    Integer factor;

    @Option(names = "--threshold", paramLabel = "T",
            description = "threshold: commit every position with confidence >= T, in (0, 1]; llada2: every one above T"
                    + " when they are at least the step's share (default: " + ThresholdSchedule.DEFAULT_THRESHOLD
                    + "; llada2: " + Llada2Schedule.DEFAULT_THRESHOLD + ").")
    Double threshold;

    @Option(names = "--cache", defaultValue = "none", paramLabel = "C",
            description = "none, prefix or dual: Fast-dLLM's block caches; a block's later steps keep the keys and"
                    + " values of the prompt and finished blocks (prefix) and also of the masked blocks right of it"
                    + " (dual) from the block's first step (default: ${DEFAULT-VALUE}).")
    String cache;

    @Option(names = "--revise", defaultValue = "none", paramLabel = "R",
            description = "What a step does with its block's committed tokens: none; rcr (running-confidence"
                    + " remasking: a later, more confident prediction takes an earlier commit's place); wino"
                    + " (wide-in, narrow-out: drafts above --wino-wide, takes back tokens a shadow block doubts);"
                    + " remdm (ReMDM: takes tokens back at random, the less confident more often); or edit (for a"
                    + " model trained to edit: replaces committed tokens the model predicts otherwise above"
                    + " --edit-threshold, then edits a filled block for up to --edit-steps more calls)"
                    + " (default: ${DEFAULT-VALUE}).") // Revision's names
    String revise;

    // The rules' parameters stay null unless given, so that one given to another rule is refused.
    @Option(names = "--wino-wide", paramLabel = "T", description = "wino: draft masked positions with confidence above"
            + " T, in (0, 1] (default: " + Revision.Wino.DEFAULT_WIDE + ").")
    Double winoWide;

    @Option(names = "--wino-narrow", paramLabel = "T", description = "wino: take back committed tokens whose"
            + " probability with the token hidden is below T, in (0, 1] (default: " + Revision.Wino.DEFAULT_NARROW + ").")
    Double winoNarrow;

    @Option(names = "--remdm-strategy", paramLabel = "S", description = "remdm: conf (each step, probability by"
            + " confidence) or loop (a phase that only revises) (default: conf).")
    String remdmStrategy;

    @Option(names = "--remdm-sigma-max", paramLabel = "S", description = "remdm conf: cap of the re-masking"
            + " probability's scale, >= 0 (default: " + Revision.RemdmConf.DEFAULT_SIGMA_MAX + ").")
    Double remdmSigmaMax;

    @Option(names = "--remdm-eta", paramLabel = "E", description = "remdm loop: re-masking probability in the loop, in"
            + " [0, 1] (default: " + Revision.RemdmLoop.DEFAULT_ETA + ").")
    Double remdmEta;

    @Option(names = "--remdm-t-on", paramLabel = "T", description = "remdm loop: time the loop starts (default: "
            + Revision.RemdmLoop.DEFAULT_T_ON + ").")
    Double remdmTOn;

    @Option(names = "--remdm-t-off", paramLabel = "T", description = "remdm loop: time the loop ends, below"
            + " --remdm-t-on (default: " + Revision.RemdmLoop.DEFAULT_T_OFF + ").")
    Double remdmTOff;

    @Option(names = "--remdm-alpha-on", paramLabel = "A", description = "remdm loop: unmasked fraction held during the"
            + " loop, in (0, 1) (default: " + Revision.RemdmLoop.DEFAULT_ALPHA_ON + ").")
    Double remdmAlphaOn;

    @Option(names = "--edit-threshold", paramLabel = "T", description = "edit: replace a committed token where the"
            + " model predicts another with probability above T, in [0, 1) (default: " + Revision.Edit.DEFAULT_THRESHOLD
            + ").")
    Double editThreshold;

    @Option(names = "--edit-steps", paramLabel = "N", description = "edit: model calls after a block's last mask is"
            + " filled that only edit, ending early after one that changes nothing (default: "
            + Revision.Edit.DEFAULT_STEPS + ").")
    Integer editSteps;

    @Option(names = "--remasking", paramLabel = "R", description = "Which positions win a step: low-confidence,"
            + " random, margin, entropy, or (dream) origin; Dream's maskgit_plus and topk_margin name the first and"
            + " third (default: Dream's alg in generation_config.json, else low-confidence).")
    String remasking;

    @Option(names = "--top-p", paramLabel = "P", description = "Keep the most likely tokens until their probability"
            + " reaches P before choosing, in (0, 1] (default: top_p in generation_config.json, else 1: off).")
    Double topP;

    @Option(names = "--top-k", paramLabel = "K", description = "Then keep only the K most likely tokens (default:"
            + " top_k in generation_config.json, else 0: off).")
    Integer topK;

    @Option(names = "--alg-temp", paramLabel = "T", description = "dream: above 0, draw the step's positions from"
            + " softmax(confidence / T) instead of taking the most confident (default: alg_temp in"
            + " generation_config.json, else 0: off).")
    Double algTemp;

    /** Dream's eps: generation_config.json's, else its published default. */
    private double eps = DreamSchedule.DEFAULT_EPS;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
            description = "0 for argmax; above 0, Gumbel-max sampling (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--cfg-scale", defaultValue = "0", paramLabel = "C",
            description = "Classifier-free guidance scale; 0 turns it off (default: ${DEFAULT-VALUE}).")
    double cfgScale;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
            description = "Seed of the sampling noise: the same seed gives the same output on one device (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--eos-logit-off", description = "Never sample EOS (LLaDA's logits_eos_inf).")
    boolean eosLogitOff;

    @Option(names = "--eos-confidence-off",
            description = "Commit positions predicting EOS or EoT last (LLaDA's confidence_eos_eot_inf).")
    boolean eosConfidenceOff;

    @Option(names = "--max-time", paramLabel = "SECONDS",
            description = "Stop after this many seconds and print what was committed so far.")
    Double maxTime;

    @Option(names = "--eot-id", defaultValue = "-1", paramLabel = "ID",
            description = "The EoT token for --eos-confidence-off (default: the tokenizer's <|eot_id|>, if any).")
    long eotId;

    /** Fills the defaults that come from the model directory; every command calls it before the rest. */
    void settle(GenerationConfig config) {
        if (genLength == null) {
            genLength = config.maxNewTokens() != null ? config.maxNewTokens() : DEFAULT_GEN_LENGTH;
        }
        GenerationConfig.DreamDefaults dream = config.dream();
        if (schedule == null) {
            schedule = Family.LLADA2.architecture().equals(config.architecture()) ? ScheduleKind.LLADA2.cliName()
                    : dream != null ? ScheduleKind.DREAM.cliName() : ScheduleKind.LLADA.cliName();
        }
        boolean dreamDefaults = dream != null && schedule.equals(ScheduleKind.DREAM.cliName());
        if (remasking == null) {
            remasking = dreamDefaults ? dream.alg() : Remasking.LOW_CONFIDENCE.cliName();
        }
        if (dreamDefaults) {
            steps = steps != null ? steps : dream.steps();
            eps = dream.eps() != null ? dream.eps() : DreamSchedule.DEFAULT_EPS;
            algTemp = algTemp != null ? algTemp : dream.algTemp();
            topP = topP != null ? topP : dream.topP();
            topK = topK != null ? topK : dream.topK();
        }
    }

    int resolvedBlockLength() {
        if (blockLength != null) {
            return blockLength;
        }
        return schedule.equals(ScheduleKind.DREAM.cliName()) || genLength % 32 != 0 ? genLength : 32;
    }

    Schedule resolvedSchedule() {
        ScheduleKind kind = ScheduleKind.parse(schedule);
        refuseUnless(steps, "steps", kind == ScheduleKind.LLADA || kind == ScheduleKind.DREAM || kind == ScheduleKind.LLADA2);
        refuseUnless(factor, "factor", kind == ScheduleKind.PYRAMID);
        refuseUnless(threshold, "threshold", kind == ScheduleKind.THRESHOLD || kind == ScheduleKind.LLADA2);
        refuseUnless(algTemp, "alg-temp", kind == ScheduleKind.DREAM);
        return switch (kind) {
            case LLADA -> new LladaSchedule(steps != null ? steps : genLength);
            case PYRAMID -> new PyramidSchedule(factor != null ? factor : PyramidSchedule.DEFAULT_FACTOR);
            case THRESHOLD -> new ThresholdSchedule(threshold != null ? threshold : ThresholdSchedule.DEFAULT_THRESHOLD);
            case DREAM -> new DreamSchedule(steps != null ? steps : genLength, eps, algTemp != null ? algTemp : 0);
            case LLADA2 -> new Llada2Schedule(steps != null ? steps : resolvedBlockLength(),
                    threshold != null ? threshold : Llada2Schedule.DEFAULT_THRESHOLD);
        };
    }

    private void refuseUnless(Object given, String option, boolean applies) {
        if (given != null && !applies) {
            throw new IllegalArgumentException("--" + option + " does not apply to --schedule " + schedule);
        }
    }

    /** Whether --steps, --factor or --threshold was given (a sweep sets them from its grid). */
    boolean scheduleParameterGiven() {
        return steps != null || factor != null || threshold != null;
    }

    /** A deadline of --max-time seconds from now, or null without one. */
    Cancellation cancellation() {
        Duration limit = timeLimit();
        return limit == null ? null : Cancellation.after(limit);
    }

    /** --max-time, or null without one. */
    Duration timeLimit() {
        if (maxTime == null) {
            return null;
        }
        if (!(maxTime > 0) || maxTime.isInfinite()) {
            throw new IllegalArgumentException("--max-time must be a positive number of seconds, not " + maxTime);
        }
        return Duration.ofNanos((long) (maxTime * 1e9));
    }

    /** The request for these prompt ids, checked; eot is the EoT id for --eos-confidence-off when --eot-id is not given. */
    GenerationRequest request(long[] promptIds, long eot) {
        return request(promptIds, eot, revision());
    }

    /** As {@link #request(long[], long)} with another revision rule than --revise's (a sweep's point). */
    GenerationRequest request(long[] promptIds, long eot, Revision revision) {
        return new GenerationRequest(promptIds, genLength, resolvedBlockLength(), resolvedSchedule(),
                settings(eotId >= 0 ? eotId : eot), cacheMode(), revision);
    }

    CacheMode cacheMode() {
        return CacheMode.parse(cache);
    }

    /**
     * The revision rule with its parameters; each parameter goes with its rule only. wino drafts by its own
     * threshold, so a schedule given beside it is refused.
     */
    Revision revision() {
        checkRuleParameters(List.of(revise));
        Revision revision = revision(revise);
        if (revision instanceof Revision.Wino && (!schedule.equals("llada") || scheduleParameterGiven())) {
            throw new IllegalArgumentException("--revise wino drafts by --wino-wide, not by a schedule: --schedule,"
                    + " --steps, --factor and --threshold go without it");
        }
        return revision;
    }

    /** Refuses a rule's parameter given when none of these rules takes it. */
    void checkRuleParameters(List<String> rules) {
        String strategy = remdmStrategy == null ? "conf" : remdmStrategy;
        Map<String, Object> loopOnly = new LinkedHashMap<>();
        loopOnly.put("--remdm-eta", remdmEta);
        loopOnly.put("--remdm-t-on", remdmTOn);
        loopOnly.put("--remdm-t-off", remdmTOff);
        loopOnly.put("--remdm-alpha-on", remdmAlphaOn);
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("--wino-wide", winoWide);
        all.put("--wino-narrow", winoNarrow);
        all.put("--remdm-strategy", remdmStrategy);
        all.put("--remdm-sigma-max", remdmSigmaMax);
        all.putAll(loopOnly);
        all.put("--edit-threshold", editThreshold);
        all.put("--edit-steps", editSteps);
        for (Map.Entry<String, Object> option : all.entrySet()) {
            String rule = option.getKey().substring(2, option.getKey().indexOf('-', 2));
            boolean fits = rules.contains(rule)
                    && !(rule.equals("remdm") && strategy.equals("conf") && loopOnly.containsKey(option.getKey()))
                    && !(rule.equals("remdm") && strategy.equals("loop") && option.getKey().equals("--remdm-sigma-max"));
            if (option.getValue() != null && !fits) {
                throw new IllegalArgumentException(option.getKey() + " does not apply to --revise "
                        + String.join(", ", rules) + (rules.contains("remdm") ? " with --remdm-strategy " + strategy : ""));
            }
        }
    }

    /** The rule NAME with the parameters given for it (and its defaults for the others). */
    Revision revision(String name) {
        String strategy = remdmStrategy == null ? "conf" : remdmStrategy;
        Revision revision = Revision.parse(name);
        return switch (revision) {
            case Revision.Wino w -> new Revision.Wino(or(winoWide, w.wide()), or(winoNarrow, w.narrow()));
            case Revision.RemdmConf c when strategy.equals("loop") -> new Revision.RemdmLoop(
                    or(remdmEta, Revision.RemdmLoop.DEFAULT_ETA), or(remdmTOn, Revision.RemdmLoop.DEFAULT_T_ON),
                    or(remdmTOff, Revision.RemdmLoop.DEFAULT_T_OFF), or(remdmAlphaOn, Revision.RemdmLoop.DEFAULT_ALPHA_ON));
            case Revision.RemdmConf c when strategy.equals("conf") -> new Revision.RemdmConf(or(remdmSigmaMax, c.sigmaMax()));
            case Revision.Edit e -> new Revision.Edit(or(editThreshold, e.threshold()),
                    editSteps != null ? editSteps : e.steps());
            case Revision.RemdmConf c -> throw new IllegalArgumentException("unknown --remdm-strategy '" + strategy
                    + "' (use conf or loop)");
            default -> revision;
        };
    }

    private static double or(Double given, double otherwise) {
        return given != null ? given : otherwise;
    }

    SampleSettings settings(long eot) {
        return new SampleSettings(cfgScale, temperature, Remasking.parse(remasking), eosLogitOff, eosConfidenceOff,
                eot, seed, topP != null ? topP : 1, topK != null ? topK : 0);
    }
}

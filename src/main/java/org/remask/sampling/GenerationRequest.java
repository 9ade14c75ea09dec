package org.remask.sampling;

import java.util.Objects;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/**
 * One generation: the prompt, how long the answer is and how its blocks are scheduled and sampled.
 *
 * @param promptIds the prompt's token ids
 * @param genLength generated tokens, a multiple of blockLength
 * @param blockLength tokens per semi-autoregressive block (genLength for a single block)
 * @param cache which keys and values a block's later steps keep instead of recomputing
 * @param revision what a step does with the tokens its block already committed
 */
public record GenerationRequest(long[] promptIds, int genLength, int blockLength, Schedule schedule,
        SampleSettings sampling, CacheMode cache, Revision revision) {

    /** Without a cache: every step runs the whole sequence. */
    public GenerationRequest(long[] promptIds, int genLength, int blockLength, Schedule schedule,
            SampleSettings sampling) {
        this(promptIds, genLength, blockLength, schedule, sampling, CacheMode.NONE);
    }

    /** Without revision: committed tokens stay. */
    public GenerationRequest(long[] promptIds, int genLength, int blockLength, Schedule schedule,
            SampleSettings sampling, CacheMode cache) {
        this(promptIds, genLength, blockLength, schedule, sampling, cache, Revision.NONE);
    }

    public GenerationRequest {
        Objects.requireNonNull(promptIds, "prompt ids are required");
        Objects.requireNonNull(cache, "a cache mode is required");
        Objects.requireNonNull(schedule, "a schedule is required");
        Objects.requireNonNull(sampling, "sample settings are required");
        Objects.requireNonNull(revision, "a revision rule is required");
        promptIds = promptIds.clone();
        if (genLength < 1) {
            throw new IllegalArgumentException("--gen-length must be at least 1, not " + genLength);
        }
        if (blockLength < 1) {
            throw new IllegalArgumentException("--block-length must be at least 1, not " + blockLength);
        }
        if (genLength % blockLength != 0) {
            throw new IllegalArgumentException("--gen-length " + genLength + " is not a multiple of --block-length "
                    + blockLength);
        }
        schedule.validate(genLength, blockLength);
        if ((schedule instanceof ThresholdSchedule || schedule instanceof Llada2Schedule)
                && (sampling.remasking() == Remasking.ENTROPY || sampling.remasking() == Remasking.RANDOM)) {
            throw new IllegalArgumentException("--schedule " + schedule.describe().split(" ")[0] + " compares a"
                    + " probability with the threshold: use --remasking low-confidence or margin, not "
                    + sampling.remasking().cliName());
        }
        if (sampling.remasking() == Remasking.ORIGIN && !(schedule instanceof DreamSchedule)) {
            throw new IllegalArgumentException("--remasking origin commits by the dream schedule's probabilities: use"
                    + " --schedule dream");
        }
        if (sampling.remasking() == Remasking.ORIGIN && revision != Revision.NONE) {
            throw new IllegalArgumentException("--remasking origin runs without revision, not --revise "
                    + revision.cliName());
        }
        if ((revision instanceof Revision.Rcr || revision instanceof Revision.RemdmConf)
                && sampling.remasking() == Remasking.RANDOM) {
            throw new IllegalArgumentException("--revise " + revision.cliName() + " ranks positions by their"
                    + " confidence: use --remasking low-confidence, margin or entropy, not random");
        }
        if (revision instanceof Revision.RemdmLoop && !(schedule instanceof LladaSchedule)) {
            throw new IllegalArgumentException("--remdm-strategy loop times its phases by llada's steps: use --schedule"
                    + " llada, not " + schedule.describe().split(" ")[0]);
        }
        if (revision instanceof Revision.Edit && sampling.remasking() != Remasking.LOW_CONFIDENCE) {
            throw new IllegalArgumentException("--revise edit compares probabilities with --edit-threshold: use"
                    + " --remasking low-confidence, not " + sampling.remasking().cliName());
        }
        if (revision instanceof Revision.Wino) {
            if (sampling.remasking() != Remasking.LOW_CONFIDENCE) {
                throw new IllegalArgumentException("--revise wino compares probabilities with its thresholds: use"
                        + " --remasking low-confidence, not " + sampling.remasking().cliName());
            }
            if (sampling.guided()) {
                throw new IllegalArgumentException("--revise wino runs without classifier-free guidance");
            }
            if (cache != CacheMode.NONE) {
                throw new IllegalArgumentException("--revise wino runs without a block cache, not --cache "
                        + cache.cliName());
            }
        }
    }

    /** A copy: the request stays as it was checked. */
    @Override
    public long[] promptIds() {
        return promptIds.clone();
    }

    public GenerationRequest withCache(CacheMode mode) {
        return new GenerationRequest(promptIds, genLength, blockLength, schedule, sampling, mode, revision);
    }

    public GenerationRequest withSchedule(Schedule other) {
        return new GenerationRequest(promptIds, genLength, blockLength, other, sampling, cache, revision);
    }

    public GenerationRequest withRevision(Revision other) {
        return new GenerationRequest(promptIds, genLength, blockLength, schedule, sampling, cache, other);
    }

    /** The same request with another noise seed (another sample of the same prompt). */
    public GenerationRequest withSeed(long seed) {
        return new GenerationRequest(promptIds, genLength, blockLength, schedule, sampling.withSeed(seed), cache,
                revision);
    }

    public int blockCount() {
        return genLength / blockLength;
    }

    public int totalLength() {
        return promptIds.length + genLength;
    }
}

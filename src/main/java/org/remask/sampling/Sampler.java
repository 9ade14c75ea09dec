package org.remask.sampling;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.remask.engine.Commits;
import org.remask.engine.Model;
import org.remask.engine.ModelInfo;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/**
 * Runs generations on one loaded model: per block, per step, one forward (LM head on the block's rows),
 * one fused sampling pass and one masked commit (or a revising one, which may take tokens back), all on
 * the device; Java decides only how many tokens each step commits. Thread-safe: each generation takes its
 * own workspace from a pool, so several threads may generate at once and later requests reuse the device
 * buffers of earlier ones.
 * Closing the sampler frees the pooled buffers; the model stays open and belongs to the caller.
 */
public final class Sampler implements AutoCloseable {
    private static final int IDLE_WORKSPACES_PER_SHAPE = 4;

    private final Model model;
    private final ModelInfo info;
    private final Map<Workspace.Shape, Queue<Workspace>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public Sampler(Model model) {
        this.model = model;
        this.info = model.info();
    }

    public Model model() {
        return model;
    }

    public Generation generate(GenerationRequest request) {
        return generate(request, null, null);
    }

    /**
     * @param listener called after every model call, or null
     * @param cancellation checked before every model call, or null; a cancelled generation (or one on an
     *     interrupted thread) throws {@link GenerationCancelledException} with what it had committed so far
     */
    public Generation generate(GenerationRequest request, StepListener listener, Cancellation cancellation) {
        return generate(request, listener, cancellation, null);
    }

    /** Dream's origin draws of a model call (one per block position), replayed from another engine; tests only. */
    interface OriginDraws {
        MemorySegment at(int nfe);
    }

    Generation generate(GenerationRequest request, StepListener listener, Cancellation cancellation,
            OriginDraws draws) {
        validate(request);
        long started = System.nanoTime();
        Workspace.Shape shape = new Workspace.Shape(request.sampling().guided() ? 2 : 1, layoutLength(request),
                request.blockLength(), request.revision() instanceof Revision.Wino);
        Workspace workspace = take(shape);
        boolean healthy = false;
        try {
            initialise(workspace, request);
            Progress progress = new Progress();
            if (info.family().blockCausal()) {
                runBlockCausal(workspace, request, listener, cancellation, progress, draws);
            } else {
                run(workspace, request, listener, cancellation, progress, draws);
            }
            Generation result = snapshot(workspace, request, progress, started);
            healthy = true;
            if (progress.cancelled) {
                throw new GenerationCancelledException(
                        "generation cancelled after " + progress.nfe + " model calls", result);
            }
            return result;
        } finally {
            if (healthy) {
                give(workspace);
            } else {
                workspace.close();
            }
        }
    }

    private static Generation snapshot(Workspace workspace, GenerationRequest request, Progress progress,
            long started) {
        long[] ids = workspace.tokens.read(request.promptIds().length, request.genLength());
        return new Generation(request.promptIds(), ids, progress.nfe, progress.forwardPositions,
                (System.nanoTime() - started) / 1e9);
    }

    private void validate(GenerationRequest request) {
        long[] prompt = request.promptIds();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= info.vocabSize()) {
                throw new IllegalArgumentException("prompt id " + prompt[i] + " at index " + i
                        + " is outside the vocabulary [0, " + info.vocabSize() + ")");
            }
            if (prompt[i] == info.maskTokenId()) {
                throw new IllegalArgumentException("prompt id at index " + i + " is the mask id " + info.maskTokenId());
            }
        }
        if (layoutLength(request) > info.maxSequenceLength()) {
            throw new IllegalArgumentException("prompt (" + prompt.length + ") plus gen length (" + request.genLength()
                    + ") is " + layoutLength(request) + " tokens" + (info.family().blockCausal() ? " in whole blocks"
                    : "") + ", over the model's maximum of " + info.maxSequenceLength());
        }
        if (info.family().blockCausal()) {
            String family = info.family().architecture();
            if (!(request.schedule() instanceof Llada2Schedule)) {
                throw new IllegalArgumentException(family + " generates block-causally by its own schedule: use"
                        + " --schedule llada2, not " + request.schedule().describe().split(" ")[0]);
            }
            if (request.revision() != Revision.NONE || request.sampling().guided()) {
                throw new IllegalArgumentException(family + " runs without revision and classifier-free guidance");
            }
        }
        long eot = request.sampling().eotId();
        if (eot < -1 || eot >= info.vocabSize()) {
            throw new IllegalArgumentException("EoT id " + eot + " is outside the vocabulary");
        }
    }

    /**
     * The sequence's length: prompt and answer, which LLaDA2's layout pads to whole blocks counted from the
     * sequence's start (the padding is generated too, and dropped).
     */
    private int layoutLength(GenerationRequest request) {
        int b = request.blockLength();
        return info.family().blockCausal() ? (request.totalLength() + b - 1) / b * b : request.totalLength();
    }

    /** Row 0: prompt then masks. With guidance, row 1 is the unconditional copy: all masks. */
    private void initialise(Workspace workspace, GenerationRequest request) {
        long[] row = new long[workspace.shape.length()];
        Arrays.fill(row, info.maskTokenId());
        if (request.sampling().guided()) {
            workspace.tokens.write(row.length, row);
        }
        System.arraycopy(request.promptIds(), 0, row, 0, request.promptIds().length);
        workspace.tokens.write(0, row);
    }

    /** How far a generation got. */
    private static final class Progress {
        int nfe;
        long forwardPositions;
        boolean cancelled;
    }

    private void run(Workspace w, GenerationRequest request, StepListener listener, Cancellation cancellation,
            Progress progress, OriginDraws draws) {
        int promptLength = request.promptIds().length;
        int blockLength = request.blockLength();
        int blocks = request.blockCount();
        Schedule schedule = request.schedule();
        int stepsPerBlock = schedule instanceof LladaSchedule llada ? llada.steps() / blocks : 0; // remdm loop's grid
        for (int block = 0; block < blocks; block++) {
            int begin = promptLength + block * blockLength;
            int end = begin + blockLength;
            int remaining = blockLength;
            int lastDraft = Revision.Wino.FIRST_LAST_ACCEPT;
            for (int step = 0; remaining > 0; step++) {
                if ((cancellation != null && cancellation.isCancelled()) || Thread.currentThread().isInterrupted()) {
                    progress.cancelled = true;
                    return;
                }
                int added;
                if (request.revision() instanceof Revision.Wino wino) {
                    model.forwardShadow(w.tokens, begin, end, w.logits);
                    progress.forwardPositions += w.shape.length() + blockLength;
                    w.logits.sample(blockLength, request.sampling(), progress.nfe, w.samples);
                    double narrow = step < blockLength ? wino.narrow() : 0; // then the block can only progress
                    lastDraft = w.tokens.commitWino(w.samples, w.logits, begin, end, wino.wide(), narrow, lastDraft,
                            w.commits);
                    added = lastDraft - w.commits.remaskedCount();
                } else {
                    int k = request.revision() instanceof Revision.RemdmLoop loop
                            ? loop.commits(step, remaining, blockLength, stepsPerBlock)
                            : schedule.commits(step, remaining, blockLength, blocks);
                    progress.forwardPositions += forward(w, request.cache(), step == 0, begin, end);
                    added = sampleAndCommit(w, request, step, k, stepsPerBlock, begin, end, progress.nfe, draws);
                    if (added < 1 && !schedule.mayCommitNothing() && !(request.revision() instanceof Revision.RemdmLoop)) {
                        throw new IllegalStateException("step " + step + " of block " + block + " committed nothing");
                    }
                }
                remaining -= added;
                if (listener != null) {
                    listener.onStep(event(progress.nfe, block, promptLength, w.commits));
                }
                progress.nfe++;
            }
        }
    }

    /**
     * LLaDA2's generate: blocks of the block length from the sequence's start (the prompt's last block is the
     * first generated), each seeing itself and the blocks before it; a block's steps end when it holds no mask;
     * the generation stops after a block that committed EOS, and what it did not reach reads as EOS.
     */
    private void runBlockCausal(Workspace w, GenerationRequest request, StepListener listener,
            Cancellation cancellation, Progress progress, OriginDraws draws) {
        int promptLength = request.promptIds().length;
        int blockLength = request.blockLength();
        int first = promptLength / blockLength;
        int blocks = w.shape.length() / blockLength;
        long eos = info.eosTokenId();
        for (int block = first; block < blocks; block++) {
            int begin = block * blockLength;
            int end = begin + blockLength;
            int remaining = end - Math.max(begin, promptLength);
            boolean ended = false;
            for (int step = 0; remaining > 0; step++) {
                if ((cancellation != null && cancellation.isCancelled()) || Thread.currentThread().isInterrupted()) {
                    progress.cancelled = true;
                    return;
                }
                int k = request.schedule().commits(step, remaining, blockLength, blocks - first);
                // With a cache (exact here: nothing before a block sees it), the first block's first step fills it,
                // a later block's first step recomputes the block before it (final now) and its own, other steps
                // only their block.
                int from = 0;
                if (request.cache() != CacheMode.NONE) {
                    from = step > 0 ? begin : block == first ? 0 : begin - blockLength;
                }
                model.forwardBlocks(w.tokens, request.cache() == CacheMode.NONE ? null : w.cache(model), blockLength,
                        from, end, begin, end, w.logits);
                progress.forwardPositions += end - from;
                remaining -= sampleAndCommit(w, request, step, k, 0, begin, end, progress.nfe, draws);
                for (int i = 0; i < w.commits.count(); i++) {
                    ended |= w.commits.token(i) == eos;
                }
                if (listener != null) {
                    listener.onStep(event(progress.nfe, block - first, promptLength, w.commits));
                }
                progress.nfe++;
            }
            if (ended && end < request.totalLength()) {
                long[] rest = new long[request.totalLength() - end];
                Arrays.fill(rest, eos);
                w.tokens.write(end, rest);
                return;
            }
        }
    }

    /**
     * One step after its forward: truncation, the sampling pass and the commit its rules ask for. Returns the net
     * number of tokens added.
     */
    private static int sampleAndCommit(Workspace w, GenerationRequest request, int step, int k, int stepsPerBlock,
            int begin, int end, int nfe, OriginDraws draws) {
        SampleSettings sampling = request.sampling();
        int rows = end - begin;
        if (sampling.truncates()) {
            w.logits.truncate(rows, sampling.topP(), sampling.topK());
        }
        w.logits.sample(rows, sampling, nfe, w.samples);
        double threshold = request.schedule().threshold();
        long seed = sampling.seed();
        if (request.schedule() instanceof DreamSchedule dream && dream.algTemp() > 0
                && sampling.remasking() != Remasking.ORIGIN) {
            w.samples.gumbel(rows, dream.algTemp(), seed, nfe);
        }
        if (sampling.remasking() == Remasking.ORIGIN) {
            float transfer = ((DreamSchedule) request.schedule()).transfer(step);
            return w.tokens.commitOrigin(w.samples, begin, end, transfer, seed, nfe,
                    draws == null ? MemorySegment.NULL : draws.at(nfe), w.commits);
        }
        return switch (request.revision()) {
            case Revision.Rcr rcr -> w.tokens.commitRunning(w.samples, begin, end, k, threshold, w.commits);
            case Revision.RemdmConf conf -> w.tokens.commitRemdm(w.samples, begin, end, k, threshold, true,
                    conf.sigmaMax(), seed, nfe, w.commits);
            case Revision.RemdmLoop loop -> w.tokens.commitRemdm(w.samples, begin, end, k, threshold, false,
                    loop.sigma(step, stepsPerBlock), seed, nfe, w.commits);
            default -> w.tokens.commit(w.samples, begin, end, k, threshold, w.commits);
        };
    }

    /**
     * The step's forward, LM head on the block's rows; returns the positions it computed. With a cache, a
     * block's first step runs every position and keeps their keys and values; later steps run from the
     * block's start to the end of the sequence (prefix) or of the block (dual).
     */
    private int forward(Workspace w, CacheMode mode, boolean blockStart, int begin, int end) {
        int length = w.shape.length();
        if (mode == CacheMode.NONE) {
            model.forward(w.tokens, begin, end, w.logits);
            return length;
        }
        int from = blockStart ? 0 : begin;
        int to = blockStart || mode == CacheMode.PREFIX ? length : end;
        model.forward(w.tokens, w.cache(model), from, to, begin, end, w.logits);
        return to - from;
    }

    private static StepEvent event(int nfe, int block, int promptLength, Commits commits) {
        int count = commits.count();
        int[] positions = new int[count];
        long[] tokens = new long[count];
        for (int i = 0; i < count; i++) {
            positions[i] = (int) (commits.position(i) - promptLength);
            tokens[i] = commits.token(i);
        }
        int[] remasked = new int[commits.remaskedCount()];
        for (int i = 0; i < remasked.length; i++) {
            remasked[i] = (int) (commits.remasked(i) - promptLength);
        }
        return new StepEvent(nfe, block, positions, tokens, remasked);
    }

    private Workspace take(Workspace.Shape shape) {
        if (closed) {
            throw new IllegalStateException("sampler is closed");
        }
        Queue<Workspace> queue = idle.get(shape);
        Workspace workspace = queue == null ? null : queue.poll();
        return workspace != null ? workspace : new Workspace(model, shape);
    }

    private void give(Workspace workspace) {
        Queue<Workspace> queue = idle.computeIfAbsent(workspace.shape, s -> new ConcurrentLinkedQueue<>());
        if (closed || queue.size() >= IDLE_WORKSPACES_PER_SHAPE) {
            workspace.close();
            return;
        }
        queue.add(workspace);
        if (closed && queue.remove(workspace)) {
            workspace.close();
        }
    }

    /** Block caches made by the idle workspaces, in all: tests check that one cache serves many generations. */
    int idleCacheAllocations() {
        return idle.values().stream().flatMap(Queue::stream).mapToInt(w -> w.cacheAllocations).sum();
    }

    /** Frees the pooled buffers; generations still running free their own when they end. */
    @Override
    public void close() {
        closed = true;
        for (Queue<Workspace> queue : idle.values()) {
            for (Workspace w; (w = queue.poll()) != null; ) {
                w.close();
            }
        }
    }
}

package org.remask.sampling;

import java.util.Arrays;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.remask.engine.Commits;
import org.remask.engine.Model;
import org.remask.engine.ModelInfo;

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
        validate(request);
        long started = System.nanoTime();
        Workspace.Shape shape = new Workspace.Shape(request.sampling().guided() ? 2 : 1, request.totalLength(),
                request.blockLength(), request.revision() instanceof Revision.Wino);
        Workspace workspace = take(shape);
        boolean healthy = false;
        try {
            initialise(workspace, request);
            Progress progress = new Progress();
            run(workspace, request, listener, cancellation, progress);
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
        if (request.totalLength() > info.maxSequenceLength()) {
            throw new IllegalArgumentException("prompt (" + prompt.length + ") plus gen length (" + request.genLength()
                    + ") is " + request.totalLength() + " tokens, over the model's maximum of "
                    + info.maxSequenceLength());
        }
        long eot = request.sampling().eotId();
        if (eot < -1 || eot >= info.vocabSize()) {
            throw new IllegalArgumentException("EoT id " + eot + " is outside the vocabulary");
        }
    }

    /** Row 0: prompt then masks. With guidance, row 1 is the unconditional copy: all masks. */
    private void initialise(Workspace workspace, GenerationRequest request) {
        long[] row = new long[request.totalLength()];
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
            Progress progress) {
        int promptLength = request.promptIds().length;
        int blockLength = request.blockLength();
        int blocks = request.blockCount();
        Schedule schedule = request.schedule();
        double threshold = schedule.threshold();
        long seed = request.sampling().seed();
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
                    w.logits.sample(blockLength, request.sampling(), progress.nfe, w.samples);
                    added = switch (request.revision()) {
                        case Revision.Rcr rcr -> w.tokens.commitRunning(w.samples, begin, end, k, threshold, w.commits);
                        case Revision.RemdmConf conf -> w.tokens.commitRemdm(w.samples, begin, end, k, threshold, true,
                                conf.sigmaMax(), seed, progress.nfe, w.commits);
                        case Revision.RemdmLoop loop -> w.tokens.commitRemdm(w.samples, begin, end, k, threshold, false,
                                loop.sigma(step, stepsPerBlock), seed, progress.nfe, w.commits);
                        default -> w.tokens.commit(w.samples, begin, end, k, threshold, w.commits);
                    };
                    if (added < 1 && !(request.revision() instanceof Revision.RemdmLoop)) {
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

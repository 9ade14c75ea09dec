package org.remask.sampling;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.remask.engine.Commits;
import org.remask.engine.ForwardBatch;
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
        Run run = start(request, listener, cancellation, draws);
        try {
            while (run.step()) {
                // one model call each
            }
        } catch (RuntimeException | Error e) {
            run.abandon();
            throw e;
        }
        return run.finish();
    }

    /** A generation that runs one model call at a time, on whichever thread calls {@link Run#step}. */
    Run start(GenerationRequest request, StepListener listener, Cancellation cancellation, OriginDraws draws) {
        check(request);
        Workspace.Shape shape = new Workspace.Shape(request.sampling().guided() ? 2 : 1, layoutLength(request),
                request.blockLength(), request.revision() instanceof Revision.Wino);
        Workspace workspace = take(shape);
        try {
            initialise(workspace, request);
        } catch (RuntimeException e) {
            workspace.close();
            throw e;
        }
        return new Run(workspace, request, listener, cancellation, draws);
    }

    /**
     * One generation's place in its block loop. {@link #step} runs the next model call (per block, per step:
     * one forward, one sampling pass, one commit); {@link #finish} returns the workspace and the answer.
     */
    final class Run {
        private final Workspace w;
        private final GenerationRequest request;
        private final StepListener listener;
        private final Cancellation cancellation;
        private final OriginDraws draws;
        private final long started = System.nanoTime();
        private final int promptLength;
        private final int blockLength;
        // LLaDA2 generates blocks counted from the sequence's start, the prompt's last block first.
        private final int firstBlock;
        private final int lastBlock;
        private final int stepsPerBlock; // remdm loop's grid
        private int block;
        private int step;
        private int remaining;
        private int lastDraft;
        private int editSteps;       // edit: the block's model calls after its last mask was filled
        private boolean editsDone;   // edit: the block's last such call changed nothing
        private boolean ended;       // LLaDA2: a block committed EOS
        private boolean done;
        private boolean cancelled;
        private int nfe;
        private long forwardPositions;

        private Run(Workspace w, GenerationRequest request, StepListener listener, Cancellation cancellation,
                OriginDraws draws) {
            this.w = w;
            this.request = request;
            this.listener = listener;
            this.cancellation = cancellation;
            this.draws = draws;
            this.promptLength = request.promptIds().length;
            this.blockLength = request.blockLength();
            boolean blockCausal = info.family().blockCausal();
            this.firstBlock = blockCausal ? promptLength / blockLength : 0;
            this.lastBlock = blockCausal ? w.shape.length() / blockLength : request.blockCount();
            this.stepsPerBlock = request.schedule() instanceof LladaSchedule llada
                    ? llada.steps() / request.blockCount() : 0;
            enterBlock(firstBlock);
        }

        private int begin() {
            return info.family().blockCausal() ? block * blockLength : promptLength + block * blockLength;
        }

        private void enterBlock(int next) {
            block = next;
            step = 0;
            ended = false;
            lastDraft = Revision.Wino.FIRST_LAST_ACCEPT;
            editSteps = 0;
            editsDone = false;
            remaining = info.family().blockCausal() ? begin() + blockLength - Math.max(begin(), promptLength)
                    : blockLength;
        }

        /** Runs the next model call; false once the generation has ended (finished or cancelled). */
        boolean step() {
            if (!next()) {
                return false;
            }
            if (info.family().blockCausal()) {
                stepBlockCausal();
            } else {
                stepBidirectional();
            }
            step++;
            nfe++;
            return true;
        }

        /**
         * Whether a model call is due: moves to the next block where this one is done, and ends the generation
         * (false) when none is left or it was cancelled.
         */
        boolean next() {
            while (!done && remaining <= 0 && !editDue()) {
                if (info.family().blockCausal() && ended && begin() + blockLength < request.totalLength()) {
                    // What LLaDA2 did not reach after a block that committed EOS reads as EOS.
                    long[] rest = new long[request.totalLength() - begin() - blockLength];
                    Arrays.fill(rest, info.eosTokenId());
                    w.tokens.write(begin() + blockLength, rest);
                    done = true;
                } else if (block + 1 >= lastBlock) {
                    done = true;
                } else {
                    enterBlock(block + 1);
                }
            }
            if (done) {
                return false;
            }
            if ((cancellation != null && cancellation.isCancelled()) || Thread.currentThread().isInterrupted()) {
                cancelled = true;
                done = true;
                return false;
            }
            return true;
        }

        /** Whether a filled block takes another model call that only edits (--revise edit). */
        private boolean editDue() {
            return request.revision() instanceof Revision.Edit edit && editSteps < edit.steps() && !editsDone;
        }

        /**
         * Whether the due model call's forward can run beside other generations' in
         * {@link Model#forward(ForwardBatch)}: a bidirectional one (not block-causal) without wino's shadow block.
         */
        boolean batchable() {
            return !info.family().blockCausal() && !(request.revision() instanceof Revision.Wino);
        }

        /** Adds the due model call's forward to batch ({@link #batchable} ones only). */
        void addForward(ForwardBatch batch) {
            int begin = begin();
            if (request.cache() == CacheMode.NONE) {
                batch.add(w.tokens, begin, begin + blockLength, w.logits);
            } else {
                batch.add(w.tokens, w.cache(model), from(), to(), begin, begin + blockLength, w.logits);
            }
        }

        /** The rest of the due model call, after its forward ran in a batch. */
        void stepAfterBatchedForward() {
            forwardPositions += to() - from();
            commitAfterForward();
            step++;
            nfe++;
        }

        /**
         * The positions the due forward computes: every one, or with a cache after a block's first step (which
         * fills it) the block's on to the end (prefix) or the block alone (dual).
         */
        private int from() {
            return request.cache() == CacheMode.NONE || step == 0 ? 0 : begin();
        }

        private int to() {
            return request.cache() == CacheMode.DUAL && step > 0 ? begin() + blockLength : w.shape.length();
        }

        /** The due forward on its own, LM head on the block's rows. */
        private void forward() {
            int begin = begin();
            if (request.cache() == CacheMode.NONE) {
                model.forward(w.tokens, begin, begin + blockLength, w.logits);
            } else {
                model.forward(w.tokens, w.cache(model), from(), to(), begin, begin + blockLength, w.logits);
            }
            forwardPositions += to() - from();
        }

        private void stepBidirectional() {
            int begin = begin();
            int end = begin + blockLength;
            if (request.revision() instanceof Revision.Wino wino) {
                model.forwardShadow(w.tokens, begin, end, w.logits);
                forwardPositions += w.shape.length() + blockLength;
                w.logits.sample(blockLength, request.sampling(), nfe, w.samples);
                double narrow = step < blockLength ? wino.narrow() : 0; // then the block can only progress
                lastDraft = w.tokens.commitWino(w.samples, w.logits, begin, end, wino.wide(), narrow, lastDraft,
                        w.commits);
                remaining -= lastDraft - w.commits.remaskedCount();
                if (listener != null) {
                    listener.onStep(event(nfe, block, promptLength, w.commits));
                }
            } else {
                forward();
                commitAfterForward();
            }
        }

        /** A bidirectional step after its forward: the sampling pass and the commit its schedule and rule ask for. */
        private void commitAfterForward() {
            int begin = begin();
            Schedule schedule = request.schedule();
            boolean editOnly = remaining <= 0; // a filled block's edit step
            int k = editOnly ? 0 : request.revision() instanceof Revision.RemdmLoop loop
                    ? loop.commits(step, remaining, blockLength, stepsPerBlock)
                    : schedule.commits(step, remaining, blockLength, request.blockCount());
            int added = sampleAndCommit(w, request, step, k, stepsPerBlock, begin, begin + blockLength, nfe, draws,
                    editOnly);
            if (editOnly) {
                editSteps++;
                editsDone = w.commits.editedCount() == 0;
            } else if (added < 1 && !schedule.mayCommitNothing()
                    && !(request.revision() instanceof Revision.RemdmLoop)) {
                throw new IllegalStateException("step " + step + " of block " + block + " committed nothing");
            }
            remaining -= added;
            if (listener != null) {
                listener.onStep(event(nfe, block, promptLength, w.commits));
            }
        }

        /**
         * LLaDA2's step: each block sees itself and the blocks before it; a block's steps end when it holds no
         * mask; the generation stops after a block that committed EOS.
         */
        private void stepBlockCausal() {
            int begin = begin();
            int end = begin + blockLength;
            int k = request.schedule().commits(step, remaining, blockLength, lastBlock - firstBlock);
            // With a cache (exact here: nothing before a block sees it), the first block's first step fills it, a
            // later block's first step recomputes the block before it (final now) and its own, other steps only
            // their block.
            int from = 0;
            if (request.cache() != CacheMode.NONE) {
                from = step > 0 ? begin : block == firstBlock ? 0 : begin - blockLength;
            }
            model.forwardBlocks(w.tokens, request.cache() == CacheMode.NONE ? null : w.cache(model), blockLength,
                    from, end, begin, end, w.logits);
            forwardPositions += end - from;
            remaining -= sampleAndCommit(w, request, step, k, 0, begin, end, nfe, draws, false);
            for (int i = 0; i < w.commits.count(); i++) {
                ended |= w.commits.token(i) == info.eosTokenId();
            }
            if (listener != null) {
                listener.onStep(event(nfe, block - firstBlock, promptLength, w.commits));
            }
        }

        /** Stops the generation before its next model call, as its Cancellation would. */
        void cancel() {
            if (!done) {
                cancelled = true;
                done = true;
            }
        }

        /**
         * Ends a generation whose {@link #step} returned false (or that was cancelled): returns its workspace to the
         * pool and gives its answer, or throws {@link GenerationCancelledException} with what it had committed.
         */
        Generation finish() {
            if (!done) {
                throw new IllegalStateException("the generation has steps left");
            }
            Generation result;
            try {
                long[] ids = w.tokens.read(promptLength, request.genLength());
                result = new Generation(request.promptIds(), ids, nfe, forwardPositions,
                        (System.nanoTime() - started) / 1e9);
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
            give(w);
            if (cancelled) {
                throw new GenerationCancelledException("generation cancelled after " + nfe + " model calls", result);
            }
            return result;
        }

        /** Ends a generation that will not be stepped again (a step failed): frees its workspace, whatever it holds. */
        void abandon() {
            w.close();
        }
    }

    /**
     * Checks that the model can run the request (prompt ids in its vocabulary, the sequence within its length, a
     * schedule its family runs) before anything is allocated; {@link #generate} checks the same.
     *
     * @throws IllegalArgumentException saying what does not fit
     */
    public void check(GenerationRequest request) {
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

    /**
     * One step after its forward: truncation, the sampling pass and the commit its rules ask for (editOnly: a filled
     * block's step that only edits). Returns the net number of tokens added.
     */
    private static int sampleAndCommit(Workspace w, GenerationRequest request, int step, int k, int stepsPerBlock,
            int begin, int end, int nfe, OriginDraws draws, boolean editOnly) {
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
            case Revision.Edit edit -> w.tokens.commitEdit(w.samples, begin, end, k,
                    editOnly ? Double.POSITIVE_INFINITY : threshold, edit.threshold(), w.commits);
            default -> w.tokens.commit(w.samples, begin, end, k, threshold, w.commits);
        };
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
        int[] edited = new int[commits.editedCount()];
        for (int i = 0; i < edited.length; i++) {
            edited[i] = (int) (commits.edited(i) - promptLength);
        }
        return new StepEvent(nfe, block, positions, tokens, remasked, edited);
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

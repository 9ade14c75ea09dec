package org.remask.bench;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.remask.engine.Commits;
import org.remask.engine.LogitsBuffer;
import org.remask.engine.Model;
import org.remask.engine.SampleSettings;
import org.remask.engine.Samples;
import org.remask.engine.TokenBuffer;
import org.remask.sampling.Cancellation;
import org.remask.sampling.Schedule;
import org.remask.sampling.ScheduleKind;

/**
 * The parts of one sampling step, each on its own, as Sampler runs them: prompt 32 + gen 256 tokens in one
 * row, the first block (positions 32..63, block length 32) being decoded. The model is a random checkpoint of the
 * {@code family} parameter's layout (LLaDA by default; see {@link Step#family}).
 *
 * <ul>
 *   <li>{@link #forward}: Model.forward over all 288 positions, LM head on the 32 block rows only;
 *   <li>{@link #sample}: the fused sampling pass (greedy, low-confidence) over the 32 logits rows;
 *   <li>the masked top-k commit (k = 4): {@link #commitBlock} (a block's 8 commits after one re-mask)
 *       minus {@link #remask} / 8, cross-checked by {@link #commitRemaskedPerInvocation};
 *   <li>{@link #javaStep}: the Java side of a step with no native call at all;
 *   <li>what the revision rules add: {@link #forwardShadow} (wino's forward, the 32-position shadow block
 *       appended, LM head on 64 rows) against {@link #forward}, and the revising commits,
 *       {@link #commitRunningBlock} (rcr), {@link #commitRemdmBlock} (remdm conf) and {@link #commitWinoBlock}
 *       (wino's draft and verify, with the shadow's probabilities) against {@link #commitBlock}.
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class StepBench {
    static final int PROMPT = 32;
    static final int GEN = 256;
    static final int BLOCK = 32;
    static final int BLOCKS = GEN / BLOCK;
    /** 256 tokens over LLaDA's 64 steps: 4 per step. */
    static final int COMMIT_K = 4;
    static final int COMMITS_PER_BLOCK = BLOCK / COMMIT_K;
    static final int BEGIN = PROMPT;
    static final int END = PROMPT + BLOCK;

    /** One random model with the device buffers of one generation, shared by the native-side benchmarks. */
    @State(Scope.Benchmark)
    public static class Step {
        /**
         * llada, dream, lladamoe or llada2. LLaDA runs at dModel with heads of 64 and SwiGLU 3 dModel; the others run
         * their published model's shape (RandomCheckpoint.Family) with {@code layers} layers and {@code vocab}, so
         * dModel must be their real width (3584 for dream, 2048 for the MoEs), and vocab is best their real one
         * (152064, 157184). LLaDA2's forward is its block-causal one (blocks of 32, no cache). Dream has no WINO
         * shadow (its rows are shifted): forwardShadow and commitWinoBlock fail on it.
         */
        @Param("llada")
        public String family;

        @Param("512")
        public int dModel;

        @Param("2")
        public int layers;

        @Param("32000")
        public int vocab;

        /** "cpu", or "cuda" with a CUDA build (then forward and sample time launches, see README). */
        @Param("cpu")
        public String device;

        /**
         * The compute dtype (and the checkpoint's). bfloat16 by default: on this machine oneDNN's AVX-512 BF16
         * kernels make it about 7x faster than float32 through OpenBLAS (without OpenBLAS, Debian's libtorch falls back
         * to the reference BLAS at about 2.4 GFLOP/s); -p dtype=float32 measures the fp32 path.
         */
        @Param("bfloat16")
        public String dtype;

        BenchSupport.Loaded loaded;
        Model model;
        boolean blockCausal;
        TokenBuffer tokens;
        LogitsBuffer logits;
        /** The block's and the shadow's rows of one wino forward (64). */
        LogitsBuffer shadowLogits;
        Samples samples;
        Commits commits;
        long[] masks;
        long step;
        final SampleSettings settings = SampleSettings.GREEDY;
        private final BenchSupport.CpuMeter cpu = new BenchSupport.CpuMeter();

        @Setup(Level.Trial)
        public void setUp(BenchmarkParams params) throws Exception {
            loaded = BenchSupport.randomModel(BenchSupport.spec(family, dModel, layers, vocab), device, dtype);
            model = loaded.model();
            blockCausal = model.info().family().blockCausal();
            long mask = model.info().maskTokenId();
            tokens = model.newTokens(1, PROMPT + GEN);
            long[] row = new long[PROMPT + GEN];
            Arrays.fill(row, mask);
            System.arraycopy(BenchSupport.prompt(PROMPT, vocab, mask, model.info().eosTokenId(), 7), 0, row, 0, PROMPT);
            tokens.write(0, row);
            logits = model.newLogits(BLOCK);
            shadowLogits = model.newLogits(2 * BLOCK);
            samples = model.newSamples(BLOCK);
            commits = new Commits(BLOCK);
            masks = new long[BLOCK];
            Arrays.fill(masks, mask);
            // Real logits and samples for the block, so sample and commit work on what a step would see.
            forward();
            logits.sample(BLOCK, settings, 0, samples);
            int committed = tokens.commit(samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, commits);
            if (committed != COMMIT_K) {
                throw new IllegalStateException("the commit committed " + committed + ", not " + COMMIT_K);
            }
            tokens.write(BEGIN, masks);
            int filled = 0;
            for (int i = 0; i < COMMITS_PER_BLOCK; i++) {
                filled += tokens.commit(samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, commits);
            }
            if (filled != BLOCK) {
                throw new IllegalStateException(COMMITS_PER_BLOCK + " commits filled " + filled + " of " + BLOCK);
            }
            tokens.write(BEGIN, masks);
            // Only WINO's benchmarks read the shadow's rows (and Dream, whose rows are shifted, has none).
            String benchmark = params.getBenchmark();
            if (benchmark.endsWith(".forwardShadow") || benchmark.endsWith(".commitWinoBlock")) {
                model.forwardShadow(tokens, BEGIN, END, shadowLogits);
            }
        }

        /**
         * The step's forward: all 288 positions, LM head on the block's 32 rows; LLaDA2's block-causal (each block of 32
         * sees itself and the blocks before it), without a cache, as its generation runs one.
         */
        void forward() {
            if (blockCausal) {
                model.forwardBlocks(tokens, null, BLOCK, 0, PROMPT + GEN, BEGIN, END, logits);
            } else {
                model.forward(tokens, BEGIN, END, logits);
            }
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            cpu.start();
        }

        @TearDown(Level.Iteration)
        public void endIteration() {
            cpu.stop();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            System.out.print(cpu.report("this benchmark"));
            commits.close();
            samples.close();
            shadowLogits.close();
            logits.close();
            tokens.close();
            loaded.close();
        }
    }

    /** Re-masks the block before every invocation, outside the measured time (JMH Level.Invocation). */
    @State(Scope.Thread)
    public static class Remasked {
        @Setup(Level.Invocation)
        public void remask(Step s) {
            s.tokens.write(BEGIN, s.masks);
        }
    }

    /** The schedule for the Java-side benchmark: gen 256, block 32, 8 steps a block either way. */
    @State(Scope.Thread)
    public static class Bookkeeping {
        /** llada: 64 steps, 4 tokens a step; pyramid: factor 1, 1..7 then the last 4 (ScheduleKind names them). */
        @Param({"llada", "pyramid"})
        public String schedule;

        Schedule plan;
        final Cancellation cancellation = new Cancellation();

        @Setup(Level.Trial)
        public void setUp() {
            plan = ScheduleKind.parse(schedule).make(schedule.equals("llada") ? "64" : "1");
            plan.validate(GEN, BLOCK);
            int steps = javaSideOfGeneration(this);
            if (steps != STEPS_PER_GENERATION) {
                throw new IllegalStateException(schedule + " takes " + steps + " steps, not " + STEPS_PER_GENERATION);
            }
        }
    }

    static final int STEPS_PER_GENERATION = 64;

    /** Model.forward on the whole 288-token row, LM head on the 32 rows of the block (LLaDA2: forwardBlocks). */
    @Benchmark
    public void forward(Step s) {
        s.forward();
    }

    /** LogitsBuffer.sample over the 32 rows (vocab-wide softmax, argmax and confidence per row). */
    @Benchmark
    public void sample(Step s) {
        s.logits.sample(BLOCK, s.settings, s.step++, s.samples);
    }

    /**
     * The write-only baseline: TokenBuffer.write of 32 mask ids over the block (host array to a confined
     * arena, one native call, a copy into the device tensor with a vocabulary check).
     */
    @Benchmark
    public void remask(Step s) {
        s.tokens.write(BEGIN, s.masks);
    }

    /**
     * The commits of one whole block as LLaDA's schedule (gen 256, 64 steps) makes them: re-mask the 32
     * positions, then 8 commits of k = 4, which see 32, 28, ..., 4 masked positions in turn, exactly as the
     * steps of a block do (the samples stay fixed, so each commit takes the next 4 most confident). A commit
     * needs masked positions and fills some, so the block must be restored every 8 commits: the score, per
     * commit, is commit + remask / 8, and the commit's own cost is this minus {@link #remask} / 8.
     */
    @Benchmark
    @OperationsPerInvocation(COMMITS_PER_BLOCK)
    public int commitBlock(Step s) {
        s.tokens.write(BEGIN, s.masks);
        int committed = 0;
        for (int i = 0; i < COMMITS_PER_BLOCK; i++) {
            committed += s.tokens.commit(s.samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, s.commits);
        }
        return committed;
    }

    /** wino's forward: the row with the block's shadow appended (320 positions), LM head on 64 rows. */
    @Benchmark
    public void forwardShadow(Step s) {
        s.model.forwardShadow(s.tokens, BEGIN, END, s.shadowLogits);
    }

    /** {@link #commitBlock} with rcr's revising commit (running confidences, re-masks). */
    @Benchmark
    @OperationsPerInvocation(COMMITS_PER_BLOCK)
    public int commitRunningBlock(Step s) {
        s.tokens.write(BEGIN, s.masks);
        int committed = 0;
        for (int i = 0; i < COMMITS_PER_BLOCK; i++) {
            committed += s.tokens.commitRunning(s.samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, s.commits);
        }
        return committed;
    }

    /** {@link #commitBlock} with remdm conf's revising commit (the draws, the softmax weights, re-masks). */
    @Benchmark
    @OperationsPerInvocation(COMMITS_PER_BLOCK)
    public int commitRemdmBlock(Step s) {
        s.tokens.write(BEGIN, s.masks);
        int committed = 0;
        for (int i = 0; i < COMMITS_PER_BLOCK; i++) {
            committed += s.tokens.commitRemdm(s.samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, true, 1.0, 0,
                    s.step++, s.commits);
        }
        return committed;
    }

    /**
     * {@link #commitBlock} with edit's commit: before the masked commit, a pass over the block's committed positions
     * that gives x0 to those predicted otherwise above the threshold (0: every one whose x0 differs).
     */
    @Benchmark
    @OperationsPerInvocation(COMMITS_PER_BLOCK)
    public int commitEditBlock(Step s) {
        s.tokens.write(BEGIN, s.masks);
        int committed = 0;
        for (int i = 0; i < COMMITS_PER_BLOCK; i++) {
            committed += s.tokens.commitEdit(s.samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, 0, s.commits);
        }
        return committed;
    }

    /**
     * {@link #commitBlock} with wino's step: the shadow rows' probabilities of the committed tokens (a pass over
     * their 32000 logits each), the draft and the verify, until the block is full; per step.
     */
    @Benchmark
    @OperationsPerInvocation(COMMITS_PER_BLOCK)
    public int commitWinoBlock(Step s) {
        s.tokens.write(BEGIN, s.masks);
        int committed = 0;
        for (int i = 0, last = 30; i < COMMITS_PER_BLOCK; i++) {
            last = s.tokens.commitWino(s.samples, s.shadowLogits, BEGIN, END, 0.99, 0.9, last, s.commits);
            committed += last - s.commits.remaskedCount();
        }
        return committed;
    }

    /**
     * The commit alone, the block re-masked by a Level.Invocation fixture outside the timed region. JMH
     * then timestamps every call (two System.nanoTime() reads), which is small beside
     * a commit of about a microsecond: a cross-check on the subtraction above. Every call here sees all 32
     * positions masked.
     */
    @Benchmark
    public int commitRemaskedPerInvocation(Step s, Remasked remasked) {
        return s.tokens.commit(s.samples, BEGIN, END, COMMIT_K, Double.POSITIVE_INFINITY, s.commits);
    }

    /**
     * The Java side of a step, no native call: Sampler.run's loop for a whole generation (cancellation and
     * interrupt checks, Schedule.commits, the bookkeeping), with the schedule's own count standing in for
     * what the commit returns; the score is per step (64 steps per invocation).
     */
    @Benchmark
    @OperationsPerInvocation(STEPS_PER_GENERATION)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int javaStep(Bookkeeping b) {
        return javaSideOfGeneration(b);
    }

    /** Sampler.run without the model: returns the number of steps (NFE). */
    static int javaSideOfGeneration(Bookkeeping b) {
        Schedule schedule = b.plan;
        double threshold = schedule.threshold();
        int nfe = 0;
        for (int block = 0; block < BLOCKS; block++) {
            int begin = PROMPT + block * BLOCK;
            int end = begin + BLOCK;
            int remaining = BLOCK;
            for (int step = 0; remaining > 0; step++) {
                if (b.cancellation.isCancelled() || Thread.currentThread().isInterrupted()) {
                    throw new IllegalStateException("cancelled");
                }
                int k = schedule.commits(step, remaining, BLOCK, BLOCKS);
                // Here Sampler calls forward(begin, end), sample and commit(begin, end, k, threshold).
                int committed = threshold < Double.POSITIVE_INFINITY ? Math.max(k, 1) : k;
                if (committed < 1 || end <= begin) {
                    throw new IllegalStateException("step " + step + " of block " + block + " committed nothing");
                }
                remaining -= committed;
                nfe++;
            }
        }
        return nfe;
    }
}

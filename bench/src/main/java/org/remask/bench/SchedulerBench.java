package org.remask.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.remask.engine.Model;
import org.remask.engine.SampleSettings;
import org.remask.sampling.CacheMode;
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.LladaSchedule;
import org.remask.sampling.Sampler;
import org.remask.sampling.StepScheduler;

/**
 * {@code requests} generations answered one after another through Sampler.generate ({@link #oneAfterAnother})
 * against the same requests submitted at once to a StepScheduler ({@link #scheduled}), whose rounds run the
 * requests' forwards as one batched forward. Each request: its own prompt of 32, gen 64, blocks of 32, LLaDA's
 * schedule with 32 steps (16 per block), greedy, the {@code cache} parameter's block cache. One operation answers
 * all of them; tokens per second are requests x 64 / the operation's time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Benchmark)
public class SchedulerBench {
    static final int PROMPT = 32;
    static final int GEN = 64;
    static final int BLOCK = 32;

    @Param({"1", "4", "8"})
    public int requests;

    /** none, prefix or dual. */
    @Param({"none", "dual"})
    public String cache;

    @Param("1024")
    public int dModel;

    @Param("2")
    public int layers;

    @Param("512")
    public int vocab;

    /** float32 by default: the fast path on a CPU without native bfloat16; -p dtype=bfloat16 where it has it. */
    @Param("float32")
    public String dtype;

    private BenchSupport.Loaded loaded;
    private Sampler sampler;
    private StepScheduler scheduler;
    private final List<GenerationRequest> batch = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        loaded = BenchSupport.randomModel(dModel, layers, Math.max(1, dModel / 64), vocab, "cpu", dtype);
        Model model = loaded.model();
        for (int i = 0; i < requests; i++) {
            long[] prompt = BenchSupport.prompt(PROMPT, vocab, model.info().maskTokenId(), model.info().eosTokenId(),
                    7 + i);
            batch.add(new GenerationRequest(prompt, GEN, BLOCK, new LladaSchedule(32), SampleSettings.GREEDY,
                    CacheMode.parse(cache)));
        }
        sampler = new Sampler(model);
        scheduler = new StepScheduler(sampler, Math.max(requests, 1));
        // Each answer equal to its one-after-another answer: the comparison is between equal work.
        for (int i = 0; i < requests; i++) {
            long[] alone = sampler.generate(batch.get(i)).ids();
            long[] together = scheduled().get(i).ids();
            if (!Arrays.equals(alone, together)) {
                throw new IllegalStateException("request " + i + ": the scheduled answer differs from generate's");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        scheduler.close();
        System.out.printf("%n[remask-bench] %d model calls in %d forwards%n", scheduler.modelCalls(),
                scheduler.forwards());
        sampler.close();
        loaded.close();
    }

    @Benchmark
    public List<Generation> oneAfterAnother() {
        List<Generation> out = new ArrayList<>(requests);
        for (GenerationRequest r : batch) {
            out.add(sampler.generate(r));
        }
        return out;
    }

    @Benchmark
    public List<Generation> scheduled() {
        List<CompletableFuture<Generation>> futures = new ArrayList<>(requests);
        for (GenerationRequest r : batch) {
            futures.add(scheduler.submit(r, null, null));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }
}

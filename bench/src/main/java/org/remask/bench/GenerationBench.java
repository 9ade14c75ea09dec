package org.remask.bench;

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
import org.remask.sampling.Generation;
import org.remask.sampling.GenerationRequest;
import org.remask.sampling.LladaSchedule;
import org.remask.sampling.PyramidSchedule;
import org.remask.sampling.Sampler;
import org.remask.sampling.Schedule;

/**
 * One whole generation through Sampler.generate: prompt 32, gen 64, block 32 (two blocks), greedy,
 * low-confidence. pyramid1 = PyramidSchedule(1): 8 steps a block, 16 NFE; llada64 = LladaSchedule(64):
 * 32 steps a block of one token each, 64 NFE. The sampler's pooled workspace is reused from the second
 * call on, as in a server.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Benchmark)
public class GenerationBench {
    static final int PROMPT = 32;
    static final int GEN = 64;
    static final int BLOCK = 32;

    @Param({"pyramid1", "llada64"})
    public String schedule;

    @Param("512")
    public int dModel;

    @Param("2")
    public int layers;

    @Param("32000")
    public int vocab;

    @Param("cpu")
    public String device;

    /**
     * The compute dtype (and the checkpoint's). bfloat16 by default: on this machine oneDNN's AVX-512 BF16
     * kernels make it about 7x faster than float32 through OpenBLAS (without OpenBLAS, Debian's libtorch falls back
     * to the reference BLAS at about 2.4 GFLOP/s); -p dtype=float32 measures the fp32 path.
     */
    @Param("bfloat16")
    public String dtype;

    private BenchSupport.Loaded loaded;
    private Sampler sampler;
    private GenerationRequest request;
    private int nfe;
    private final BenchSupport.CpuMeter cpu = new BenchSupport.CpuMeter();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        loaded = BenchSupport.randomModel(dModel, layers, Math.max(1, dModel / 64), vocab, device, dtype);
        Model model = loaded.model();
        Schedule plan = switch (schedule) {
            case "pyramid1" -> new PyramidSchedule(1);
            case "llada64" -> new LladaSchedule(64);
            default -> throw new IllegalArgumentException("schedule must be pyramid1 or llada64: " + schedule);
        };
        long[] prompt = BenchSupport.prompt(PROMPT, vocab, model.info().maskTokenId(), model.info().eosTokenId(), 7);
        request = new GenerationRequest(prompt, GEN, BLOCK, plan, SampleSettings.GREEDY);
        sampler = new Sampler(model);
        nfe = sampler.generate(request).nfe();
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
        System.out.printf("%n[remask-bench] %s: %d NFE per generation%n", schedule, nfe);
        System.out.print(cpu.report("this benchmark"));
        sampler.close();
        loaded.close();
    }

    @Benchmark
    public Generation generate() {
        return sampler.generate(request);
    }
}

package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/**
 * The step loop allocates nothing on the Java heap, with every revision rule: a generation of many model calls
 * allocates as much as one of few (the result, the request's buffers and the pooled workspace's lookup are per
 * generation, not per step).
 */
class SamplerAllocationTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 200, 250, 300};
    private static final int GEN = 32;
    /** Less than one object per extra step: the smallest Java object is 16 bytes. */
    private static final long SMALLEST_OBJECT = 16;

    private static Model model;
    private static Sampler sampler;

    @BeforeAll
    static void load() {
        model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
        sampler = new Sampler(model);
    }

    @AfterAll
    static void close() {
        sampler.close();
        model.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "rcr", "remdm-conf", "remdm-loop", "wino"})
    void aStepAllocatesNothing(String rule) {
        SampleSettings greedy = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 7);
        GenerationRequest many = new GenerationRequest(PROMPT, GEN, GEN, new LladaSchedule(GEN), greedy);
        GenerationRequest few = many.withSchedule(new LladaSchedule(4));
        switch (rule) {
            case "rcr" -> { many = many.withRevision(new Revision.Rcr()); few = few.withRevision(new Revision.Rcr()); }
            case "remdm-conf" -> {
                many = many.withRevision(new Revision.RemdmConf(1.0));
                few = few.withRevision(new Revision.RemdmConf(1.0));
            }
            case "remdm-loop" -> {
                Revision loop = new Revision.RemdmLoop(0.02, 0.55, 0.05, 0.9);
                many = many.withRevision(loop);
                few = few.withRevision(loop);
            }
            case "wino" -> {
                many = many.withRevision(new Revision.Wino(0.999, 0.9));
                few = few.withRevision(new Revision.Wino(1e-9, 1e-9)); // the tiny random model is never sure
            }
            default -> { }
        }
        int manySteps = sampler.generate(many).nfe();
        int fewSteps = sampler.generate(few).nfe();
        assertTrue(manySteps >= fewSteps + 8, rule + ": " + manySteps + " against " + fewSteps + " model calls");
        long extra = leastAllocated(many) - leastAllocated(few);
        assertTrue(extra < SMALLEST_OBJECT * (manySteps - fewSteps),
                rule + ": " + (manySteps - fewSteps) + " more steps allocated " + extra + " more bytes");
    }

    /** The fewest bytes this thread allocated over one generation, after the JIT has seen the loop. */
    private static long leastAllocated(GenerationRequest request) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 40; i++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            sampler.generate(request);
            least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
        }
        return least;
    }
}

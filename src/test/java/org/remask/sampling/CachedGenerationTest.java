package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/** Generation with Fast-dLLM's block caches on the tiny checkpoint: what each mode computes, and reuse. */
class CachedGenerationTest {
    private static final long[] PROMPT = {1, 17, 42, 99, 200, 250, 300};

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

    private static GenerationRequest request(Schedule schedule, SampleSettings settings, CacheMode mode) {
        return new GenerationRequest(PROMPT, 24, 8, schedule, settings, mode);
    }

    private static SampleSettings greedy() {
        return new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0);
    }

    @Test
    void eachModeComputesThePositionsItShould() {
        int length = PROMPT.length + 24;
        Schedule schedule = new LladaSchedule(12); // 4 steps per block of 8
        Generation none = sampler.generate(request(schedule, greedy(), CacheMode.NONE));
        assertEquals(12, none.nfe());
        assertEquals(12L * length, none.forwardPositions());
        assertEquals(12.0, none.fullEquivalentNfe(), 1e-12);

        // Per block: one full step, then 3 steps from the block's start to the end (prefix) or to its own end (dual).
        long prefix = 0, dual = 0;
        for (int block = 0; block < 3; block++) {
            int begin = PROMPT.length + 8 * block;
            prefix += length + 3L * (length - begin);
            dual += length + 3L * 8;
        }
        assertEquals(prefix, sampler.generate(request(schedule, greedy(), CacheMode.PREFIX)).forwardPositions());
        Generation cached = sampler.generate(request(schedule, greedy(), CacheMode.DUAL));
        assertEquals(dual, cached.forwardPositions());
        assertEquals(12, cached.nfe());
        assertEquals((double) dual / length, cached.fullEquivalentNfe(), 1e-12);
    }

    @Test
    void aBlocksFirstStepIsTheUncachedOne() {
        for (CacheMode mode : List.of(CacheMode.PREFIX, CacheMode.DUAL)) {
            List<StepEvent> plain = new ArrayList<>();
            List<StepEvent> cached = new ArrayList<>();
            Schedule schedule = new LladaSchedule(12);
            sampler.generate(request(schedule, greedy(), CacheMode.NONE), plain::add, null);
            sampler.generate(request(schedule, greedy(), mode), cached::add, null);
            assertArrayEquals(plain.get(0).positions(), cached.get(0).positions(), mode + ": first step");
            assertArrayEquals(plain.get(0).tokens(), cached.get(0).tokens(), mode + ": first step");
        }
    }

    @Test
    void everyScheduleRuleGuidanceAndTemperatureRunsCachedAndRepeats() {
        List<Schedule> schedules = List.of(new LladaSchedule(24), new PyramidSchedule(2), new ThresholdSchedule(0.5));
        for (CacheMode mode : List.of(CacheMode.PREFIX, CacheMode.DUAL)) {
            for (Schedule schedule : schedules) {
                for (Remasking rule : List.of(Remasking.LOW_CONFIDENCE, Remasking.MARGIN)) {
                    SampleSettings guided = new SampleSettings(1.5, 0.8, rule, false, false, -1, 7);
                    GenerationRequest r = request(schedule, guided, mode);
                    Generation first = sampler.generate(r);
                    assertFalse(Arrays.stream(first.ids()).anyMatch(id -> id == model.info().maskTokenId()));
                    assertArrayEquals(first.ids(), sampler.generate(r).ids(), mode + " " + schedule.describe());
                }
            }
            GenerationRequest random = request(new LladaSchedule(24),
                    new SampleSettings(0, 0.8, Remasking.RANDOM, false, false, -1, 3), mode);
            assertEquals(24, sampler.generate(random).ids().length);
        }
    }

    @Test
    void theCacheDiffersFromRecomputingAndIsMadeOncePerWorkspace() {
        try (Sampler fresh = new Sampler(model)) {
            GenerationRequest dual = request(new LladaSchedule(24), greedy(), CacheMode.DUAL);
            Generation first = fresh.generate(dual);
            fresh.generate(dual);
            fresh.generate(request(new PyramidSchedule(1), greedy(), CacheMode.PREFIX));
            assertEquals(1, fresh.idleCacheAllocations(), "one cache served three generations");
            fresh.generate(request(new LladaSchedule(24), greedy(), CacheMode.NONE));
            assertEquals(1, fresh.idleCacheAllocations());
            // The tiny random model is sensitive enough that the approximation shows in its answer.
            assertNotEquals(Arrays.toString(fresh.generate(request(new LladaSchedule(24), greedy(),
                    CacheMode.NONE)).ids()), Arrays.toString(first.ids()));
        }
    }

    @Test
    void aRequestNeedsACacheMode() {
        assertThrows(NullPointerException.class, () -> request(new LladaSchedule(24), greedy(), null));
        assertEquals(CacheMode.DUAL, CacheMode.parse("Dual"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CacheMode.parse("both"));
        assertEquals("unknown cache mode 'both' (use none, prefix, dual)", e.getMessage());
    }
}

package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/**
 * The sampler end to end on the tiny checkpoint: schedules, rules, noise, cancellation, threads, reuse, allocation,
 * bad input.
 */
class SamplerTest {
    private static final int V = 384;
    private static final long MASK = 336;
    private static final long[] PROMPT = {1, 17, 42, 99, 200, 250, 300};
    private static final long[] OTHER_PROMPT = {5, 6, 7, 8, 9};

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

    static SampleSettings settings(double temperature, Remasking rule, long seed) {
        return new SampleSettings(0, temperature, rule, false, false, -1, seed);
    }

    /** A generation with its step events, checked for the invariants every generation keeps. */
    record Run(Generation generation, List<StepEvent> steps) {}

    static Run run(GenerationRequest request) {
        List<StepEvent> steps = new ArrayList<>();
        Generation g = sampler.generate(request, steps::add, null);
        assertEquals(request.genLength(), g.ids().length);
        assertArrayEquals(request.promptIds(), g.promptIds());
        for (long id : g.ids()) {
            assertTrue(id >= 0 && id < V && id != MASK, "generated id " + id);
        }
        assertEquals(steps.size(), g.nfe(), "one event per model call");
        int[] perBlock = new int[request.blockCount()];
        long[] seen = new long[request.genLength()];
        Arrays.fill(seen, -1);
        for (int i = 0; i < steps.size(); i++) {
            StepEvent e = steps.get(i);
            assertEquals(i, e.nfe());
            assertTrue(e.positions().length >= 1 || request.schedule().mayCommitNothing(),
                    "step " + i + " committed nothing");
            for (int j = 0; j < e.positions().length; j++) {
                int p = e.positions()[j];
                assertEquals(e.block(), p / request.blockLength(), "step " + i + " commits outside its block");
                assertEquals(-1, seen[p], "position " + p + " committed twice");
                seen[p] = e.tokens()[j];
                if (j > 0) {
                    assertTrue(p > e.positions()[j - 1], "positions ascending");
                }
                perBlock[e.block()]++;
            }
            if (i > 0) {
                assertTrue(e.block() >= steps.get(i - 1).block(), "blocks run in order");
            }
        }
        for (int b = 0; b < perBlock.length; b++) {
            assertEquals(request.blockLength(), perBlock[b], "block " + b + " finished");
        }
        assertArrayEquals(seen, g.ids(), "the events add up to the result");
        return new Run(g, steps);
    }

    // ---- schedules and rules --------------------------------------------------------------------

    @Test
    void thresholdScheduleFinishesEveryBlock() {
        int genLength = 64;
        int blockLength = 16;
        int[] nfe = new int[3];
        double[] thresholds = {0.9, 0.5, 0.05};
        for (int i = 0; i < thresholds.length; i++) {
            Run r = run(new GenerationRequest(PROMPT, genLength, blockLength, new ThresholdSchedule(thresholds[i]),
                    SampleSettings.GREEDY));
            nfe[i] = r.generation().nfe();
            assertTrue(nfe[i] >= genLength / blockLength && nfe[i] <= genLength, "NFE " + nfe[i]);
        }
        assertTrue(nfe[0] >= nfe[1] && nfe[1] >= nfe[2], "lower threshold, no more NFE: " + Arrays.toString(nfe));
        assertTrue(nfe[2] < nfe[0], "the threshold commits in parallel: " + Arrays.toString(nfe));
        assertTrue(nfe[0] < genLength, "some step clears 0.9 on this model: " + Arrays.toString(nfe));
        // At 1 nothing but the top pick commits (no probability here reaches 1): one token per step.
        assertEquals(genLength, run(new GenerationRequest(PROMPT, genLength, blockLength, new ThresholdSchedule(1),
                SampleSettings.GREEDY)).generation().nfe());
    }

    @Test
    void everyRuleFillsEveryPosition() {
        for (Remasking rule : Remasking.values()) {
            if (rule == Remasking.ORIGIN) {  // Dream's: by its schedule's probabilities, some steps commit nothing
                Run origin = run(new GenerationRequest(PROMPT, 48, 48, new DreamSchedule(12, DreamSchedule.DEFAULT_EPS),
                        settings(0, rule, 3)));
                assertTrue(origin.generation().nfe() <= 12);
                assertEquals(48, origin.steps().stream().mapToInt(e -> e.positions().length).sum());
                continue;
            }
            for (double temperature : new double[] {0, 0.8}) {
                GenerationRequest request = new GenerationRequest(PROMPT, 48, 16, new LladaSchedule(12),
                        settings(temperature, rule, 3));
                Run r = run(request);
                assertEquals(12, r.generation().nfe(), rule + " at " + temperature);
                for (StepEvent e : r.steps()) {
                    assertEquals(4, e.positions().length);
                }
            }
            Run pyramid = run(new GenerationRequest(PROMPT, 32, 32, new PyramidSchedule(2), settings(0, rule, 0)));
            assertTrue(pyramid.generation().nfe() <= new PyramidSchedule(2).steps(32));
        }
    }

    @Test
    void guidedGenerationFinishes() {
        SampleSettings guided = new SampleSettings(1.5, 0.5, Remasking.LOW_CONFIDENCE, true, true, -1, 4);
        Run r = run(new GenerationRequest(PROMPT, 32, 16, new PyramidSchedule(1), guided));
        assertTrue(r.generation().nfe() <= 2 * new PyramidSchedule(1).steps(16));
        for (long id : r.generation().ids()) {
            assertTrue(id != 129, "EOS is never sampled with eosLogitOff");
        }
    }

    @Test
    void temperatureIsReproducibleBySeed() {
        GenerationRequest a = new GenerationRequest(PROMPT, 64, 32, new LladaSchedule(16),
                settings(0.8, Remasking.LOW_CONFIDENCE, 1234));
        GenerationRequest b = new GenerationRequest(PROMPT, 64, 32, new LladaSchedule(16),
                settings(0.8, Remasking.LOW_CONFIDENCE, 1235));
        GenerationRequest greedy = new GenerationRequest(PROMPT, 64, 32, new LladaSchedule(16), SampleSettings.GREEDY);
        long[] first = run(a).generation().ids();
        assertArrayEquals(first, run(a).generation().ids(), "same seed, same ids");
        assertFalse(Arrays.equals(first, run(b).generation().ids()), "another seed, other ids");
        assertFalse(Arrays.equals(first, run(greedy).generation().ids()), "temperature 0.8 is not greedy");
    }

    // ---- cancellation ---------------------------------------------------------------------------

    @Test
    void cancellationFromTheListener() {
        GenerationRequest request = new GenerationRequest(PROMPT, 32, 16, new LladaSchedule(16), SampleSettings.GREEDY);
        long[] expected = run(request).generation().ids();

        Cancellation cancellation = new Cancellation();
        List<StepEvent> seen = new ArrayList<>();
        StepListener listener = e -> {
            seen.add(e);
            if (seen.size() == 2) {
                cancellation.cancel();
            }
        };
        GenerationCancelledException e = assertThrows(GenerationCancelledException.class,
                () -> sampler.generate(request, listener, cancellation));
        assertEquals(2, seen.size(), "checked before the next model call");
        assertTrue(e.getMessage().contains("2 model calls"), e.getMessage());

        // What was committed is kept: exactly the two steps' positions, the rest still masked.
        Generation partial = e.partial();
        assertEquals(2, partial.nfe());
        long[] kept = partial.ids();
        Set<Integer> committed = new HashSet<>();
        for (StepEvent step : seen) {
            for (int i = 0; i < step.positions().length; i++) {
                committed.add(step.positions()[i]);
                assertEquals(step.tokens()[i], kept[step.positions()[i]]);
            }
        }
        for (int p = 0; p < kept.length; p++) {
            if (!committed.contains(p)) {
                assertEquals(336, kept[p], "position " + p + " was never committed");
            }
        }

        // The sampler goes on; the same request gives the same result.
        assertArrayEquals(expected, run(request).generation().ids());
        // A generation cancelled before it starts makes no model call.
        Cancellation already = new Cancellation();
        already.cancel();
        List<StepEvent> none = new ArrayList<>();
        assertThrows(CancellationException.class, () -> sampler.generate(request, none::add, already));
        assertTrue(none.isEmpty());
        assertArrayEquals(expected, run(request).generation().ids());
    }

    @Test
    void aDeadlineCancels() {
        GenerationRequest request = new GenerationRequest(PROMPT, 16, 16, new LladaSchedule(4), SampleSettings.GREEDY);
        GenerationCancelledException e = assertThrows(GenerationCancelledException.class,
                () -> sampler.generate(request, null, Cancellation.after(Duration.ZERO)));
        assertEquals(0, e.partial().nfe());
        assertFalse(new Cancellation().isCancelled());
        assertFalse(Cancellation.after(Duration.ofHours(1)).isCancelled());
    }

    @Test
    void thresholdNeedsAProbability() {
        for (Remasking rule : List.of(Remasking.ENTROPY, Remasking.RANDOM)) {
            SampleSettings settings = new SampleSettings(0, 0, rule, false, false, -1, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new GenerationRequest(PROMPT, 16, 16, new ThresholdSchedule(0.9), settings));
            assertTrue(e.getMessage().contains("--remasking low-confidence or margin"), e.getMessage());
        }
    }

    @Test
    void interruptedThreadCancels() {
        GenerationRequest request = new GenerationRequest(PROMPT, 16, 16, new LladaSchedule(4), SampleSettings.GREEDY);
        Thread.currentThread().interrupt();
        try {
            assertThrows(CancellationException.class, () -> sampler.generate(request));
        } finally {
            Thread.interrupted();
        }
        assertEquals(4, run(request).generation().nfe());
    }

    // ---- threads and reuse ----------------------------------------------------------------------

    @Test
    void twoThreadsGiveTheSequentialResults() throws Exception {
        GenerationRequest a = new GenerationRequest(PROMPT, 32, 16, new LladaSchedule(8),
                settings(0.7, Remasking.LOW_CONFIDENCE, 21));
        GenerationRequest b = new GenerationRequest(OTHER_PROMPT, 24, 8, new PyramidSchedule(1),
                new SampleSettings(1.0, 0, Remasking.MARGIN, false, false, -1, 0));
        long[] expectedA = sampler.generate(a).ids();
        long[] expectedB = sampler.generate(b).ids();

        int rounds = 5;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<long[]>>> futures = new ArrayList<>();
            for (GenerationRequest request : List.of(a, b)) {
                futures.add(pool.submit(() -> {
                    start.await();
                    List<long[]> results = new ArrayList<>();
                    for (int i = 0; i < rounds; i++) {
                        results.add(sampler.generate(request).ids());
                    }
                    return results;
                }));
            }
            start.countDown();
            List<long[]> resultsA = futures.get(0).get(60, TimeUnit.SECONDS);
            List<long[]> resultsB = futures.get(1).get(60, TimeUnit.SECONDS);
            for (int i = 0; i < rounds; i++) {
                assertArrayEquals(expectedA, resultsA.get(i), "thread A, round " + i);
                assertArrayEquals(expectedB, resultsB.get(i), "thread B, round " + i);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    @Test
    void twoThreadsOnTheSameShape() throws Exception {
        // Same shape: both threads draw on the same pool of workspaces.
        GenerationRequest a = new GenerationRequest(PROMPT, 32, 16, new LladaSchedule(8), SampleSettings.GREEDY);
        GenerationRequest b = new GenerationRequest(new long[] {11, 12, 13, 14, 15, 16, 17}, 32, 16,
                new LladaSchedule(8), settings(0.9, Remasking.ENTROPY, 8));
        long[] expectedA = sampler.generate(a).ids();
        long[] expectedB = sampler.generate(b).ids();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<List<long[]>> fa = pool.submit(() -> repeat(start, a, 5));
            Future<List<long[]>> fb = pool.submit(() -> repeat(start, b, 5));
            start.countDown();
            for (long[] ids : fa.get(60, TimeUnit.SECONDS)) {
                assertArrayEquals(expectedA, ids);
            }
            for (long[] ids : fb.get(60, TimeUnit.SECONDS)) {
                assertArrayEquals(expectedB, ids);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    private static List<long[]> repeat(CountDownLatch start, GenerationRequest request, int times) throws InterruptedException {
        start.await();
        List<long[]> results = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            results.add(sampler.generate(request).ids());
        }
        return results;
    }

    @Test
    void reusedBuffersGiveTheSameResult() {
        for (SampleSettings s : List.of(SampleSettings.GREEDY,
                new SampleSettings(2.0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0))) {
            GenerationRequest first = new GenerationRequest(PROMPT, 32, 16, new LladaSchedule(8), s);
            // Same shape (prompt length, gen length, block length, guidance), other prompt.
            GenerationRequest second = new GenerationRequest(new long[] {300, 250, 200, 99, 42, 17, 1}, 32, 16,
                    new LladaSchedule(8), s);
            try (Sampler fresh = new Sampler(model)) {
                long[] a = fresh.generate(first).ids();
                long[] b = fresh.generate(second).ids();
                assertFalse(Arrays.equals(a, b), "fixture: the prompts lead to different answers");
                assertArrayEquals(a, fresh.generate(first).ids(), "the reused workspace held the other request's tokens");
                assertArrayEquals(b, fresh.generate(second).ids());
                // A new sampler (fresh buffers) agrees.
                try (Sampler other = new Sampler(model)) {
                    assertArrayEquals(b, other.generate(second).ids());
                }
            }
        }
    }

    @Test
    void closedSamplerRefuses() {
        Sampler s = new Sampler(model);
        GenerationRequest request = new GenerationRequest(PROMPT, 16, 16, new LladaSchedule(4), SampleSettings.GREEDY);
        s.generate(request);
        s.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.generate(request));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    // ---- bad requests ---------------------------------------------------------------------------

    static void assertRejected(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
        }
    }

    static GenerationRequest request(long[] prompt, int genLength) {
        return new GenerationRequest(prompt, genLength, genLength, new PyramidSchedule(1), SampleSettings.GREEDY);
    }

    @Test
    void badRequests() {
        assertRejected(() -> sampler.generate(request(new long[] {1, 2, 336, 4}, 16)), "index 2", "mask id 336");
        assertRejected(() -> sampler.generate(request(new long[] {1, 384}, 16)),
                "prompt id 384 at index 1", "outside the vocabulary [0, 384)");
        assertRejected(() -> sampler.generate(request(new long[] {-1}, 16)), "prompt id -1 at index 0");
        long[] long4000 = new long[4000];
        Arrays.fill(long4000, 3);
        assertRejected(() -> sampler.generate(request(long4000, 97)),
                "4097 tokens", "over the model's maximum of 4096");
        assertRejected(() -> sampler.generate(new GenerationRequest(PROMPT, 16, 16, new LladaSchedule(4),
                        new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, true, 384, 0))), "EoT id 384");
        // Exactly the maximum is fine, and the sampler is unharmed.
        assertEquals(96, sampler.generate(new GenerationRequest(long4000, 96, 96, new LladaSchedule(1),
                SampleSettings.GREEDY)).ids().length);
        assertEquals(4, run(new GenerationRequest(PROMPT, 16, 16, new LladaSchedule(4), SampleSettings.GREEDY))
                .generation().nfe());
    }

    /** Less than one object per extra step: the smallest Java object is 16 bytes. */
    private static final long SMALLEST_OBJECT = 16;

    /**
     * The step loop allocates nothing on the Java heap, with every revision rule: a generation of many model calls
     * allocates as much as one of few (the result, the request's buffers and the pooled workspace's lookup are per
     * generation, not per step).
     */
    @ParameterizedTest
    @ValueSource(strings = {"none", "rcr", "remdm-conf", "remdm-loop", "wino"})
    void aStepAllocatesNothing(String rule) {
        SampleSettings greedy = settings(0, Remasking.LOW_CONFIDENCE, 7);
        GenerationRequest many = new GenerationRequest(PROMPT, 32, 32, new LladaSchedule(32), greedy);
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

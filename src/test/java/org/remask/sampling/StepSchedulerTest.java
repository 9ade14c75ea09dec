package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/** Generations submitted from many threads, stepped in turn on one engine thread. */
class StepSchedulerTest {
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

    /**
     * Unrelated requests: other prompts, lengths, blocks, schedules, caches, rules, guidance and noise. Three run
     * their forwards batched (no cache, no wino: the first, the guided one, the last).
     */
    private static List<GenerationRequest> mixed() {
        SampleSettings noisy = new SampleSettings(0, 0.8, Remasking.LOW_CONFIDENCE, false, false, -1, 7);
        SampleSettings guided = new SampleSettings(1.5, 0, Remasking.MARGIN, false, false, -1, 0);
        return List.of(
                new GenerationRequest(new long[] {1, 17, 42, 99}, 32, 8, new LladaSchedule(16), SampleSettings.GREEDY),
                new GenerationRequest(new long[] {5, 6, 7, 8, 9, 10, 11}, 16, 16, new PyramidSchedule(1), noisy,
                        CacheMode.DUAL),
                new GenerationRequest(new long[] {3}, 24, 8, new ThresholdSchedule(0.5), SampleSettings.GREEDY,
                        CacheMode.PREFIX, new Revision.Rcr()),
                new GenerationRequest(new long[] {200, 250}, 16, 8, new LladaSchedule(8), guided),
                new GenerationRequest(new long[] {9, 8, 7}, 32, 32, new LladaSchedule(8), noisy, CacheMode.NONE,
                        new Revision.Wino(Revision.Wino.DEFAULT_WIDE, Revision.Wino.DEFAULT_NARROW)),
                new GenerationRequest(new long[] {11, 12, 13, 14, 15, 16, 17, 18, 19}, 16, 8, new PyramidSchedule(2),
                        noisy, CacheMode.NONE, new Revision.RemdmConf(Revision.RemdmConf.DEFAULT_SIGMA_MAX)));
    }

    @Test
    void eachAnswerEqualsItsSoloGenerationWhateverRunsBesideIt() throws Exception {
        List<GenerationRequest> requests = mixed();
        List<Generation> solo = requests.stream().map(sampler::generate).toList();
        try (StepScheduler scheduler = new StepScheduler(sampler, 8)) {
            List<CompletableFuture<Generation>> futures = new ArrayList<>();
            for (GenerationRequest r : requests) {
                futures.add(scheduler.submit(r, null, null));
            }
            for (int i = 0; i < requests.size(); i++) {
                Generation g = futures.get(i).get(60, TimeUnit.SECONDS);
                assertArrayEquals(solo.get(i).ids(), g.ids(), "request " + i);
                assertEquals(solo.get(i).nfe(), g.nfe(), "request " + i);
                assertEquals(solo.get(i).forwardPositions(), g.forwardPositions(), "request " + i);
            }
            long calls = solo.stream().mapToLong(Generation::nfe).sum();
            assertEquals(calls, scheduler.modelCalls());
            assertTrue(scheduler.forwards() < calls, scheduler.forwards() + " forwards for " + calls + " model calls");
        }
    }

    @Test
    void aRequestJoinsAtTheNextRoundAndLeavesWhenItEnds() throws Exception {
        GenerationRequest longOne = new GenerationRequest(new long[] {1, 2, 3}, 64, 8, new LladaSchedule(64),
                SampleSettings.GREEDY);
        GenerationRequest shortOne = new GenerationRequest(new long[] {4, 5}, 8, 8, new LladaSchedule(2),
                SampleSettings.GREEDY);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Set<String> threads = ConcurrentHashMap.newKeySet();
        CountDownLatch started = new CountDownLatch(3);
        try (StepScheduler scheduler = new StepScheduler(sampler, 4)) {
            CompletableFuture<Generation> first = scheduler.submit(longOne, e -> {
                order.add("long");
                threads.add(Thread.currentThread().getName());
                started.countDown();
            }, null);
            assertTrue(started.await(30, TimeUnit.SECONDS));
            CompletableFuture<Generation> second = scheduler.submit(shortOne, e -> {
                order.add("short");
                threads.add(Thread.currentThread().getName());
            }, null);
            Generation shortAnswer = second.get(30, TimeUnit.SECONDS);
            assertEquals(2, shortAnswer.nfe());
            assertTrue(!first.isDone(), "the short request left while the long one still ran");
            assertEquals(64, first.get(60, TimeUnit.SECONDS).nfe());
            // The short one's two steps fall between the long one's, one round each.
            int at = order.indexOf("short");
            assertTrue(at >= 3, order.toString());
            assertEquals(List.of("short", "long", "short", "long"), order.subList(at, at + 4));
            assertEquals(Set.of("remask-engine"), threads, "listeners run on the engine thread");
        }
    }

    @Test
    void aCancelledRequestLeavesAtItsNextStepAndTheOthersGoOn() throws Exception {
        GenerationRequest request = new GenerationRequest(new long[] {1, 2, 3}, 64, 8, new LladaSchedule(64),
                SampleSettings.GREEDY);
        Generation solo = sampler.generate(request);
        Cancellation cancellation = new Cancellation();
        CountDownLatch fourSteps = new CountDownLatch(4);
        try (StepScheduler scheduler = new StepScheduler(sampler, 4)) {
            CompletableFuture<Generation> cancelled = scheduler.submit(request, e -> {
                fourSteps.countDown();
                if (fourSteps.getCount() == 0) {
                    cancellation.cancel();
                }
            }, cancellation);
            CompletableFuture<Generation> dropped = scheduler.submit(request, null, null);
            CompletableFuture<Generation> kept = scheduler.submit(request, null, null);
            dropped.cancel(true);
            ExecutionException e = assertThrows(ExecutionException.class, () -> cancelled.get(30, TimeUnit.SECONDS));
            GenerationCancelledException partial = assertInstanceOf(GenerationCancelledException.class, e.getCause());
            assertEquals(4, partial.partial().nfe());
            assertArrayEquals(solo.ids(), kept.get(60, TimeUnit.SECONDS).ids());
            assertTrue(dropped.isCancelled());
        }
    }

    @Test
    void aBadRequestFailsAloneAndTheEngineKeepsServing() throws Exception {
        GenerationRequest outside = new GenerationRequest(new long[] {1, 99_999}, 8, 8, new LladaSchedule(2),
                SampleSettings.GREEDY);
        GenerationRequest good = new GenerationRequest(new long[] {1, 2}, 8, 8, new LladaSchedule(2),
                SampleSettings.GREEDY);
        try (StepScheduler scheduler = new StepScheduler(sampler, 2)) {
            CompletableFuture<Generation> bad = scheduler.submit(outside, null, null);
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(30, TimeUnit.SECONDS));
            assertInstanceOf(IllegalArgumentException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("outside the vocabulary"), e.getCause().getMessage());
            CompletableFuture<Generation> failing = scheduler.submit(good, event -> {
                throw new IllegalStateException("listener failed");
            }, null);
            e = assertThrows(ExecutionException.class, () -> failing.get(30, TimeUnit.SECONDS));
            assertEquals("listener failed", e.getCause().getMessage());
            assertArrayEquals(sampler.generate(good).ids(), scheduler.submit(good, null, null).get(30,
                    TimeUnit.SECONDS).ids());
        }
    }

    @Test
    void manyThreadsGetEachAnswerOnceAndAtMostMaxActiveRunAtOnce() throws Exception {
        List<GenerationRequest> requests = mixed();
        List<Generation> solo = requests.stream().map(sampler::generate).toList();
        int clients = 6;
        int[] most = new int[1];
        try (StepScheduler scheduler = new StepScheduler(sampler, 3);
                ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<List<Generation>>> answers = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                answers.add(pool.submit(() -> {
                    List<CompletableFuture<Generation>> mine = new ArrayList<>();
                    for (GenerationRequest r : requests) {
                        mine.add(scheduler.submit(r, e -> most[0] = Math.max(most[0], scheduler.active()), null));
                    }
                    List<Generation> got = new ArrayList<>();
                    for (CompletableFuture<Generation> f : mine) {
                        got.add(f.get(120, TimeUnit.SECONDS));
                    }
                    return got;
                }));
            }
            for (Future<List<Generation>> answer : answers) {
                List<Generation> got = answer.get(180, TimeUnit.SECONDS);
                for (int i = 0; i < requests.size(); i++) {
                    assertArrayEquals(solo.get(i).ids(), got.get(i).ids(), "request " + i);
                }
            }
            assertEquals(3, most[0], "rounds ran three generations at most, and did reach three");
            assertEquals(0, scheduler.queued());
        }
    }

    @Test
    void closingFinishesWhatWasSubmittedThenRefusesMore() throws Exception {
        GenerationRequest request = new GenerationRequest(new long[] {1, 2}, 16, 8, new LladaSchedule(8),
                SampleSettings.GREEDY);
        StepScheduler scheduler = new StepScheduler(sampler, 1);
        CompletableFuture<Generation> a = scheduler.submit(request, null, null);
        CompletableFuture<Generation> b = scheduler.submit(request, null, null);
        scheduler.close();
        assertTrue(a.isDone() && b.isDone());
        assertArrayEquals(a.get().ids(), b.get().ids());
        assertThrows(RejectedExecutionException.class, () -> scheduler.submit(request, null, null));
        assertThrows(IllegalArgumentException.class, () -> new StepScheduler(sampler, 0));
    }
}

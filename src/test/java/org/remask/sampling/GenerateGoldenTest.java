package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.Model;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;

/** Every case of the reference's generate.json, step by step, at temperature 0. */
class GenerateGoldenTest {
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

    static Stream<Arguments> cases() {
        return Golden.list("generate.json").stream().map(c -> Arguments.of(((Map<?, ?>) c).get("case"), c));
    }

    static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
    }

    static int integer(Map<?, ?> map, String key) {
        return ((Number) map.get(key)).intValue();
    }

    private static GenerationRequest request(Map<?, ?> golden) {
        Map<?, ?> params = (Map<?, ?>) golden.get("params");
        Schedule schedule = golden.get("schedule").equals("pyramid")
                ? new PyramidSchedule(integer(params, "factor"))
                : new LladaSchedule(integer(params, "steps"));
        double cfg = params.containsKey("cfg_scale") ? ((Number) params.get("cfg_scale")).doubleValue() : 0;
        SampleSettings sampling = new SampleSettings(cfg, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0);
        return new GenerationRequest(longs(golden.get("prompt_ids")), integer(params, "gen_length"),
                integer(params, "block_length"), schedule, sampling);
    }

    /**
     * Batched equals solo: every case of generate.json and revise.json at once on one scheduler, beside the others'
     * lengths, schedules and revision rules.
     */
    @Test
    void everyCaseBatchedWithTheOthersReproducesTheReference() throws Exception {
        List<Object> cases = new ArrayList<>(Golden.list("generate.json"));
        int plain = cases.size();
        cases.addAll(Golden.list("revise.json"));
        try (StepScheduler scheduler = new StepScheduler(sampler, cases.size())) {
            List<CompletableFuture<Generation>> answers = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                Map<?, ?> golden = (Map<?, ?>) cases.get(i);
                answers.add(scheduler.submit(i < plain ? request(golden) : revisionRequest(golden), null, null));
            }
            for (int i = 0; i < cases.size(); i++) {
                Map<?, ?> golden = (Map<?, ?>) cases.get(i);
                assertArrayEquals(longs(golden.get("ids")), answers.get(i).get(60, TimeUnit.SECONDS).ids(),
                        String.valueOf(golden.get("case")));
            }
            assertTrue(scheduler.forwards() < scheduler.modelCalls(), "the cases shared forwards");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void reproducesTheReference(String name, Map<?, ?> golden) {
        GenerationRequest request = request(golden);
        List<StepEvent> steps = new ArrayList<>();
        Generation result = sampler.generate(request, steps::add, null);

        List<?> expectedSteps = ((List<?>) golden.get("steps")).stream()
                .filter(s -> !((List<?>) ((Map<?, ?>) s).get("positions")).isEmpty())
                .toList();
        int wasted = ((List<?>) golden.get("steps")).size() - expectedSteps.size();
        assertEquals(integer(golden, "nfe") - wasted, result.nfe(), "NFE (the reference's minus its empty steps)");
        assertEquals(expectedSteps.size(), steps.size());
        for (int i = 0; i < steps.size(); i++) {
            Map<?, ?> expected = (Map<?, ?>) expectedSteps.get(i);
            long[] positions = longs(expected.get("positions"));
            assertArrayEquals(positions, Stream.of(steps.get(i).positions()).flatMapToInt(java.util.Arrays::stream)
                    .asLongStream().toArray(), "positions of step " + i);
            assertArrayEquals(longs(expected.get("tokens")), steps.get(i).tokens(), "tokens of step " + i);
        }
        assertArrayEquals(longs(golden.get("ids")), result.ids());
        if (name.equals("pyramid-f3-L45")) {
            assertEquals(15, result.nfe(), "the published code's wasted 16th step is skipped");
        }
    }

    static Stream<Arguments> revisionCases() {
        return Golden.list("revise.json").stream().map(c -> Arguments.of(((Map<?, ?>) c).get("case"), c));
    }

    private static Revision revision(Map<?, ?> golden) {
        Map<?, ?> params = (Map<?, ?>) golden.get("params");
        if (golden.get("revise").equals("remdm") && params.get("strategy").equals("loop")) {
            return new Revision.RemdmLoop(((Number) params.get("eta")).doubleValue(), Revision.RemdmLoop.DEFAULT_T_ON,
                    Revision.RemdmLoop.DEFAULT_T_OFF, Revision.RemdmLoop.DEFAULT_ALPHA_ON);
        }
        if (golden.get("revise").equals("edit")) {
            return new Revision.Edit(((Number) params.get("edit_threshold")).doubleValue(), integer(params, "edit_steps"));
        }
        return golden.get("revise").equals("wino")
                ? new Revision.Wino(((Number) params.get("wide")).doubleValue(), ((Number) params.get("narrow")).doubleValue())
                : Revision.parse((String) golden.get("revise"));
    }

    private static GenerationRequest revisionRequest(Map<?, ?> golden) {
        Map<?, ?> params = (Map<?, ?>) golden.get("params");
        return new GenerationRequest(longs(golden.get("prompt_ids")),
                integer(params, "gen_length"), integer(params, "block_length"),
                new LladaSchedule(params.containsKey("steps") ? integer(params, "steps") : integer(params, "gen_length")),
                new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1,
                        params.containsKey("seed") ? integer(params, "seed") : 0), CacheMode.NONE,
                revision(golden));
    }

    /** bench/reference/revision_golden.py: the revision rules as the published code runs them, step by step. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("revisionCases")
    void revisesAsTheReferenceDoes(String name, Map<?, ?> golden) {
        GenerationRequest request = revisionRequest(golden);
        List<StepEvent> steps = new ArrayList<>();
        Generation result = sampler.generate(request, steps::add, null);
        List<?> expected = (List<?>) golden.get("steps");
        assertEquals(expected.size(), steps.size(), "model calls");
        for (int i = 0; i < steps.size(); i++) {
            Map<?, ?> step = (Map<?, ?>) expected.get(i);
            StepEvent got = steps.get(i);
            assertArrayEquals(longs(step.get("positions")), java.util.Arrays.stream(got.positions()).asLongStream()
                    .toArray(), "committed positions of step " + i);
            assertArrayEquals(longs(step.get("tokens")), got.tokens(), "tokens of step " + i);
            assertArrayEquals(longs(step.get("remasked")), java.util.Arrays.stream(got.remasked()).asLongStream()
                    .toArray(), "re-masked positions of step " + i);
            assertArrayEquals(step.containsKey("edited") ? longs(step.get("edited")) : new long[0],
                    java.util.Arrays.stream(got.edited()).asLongStream().toArray(), "edited positions of step " + i);
        }
        assertEquals(integer(golden, "nfe"), result.nfe());
        assertArrayEquals(longs(golden.get("ids")), result.ids());
    }
}

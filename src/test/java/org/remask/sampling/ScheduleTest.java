package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.remask.engine.SampleSettings;

/**
 * The schedules on their own, driven by the same loop the sampler runs per block:
 * {@code for (step = 0; remaining > 0; step++) k = commits(step, remaining, L, blocks)}.
 */
class ScheduleTest {
    private static final int MAX_LENGTH = 300;
    private static final int[] BLOCK_COUNTS = {1, 2, 3, 5, 8};

    /**
     * The per-step counts one block gets, assuming each step commits exactly k (the top-k commit does
     * when threshold is +inf and enough positions are masked). Fails on an empty or overfull step.
     */
    static int[] simulate(Schedule schedule, int blockLength, int blockCount) {
        List<Integer> counts = new ArrayList<>();
        int remaining = blockLength;
        for (int step = 0; remaining > 0; step++) {
            int k = schedule.commits(step, remaining, blockLength, blockCount);
            int s = step;
            int r = remaining;
            assertTrue(k >= 1 && k <= remaining, () -> schedule.describe() + " L=" + blockLength + " blocks="
                    + blockCount + ": step " + s + " with " + r + " left commits " + k);
            counts.add(k);
            remaining -= k;
            assertTrue(step < 10 * blockLength + 10, "block never finishes");
        }
        return counts.stream().mapToInt(Integer::intValue).toArray();
    }

    // ---- LLaDA ----------------------------------------------------------------------------------

    /** The uniform split: L / S each, the remainder L % S on the first steps, trailing empty steps dropped. */
    static int[] expectedLlada(int blockLength, int stepsPerBlock) {
        int[] counts = new int[Math.min(stepsPerBlock, blockLength)];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = blockLength / stepsPerBlock + (i < blockLength % stepsPerBlock ? 1 : 0);
        }
        return counts;
    }

    @Test
    void lladaTenOverFourSteps() {
        assertArrayEquals(new int[] {3, 3, 2, 2}, simulate(new LladaSchedule(4), 10, 1));
        assertArrayEquals(new int[] {3, 3, 2, 2}, simulate(new LladaSchedule(12), 10, 3));
        assertArrayEquals(new int[] {4, 4, 4, 4}, simulate(new LladaSchedule(4), 16, 1));
        assertArrayEquals(new int[] {7, 7, 6}, simulate(new LladaSchedule(6), 20, 2));
    }

    @Test
    void lladaMoreStepsThanTokensCommitsOneEach() {
        assertArrayEquals(new int[] {1, 1, 1}, simulate(new LladaSchedule(16), 3, 1));
        assertArrayEquals(new int[] {1, 1, 1, 1, 1}, simulate(new LladaSchedule(40), 5, 4));
    }

    @Test
    void lladaOverManyLengthsIsTheUniformSplit() {
        int[] stepsPerBlock = {1, 2, 3, 4, 7, 16, 64, 128, 301};
        for (int blocks : BLOCK_COUNTS) {
            for (int spb : stepsPerBlock) {
                LladaSchedule schedule = new LladaSchedule(spb * blocks);
                for (int length = 1; length <= MAX_LENGTH; length++) {
                    schedule.validate(length * blocks, length);
                    int[] counts = simulate(schedule, length, blocks);
                    int l = length;
                    assertArrayEquals(expectedLlada(length, spb), counts,
                            () -> schedule.describe() + " blocks=" + blocks + " L=" + l);
                    assertEquals(Math.min(spb, length), counts.length, "NFE per block");
                }
            }
        }
    }

    // ---- pyramid --------------------------------------------------------------------------------

    @Test
    void pyramidPublishedStepCounts() {
        assertEquals(45, new PyramidSchedule(1).steps(1024));
        assertEquals(4, new PyramidSchedule(1).steps(11));
        assertEquals(16, new PyramidSchedule(3).steps(45));
        assertEquals(1, new PyramidSchedule(1).steps(1));
    }

    @Test
    void pyramidL1024F1TakesExactly45() {
        int[] counts = simulate(new PyramidSchedule(1), 1024, 1);
        assertEquals(45, counts.length);
        for (int i = 0; i < 44; i++) {
            assertEquals(i + 1, counts[i], "step " + i);
        }
        assertEquals(1024 - 44 * 45 / 2, counts[44], "the last step takes the rest");
    }

    @Test
    void pyramidL11F1LastStepTakesTheRest() {
        assertArrayEquals(new int[] {1, 2, 3, 5}, simulate(new PyramidSchedule(1), 11, 1));
    }

    @Test
    void pyramidL45F3SkipsTheEmptySixteenthStep() {
        int[] counts = simulate(new PyramidSchedule(3), 45, 1);
        assertArrayEquals(new int[] {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5}, counts);
        assertEquals(15, counts.length);
    }

    @ParameterizedTest(name = "factor {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void pyramidOverManyLengths(int factor) {
        PyramidSchedule schedule = new PyramidSchedule(factor);
        for (int blocks : BLOCK_COUNTS) {
            for (int length = 1; length <= MAX_LENGTH; length++) {
                schedule.validate(length * blocks, length);
                int[] counts = simulate(schedule, length, blocks);
                int published = schedule.steps(length);
                String where = schedule.describe() + " blocks=" + blocks + " L=" + length;
                assertTrue(published >= 1, where + ": published steps " + published);
                assertTrue(counts.length <= published, where + ": NFE " + counts.length + " over " + published);
                int remaining = length;
                for (int i = 0; i < counts.length; i++) {
                    int expected = i >= published - 1 ? remaining : Math.min(i / factor + 1, remaining);
                    assertEquals(expected, counts[i], where + ", step " + i);
                    remaining -= counts[i];
                }
                // Only the last step can deviate from i / F + 1, and it does only to finish the block.
                for (int i = 0; i + 1 < counts.length; i++) {
                    assertEquals(i / factor + 1, counts[i], where + ", step " + i);
                }
            }
        }
    }

    // ---- threshold ------------------------------------------------------------------------------

    @Test
    void thresholdCommitsAtLeastOneAndFinishes() {
        for (double t : new double[] {0.05, 0.5, 0.9, 1.0}) {
            ThresholdSchedule schedule = new ThresholdSchedule(t);
            assertEquals(t, schedule.threshold(), "the sampler reads the threshold through Schedule.threshold()");
            for (int blocks : BLOCK_COUNTS) {
                for (int length = 1; length <= MAX_LENGTH; length++) {
                    schedule.validate(length * blocks, length);
                    // Worst case: nothing clears the threshold, so one token per step.
                    assertEquals(length, simulate(schedule, length, blocks).length);
                }
            }
        }
        Schedule viaInterface = new ThresholdSchedule(0.7);
        assertEquals(0.7, viaInterface.threshold());
        assertEquals(Double.POSITIVE_INFINITY, new LladaSchedule(4).threshold());
        assertEquals(Double.POSITIVE_INFINITY, new PyramidSchedule(1).threshold());
    }

    // ---- validation -----------------------------------------------------------------------------

    static void assertRejected(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
        }
    }

    @Test
    void lladaStepsMustDivideByBlocks() {
        assertRejected(() -> new LladaSchedule(10).validate(64, 16), "--steps 10", "not divisible", "4");
        assertRejected(() -> new LladaSchedule(3).validate(32, 16), "--steps 3", "2");
        new LladaSchedule(8).validate(64, 16);
        new LladaSchedule(3).validate(16, 16);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, -64})
    void lladaStepsAtLeastOne(int steps) {
        assertRejected(() -> new LladaSchedule(steps).validate(16, 16), "--steps", String.valueOf(steps));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, -3})
    void pyramidFactorAtLeastOne(int factor) {
        assertRejected(() -> new PyramidSchedule(factor).validate(16, 16), "--factor", String.valueOf(factor));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, -0.1, 1.5, 1.0000001, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
    void thresholdOutsideZeroOne(double threshold) {
        assertRejected(() -> new ThresholdSchedule(threshold).validate(16, 16), "--threshold");
    }

    @Test
    void thresholdInsideZeroOne() {
        new ThresholdSchedule(1).validate(16, 16);
        new ThresholdSchedule(Double.MIN_VALUE).validate(16, 16);
        new ThresholdSchedule(0.5).validate(16, 16);
    }

    @Test
    void requestLengths() {
        Schedule s = new LladaSchedule(2);
        long[] prompt = {1, 2, 3};
        assertRejected(() -> new GenerationRequest(prompt, 30, 16, s, SampleSettings.GREEDY),
                "--gen-length 30 is not a multiple of --block-length 16");
        assertRejected(() -> new GenerationRequest(prompt, 0, 16, s, SampleSettings.GREEDY), "--gen-length", "0");
        assertRejected(() -> new GenerationRequest(prompt, -16, 16, s, SampleSettings.GREEDY), "--gen-length", "-16");
        assertRejected(() -> new GenerationRequest(prompt, 16, 0, s, SampleSettings.GREEDY), "--block-length", "0");
        assertRejected(() -> new GenerationRequest(prompt, 16, -4, s, SampleSettings.GREEDY), "--block-length", "-4");
        // The schedule is validated with the request's lengths.
        assertRejected(() -> new GenerationRequest(prompt, 48, 16, new LladaSchedule(4), SampleSettings.GREEDY),
                "--steps 4", "3");
        assertRejected(() -> new GenerationRequest(prompt, 16, 16, new ThresholdSchedule(0), SampleSettings.GREEDY),
                "--threshold");
        GenerationRequest ok = new GenerationRequest(prompt, 48, 16, new LladaSchedule(6), SampleSettings.GREEDY);
        assertEquals(3, ok.blockCount());
        assertEquals(51, ok.totalLength());
    }

    /** The registry names each schedule once: parse, canonical parameter, make, and the schedule's own description. */
    @Test
    void theRegistryNamesAndMakesEverySchedule() {
        assertEquals(List.of("llada", "pyramid", "threshold", "dream", "llada2"), ScheduleKind.names());
        for (ScheduleKind kind : ScheduleKind.values()) {
            assertEquals(kind, ScheduleKind.parse(kind.cliName()));
            String value = kind == ScheduleKind.THRESHOLD ? "0.50" : " 8";
            Schedule schedule = kind.make(value);
            assertTrue(schedule.describe().startsWith(kind.cliName() + " --" + kind.parameter() + " "
                    + kind.canonical(value)), schedule.describe());
        }
        assertEquals("0.5", ScheduleKind.THRESHOLD.canonical("0.50"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> ScheduleKind.parse("fast"));
        assertEquals("unknown schedule 'fast' (use llada, pyramid, threshold, dream or llada2)", unknown.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ScheduleKind.LLADA.make("x"));
        assertEquals("bad llada steps 'x'", bad.getMessage());
    }
}

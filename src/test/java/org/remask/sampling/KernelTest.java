package org.remask.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.remask.engine.Commits;
import org.remask.engine.DType;
import org.remask.engine.Golden;
import org.remask.engine.LogitsBuffer;
import org.remask.engine.Model;
import org.remask.engine.RemaskException;
import org.remask.engine.Remasking;
import org.remask.engine.SampleSettings;
import org.remask.engine.Samples;
import org.remask.engine.TokenBuffer;

/**
 * The fused sampling pass and the masked commit on hand-made logits, checked against the same
 * arithmetic done in Java (double precision) over the full row.
 */
class KernelTest {
    private static final int V = 384;
    private static final int MASK = 336;
    private static final int EOS = 129;
    private static final float LOW = -1e4f;

    private static Model model;

    @BeforeAll
    static void load() {
        model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
        assertEquals(V, model.info().vocabSize());
        assertEquals(MASK, model.info().maskTokenId());
        assertEquals(EOS, model.info().eosTokenId());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    // ---- helpers --------------------------------------------------------------------------------

    /** A row of {@code fill} with the given (token, logit) pairs set. */
    static float[] row(float fill, double... tokenLogitPairs) {
        float[] r = new float[V];
        Arrays.fill(r, fill);
        for (int i = 0; i < tokenLogitPairs.length; i += 2) {
            r[(int) tokenLogitPairs[i]] = (float) tokenLogitPairs[i + 1];
        }
        return r;
    }

    static float[] concat(float[]... rows) {
        float[] all = new float[rows.length * V];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, all, i * V, V);
        }
        return all;
    }

    /** A row of random logits in [-4, 4), multiples of 1/8 (so float arithmetic on them is exact). */
    static float[] randomRow(Random random) {
        float[] r = new float[V];
        for (int v = 0; v < V; v++) {
            r[v] = (random.nextInt(64) - 32) / 8f;
        }
        return r;
    }

    static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int v = 0; v < logits.length; v++) {
            p[v] = logits[v] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(logits[v] - max);
            sum += p[v];
        }
        for (int v = 0; v < logits.length; v++) {
            p[v] /= sum;
        }
        return p;
    }

    /** The first index of the largest entry, skipping {@code skip}. */
    static int argmax(float[] logits, int... skip) {
        int best = -1;
        outer:
        for (int v = 0; v < logits.length; v++) {
            for (int s : skip) {
                if (v == s) {
                    continue outer;
                }
            }
            if (best < 0 || logits[v] > logits[best]) {
                best = v;
            }
        }
        return best;
    }

    static Samples.Host sample(float[][] rows, SampleSettings settings, long step) {
        try (LogitsBuffer logits = model.newLogits(rows.length);
                Samples samples = model.newSamples(rows.length)) {
            logits.write(0, concat(rows));
            logits.sample(rows.length, settings, step, samples);
            return samples.read(rows.length);
        }
    }

    static SampleSettings settings(Remasking rule) {
        return new SampleSettings(0, 0, rule, false, false, -1, 0);
    }

    // ---- x0 and confidence at temperature 0 -----------------------------------------------------

    @Test
    void argmaxAndSoftmaxConfidence() {
        Random random = new Random(11);
        float[][] rows = new float[12][];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = randomRow(random);
            rows[r][MASK] = LOW;
        }
        rows[0] = row(LOW, 7, 1.0, 3, 0.5, 200, 0.25); // one clear winner
        rows[1] = row(LOW, 40, 2.0, 20, 2.0, 300, 2.0, 10, 1.0); // a three-way tie: the first index wins
        rows[2] = row(Float.NEGATIVE_INFINITY, 383, 0.0); // the last token, everything else -inf
        rows[3] = row(0f); // all equal: token 0, probability 1/V
        Samples.Host out = sample(rows, SampleSettings.GREEDY, 0);
        assertEquals(7, out.x0()[0]);
        assertEquals(20, out.x0()[1], "ties go to the lower index");
        assertEquals(383, out.x0()[2]);
        assertEquals(0, out.x0()[3]);
        for (int r = 0; r < rows.length; r++) {
            int expected = argmax(rows[r], MASK);
            assertEquals(expected, out.x0()[r], "x0 of row " + r);
            double p = softmax(rows[r])[expected];
            assertEquals(p, out.confidence()[r], 1e-6, "confidence of row " + r);
        }
        assertEquals(1.0 / V, out.confidence()[3], 1e-6);
        assertEquals(1.0, out.confidence()[2], 1e-6);
    }

    @Test
    void maskIsNeverX0() {
        float[][] rows = {
            row(LOW, MASK, 50.0, 12, 1.0, 13, 0.5),
            row(LOW, MASK, 3.0, 12, 2.0, 13, 1.0),
            row(LOW, MASK, 1.0, 335, 1.0, 337, 1.0), // the mask ties its neighbours; 335 is the first that may win
            row(LOW, MASK, 1.0), // every other token at -1e4
        };
        for (Remasking rule : Remasking.values()) {
            Samples.Host out = sample(rows, settings(rule), 0);
            for (int r = 0; r < rows.length; r++) {
                assertNotEquals(MASK, out.x0()[r], rule + ", row " + r);
            }
            assertEquals(12, out.x0()[0], rule.toString());
            assertEquals(12, out.x0()[1], rule.toString());
            assertEquals(335, out.x0()[2], rule.toString());
            assertEquals(0, out.x0()[3], rule + ": the first of the equally unlikely tokens");
        }
        // At temperature > 0 too, over many noise draws.
        SampleSettings hot = new SampleSettings(0, 1.0, Remasking.LOW_CONFIDENCE, false, false, -1, 5);
        float[][] many = new float[500][];
        Arrays.fill(many, row(LOW, MASK, 4.0, 12, 0.0, 13, 0.0));
        Samples.Host out = sample(many, hot, 3);
        for (long x0 : out.x0()) {
            assertTrue(x0 == 12 || x0 == 13, "x0 " + x0);
        }
        // Confidence is over the un-noised distribution of the whole row (mask included, as LLaDA's softmax).
        Samples.Host greedy = sample(new float[][] {rows[1]}, SampleSettings.GREEDY, 0);
        assertEquals(softmax(rows[1])[12], greedy.confidence()[0], 1e-6);
    }

    @Test
    void marginAndEntropy() {
        Random random = new Random(23);
        float[][] rows = new float[10][];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = randomRow(random);
            rows[r][MASK] = LOW;
        }
        rows[0] = row(LOW, 5, 3.0); // one token: margin 1, entropy 0
        rows[1] = row(LOW, 5, 1.0, 6, 1.0); // two equal: margin 0, entropy -log 2
        rows[2] = row(LOW, 5, 2.0, 6, 1.0, 7, 0.0, 8, -1.0);
        rows[3] = row(0f); // uniform: entropy -log V
        rows[3][MASK] = LOW;

        Samples.Host margin = sample(rows, settings(Remasking.MARGIN), 0);
        Samples.Host entropy = sample(rows, settings(Remasking.ENTROPY), 0);
        for (int r = 0; r < rows.length; r++) {
            double[] p = softmax(rows[r]);
            double[] sorted = p.clone();
            Arrays.sort(sorted);
            double expectedMargin = sorted[V - 1] - sorted[V - 2];
            double expectedEntropy = 0;
            for (double q : p) {
                expectedEntropy += q > 0 ? q * Math.log(q) : 0;
            }
            int x0 = argmax(rows[r], MASK);
            assertEquals(x0, margin.x0()[r], "margin x0 of row " + r);
            assertEquals(x0, entropy.x0()[r], "entropy x0 of row " + r);
            assertEquals(expectedMargin, margin.confidence()[r], 1e-5, "margin of row " + r);
            assertEquals(expectedEntropy, entropy.confidence()[r], 1e-5, "entropy of row " + r);
        }
        assertEquals(1.0, margin.confidence()[0], 1e-6);
        assertEquals(0.0, margin.confidence()[1], 1e-6);
        assertEquals(0.0, entropy.confidence()[0], 1e-6);
        assertEquals(-Math.log(2), entropy.confidence()[1], 1e-6);
        assertEquals(-Math.log(V - 1), entropy.confidence()[3], 1e-5);
    }

    @Test
    void randomRuleIsAUniformDrawIndependentOfTheLogits() {
        float[][] rows = new float[2000][];
        Arrays.fill(rows, row(LOW, 9, 5.0));
        SampleSettings s = new SampleSettings(0, 0, Remasking.RANDOM, false, false, -1, 77);
        Samples.Host out = sample(rows, s, 4);
        double mean = 0;
        for (int r = 0; r < rows.length; r++) {
            assertEquals(9, out.x0()[r]);
            assertTrue(out.confidence()[r] > 0 && out.confidence()[r] < 1, "draw " + out.confidence()[r]);
            mean += out.confidence()[r];
        }
        mean /= rows.length;
        // Mean of 2000 uniforms: standard deviation 0.0065.
        assertEquals(0.5, mean, 0.04);
        assertFalse(Arrays.equals(out.confidence(), sample(rows, s, 5).confidence()), "a new step draws anew");
    }

    // ---- classifier-free guidance ---------------------------------------------------------------

    @Test
    void guidanceCombinesConditionalAndUnconditional() {
        double scale = 1.5;
        Random random = new Random(5);
        int n = 6;
        float[][] cond = new float[n][];
        float[][] uncond = new float[n][];
        for (int r = 0; r < n; r++) {
            cond[r] = randomRow(random);
            uncond[r] = randomRow(random);
            cond[r][MASK] = LOW;
            uncond[r][MASK] = LOW;
        }
        // Row 0: C prefers 10, but U prefers it just as much, so guidance turns to 20.
        cond[0] = row(LOW, 10, 5.0, 20, 4.5);
        uncond[0] = row(LOW, 10, 5.0, 20, 2.0);
        float[][] guidedRows = new float[2 * n][];
        System.arraycopy(cond, 0, guidedRows, 0, n);
        System.arraycopy(uncond, 0, guidedRows, n, n);

        SampleSettings guided = new SampleSettings(scale, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 0);
        Samples.Host out;
        try (LogitsBuffer logits = model.newLogits(2 * n);
                Samples samples = model.newSamples(n)) {
            logits.write(0, concat(guidedRows));
            logits.sample(n, guided, 0, samples);
            out = samples.read(n);
        }
        boolean differs = false;
        for (int r = 0; r < n; r++) {
            float[] combined = new float[V];
            for (int v = 0; v < V; v++) {
                combined[v] = uncond[r][v] + (float) (scale + 1) * (cond[r][v] - uncond[r][v]);
            }
            int expected = argmax(combined, MASK);
            assertEquals(expected, out.x0()[r], "guided x0 of row " + r);
            assertEquals(softmax(combined)[expected], out.confidence()[r], 1e-6, "guided confidence of row " + r);
            differs |= expected != argmax(cond[r], MASK);
        }
        assertEquals(20, out.x0()[0]);
        assertEquals(10, argmax(cond[0], MASK));
        assertTrue(differs);
        // Unguided on the same conditional rows: argmax(C).
        Samples.Host plain = sample(cond, SampleSettings.GREEDY, 0);
        assertEquals(10, plain.x0()[0]);
    }

    // ---- EOS flags ------------------------------------------------------------------------------

    @Test
    void eosLogitOff() {
        float[][] rows = {row(LOW, EOS, 9.0, 30, 2.0, 31, 1.0), row(LOW, EOS, 9.0)};
        Samples.Host on = sample(rows, SampleSettings.GREEDY, 0);
        assertEquals(EOS, on.x0()[0], "without the flag EOS wins");

        SampleSettings off = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, true, false, -1, 0);
        Samples.Host out = sample(rows, off, 0);
        assertEquals(30, out.x0()[0]);
        assertNotEquals(EOS, out.x0()[1]);
        // EOS's logit counts as -inf: the probability is over the other tokens.
        float[] withoutEos = rows[0].clone();
        withoutEos[EOS] = Float.NEGATIVE_INFINITY;
        assertEquals(softmax(withoutEos)[30], out.confidence()[0], 1e-6);

        SampleSettings hot = new SampleSettings(0, 2.0, Remasking.LOW_CONFIDENCE, true, false, -1, 1);
        float[][] many = new float[1000][];
        Arrays.fill(many, rows[0]);
        for (long x0 : sample(many, hot, 0).x0()) {
            assertNotEquals(EOS, x0);
        }
    }

    @Test
    void eosConfidenceOffCommitsEosLast() {
        int eot = 7;
        // Row 0 predicts EOS almost surely; row 1 is unsure of token 40; row 2 predicts the EoT token.
        float[][] rows = {row(LOW, EOS, 8.0, 50, 0.0), row(0f, 40, 1.0), row(LOW, eot, 8.0, 50, 0.0)};
        Samples.Host plain = sample(rows, SampleSettings.GREEDY, 0);
        assertTrue(plain.confidence()[0] > 0.99 && plain.confidence()[1] < 0.1, Arrays.toString(plain.confidence()));

        SampleSettings off = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, true, eot, 0);
        Samples.Host out = sample(rows, off, 0);
        assertEquals(EOS, out.x0()[0], "the flag changes only the confidence");
        assertEquals(Float.NEGATIVE_INFINITY, out.confidence()[0]);
        assertEquals(plain.confidence()[1], out.confidence()[1]);
        assertEquals(eot, out.x0()[2]);
        assertEquals(Float.NEGATIVE_INFINITY, out.confidence()[2]);

        SampleSettings noEot = new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, true, -1, 0);
        assertEquals(plain.confidence()[2], sample(rows, noEot, 0).confidence()[2], "no EoT id: token 7 is ordinary");

        // Through the commit: two masked positions, k = 1.
        float[][] two = {rows[0], rows[1]};
        assertArrayEquals(new long[] {0, 1}, commitOrder(two, SampleSettings.GREEDY), "control: EOS is more confident");
        assertArrayEquals(new long[] {1, 0}, commitOrder(two, off), "with the flag EOS commits last");
        // The other rules too.
        for (Remasking rule : new Remasking[] {Remasking.MARGIN, Remasking.ENTROPY, Remasking.RANDOM}) {
            SampleSettings s = new SampleSettings(0, 0, rule, false, true, -1, 0);
            assertEquals(Float.NEGATIVE_INFINITY, sample(two, s, 0).confidence()[0], rule.toString());
            assertArrayEquals(new long[] {1, 0}, commitOrder(two, s), rule.toString());
        }
    }

    /** Samples the rows, then commits one at a time into a fully masked block; the positions in commit order. */
    private static long[] commitOrder(float[][] rows, SampleSettings settings) {
        int n = rows.length;
        try (LogitsBuffer logits = model.newLogits(n);
                Samples samples = model.newSamples(n);
                TokenBuffer tokens = model.newTokens(1, n);
                Commits commits = new Commits(n)) {
            logits.write(0, concat(rows));
            logits.sample(n, settings, 0, samples);
            long[] order = new long[n];
            for (int i = 0; i < n; i++) {
                assertEquals(1, tokens.commit(samples, 0, n, 1, Double.POSITIVE_INFINITY, commits));
                order[i] = commits.position(0);
            }
            return order;
        }
    }

    // ---- temperature > 0 ------------------------------------------------------------------------

    private static final int[] LAW_TOKENS = {3, 77, 200, 335, 337};
    private static final double[] LAW_LOGITS = {0, 0.5, 1, 1.5, 2};
    private static final int LAW_ROWS = 5000;
    private static final int LAW_STEPS = 4;
    /** The 0.999 quantile of chi-square with 4 degrees of freedom. */
    private static final double CHI2_4_999 = 18.467;

    static float[] lawRow() {
        float[] r = row(Float.NEGATIVE_INFINITY);
        for (int i = 0; i < LAW_TOKENS.length; i++) {
            r[LAW_TOKENS[i]] = (float) LAW_LOGITS[i];
        }
        return r;
    }

    static double[] law(double temperature) {
        double[] p = new double[LAW_LOGITS.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(LAW_LOGITS[i] / temperature);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static double chiSquare(long[] observed, double[] p) {
        long total = Arrays.stream(observed).sum();
        double chi2 = 0;
        for (int i = 0; i < p.length; i++) {
            double expected = total * p[i];
            chi2 += (observed[i] - expected) * (observed[i] - expected) / expected;
        }
        return chi2;
    }

    /** x0 counts per law token over LAW_STEPS calls of LAW_ROWS identical rows. */
    static long[] lawCounts(double temperature, long seed) {
        float[][] rows = new float[LAW_ROWS][];
        Arrays.fill(rows, lawRow());
        SampleSettings s = new SampleSettings(0, temperature, Remasking.LOW_CONFIDENCE, false, false, -1, seed);
        long[] counts = new long[LAW_TOKENS.length];
        try (LogitsBuffer logits = model.newLogits(LAW_ROWS);
                Samples samples = model.newSamples(LAW_ROWS)) {
            logits.write(0, concat(rows));
            for (int step = 0; step < LAW_STEPS; step++) {
                logits.sample(LAW_ROWS, s, step, samples);
                for (long x0 : samples.read(LAW_ROWS).x0()) {
                    int index = Arrays.binarySearch(LAW_TOKENS, (int) x0);
                    assertTrue(index >= 0, "x0 " + x0 + " has probability 0");
                    counts[index]++;
                }
            }
        }
        return counts;
    }

    @Test
    void temperatureSamplesSoftmaxOfLogitsOverTemperature() {
        long[] counts = lawCounts(0.7, 1234);
        double fit = chiSquare(counts, law(0.7));
        double wrongTemperature = chiSquare(counts, law(1.0));
        double greedyLaw = chiSquare(counts, law(0.5));
        System.out.printf("chi-square T=0.7 counts %s: vs softmax(l/0.7) %.3f, vs softmax(l) %.1f, vs softmax(l/0.5) %.1f%n",
                Arrays.toString(counts), fit, wrongTemperature, greedyLaw);
        assertTrue(fit < CHI2_4_999, "chi-square " + fit + " against softmax(logits / 0.7), counts " + Arrays.toString(counts));
        assertTrue(wrongTemperature > 10 * CHI2_4_999, "the test must reject softmax(logits): " + wrongTemperature);
        assertTrue(greedyLaw > 10 * CHI2_4_999, "the test must reject softmax(logits / 0.5): " + greedyLaw);

        long[] hotter = lawCounts(2.0, 99);
        double fitHot = chiSquare(hotter, law(2.0));
        System.out.printf("chi-square T=2.0 counts %s: vs softmax(l/2) %.3f, vs softmax(l/0.7) %.1f%n",
                Arrays.toString(hotter), fitHot, chiSquare(hotter, law(0.7)));
        assertTrue(fitHot < CHI2_4_999, "chi-square " + fitHot + " against softmax(logits / 2)");
        assertTrue(chiSquare(hotter, law(0.7)) > 10 * CHI2_4_999);
    }

    @Test
    void confidenceAtTemperatureIsTheUnnoisedProbability() {
        float[][] rows = new float[300][];
        Arrays.fill(rows, lawRow());
        SampleSettings s = new SampleSettings(0, 0.7, Remasking.LOW_CONFIDENCE, false, false, -1, 8);
        Samples.Host out = sample(rows, s, 2);
        double[] p = softmax(lawRow());
        for (int r = 0; r < rows.length; r++) {
            assertEquals(p[(int) out.x0()[r]], out.confidence()[r], 1e-6, "row " + r);
        }
    }

    @Test
    void noiseDependsOnSeedStepRowAndTokenOnly() {
        float[][] rows = new float[2000][];
        Arrays.fill(rows, lawRow());
        SampleSettings seedA = new SampleSettings(0, 0.7, Remasking.LOW_CONFIDENCE, false, false, -1, 42);
        SampleSettings seedB = new SampleSettings(0, 0.7, Remasking.LOW_CONFIDENCE, false, false, -1, 43);
        long[] first = sample(rows, seedA, 3).x0();
        assertArrayEquals(first, sample(rows, seedA, 3).x0(), "same seed and step: the same draws");
        assertFalse(Arrays.equals(first, sample(rows, seedB, 3).x0()), "another seed: other draws");
        assertFalse(Arrays.equals(first, sample(rows, seedA, 4).x0()), "another step: other draws");
        // Row r's draw does not depend on how many rows the call has.
        float[][] fewer = Arrays.copyOf(rows, 17);
        assertArrayEquals(Arrays.copyOf(first, 17), sample(fewer, seedA, 3).x0());
        // Greedy ignores the seed.
        assertArrayEquals(sample(rows, SampleSettings.GREEDY, 0).x0(), sample(rows,
                new SampleSettings(0, 0, Remasking.LOW_CONFIDENCE, false, false, -1, 9), 7).x0());
    }

    // ---- the masked commit ----------------------------------------------------------------------

    /**
     * A row whose argmax is {@code token} (at logit 0) with probability about {@code confidence}: the rest of
     * the mass is spread over 200 other tokens.
     */
    static float[] rowWithConfidence(int token, double confidence) {
        assertTrue(token + 200 < MASK, "fixture keeps the spread below the mask id");
        float[] r = row(LOW);
        double spread = Math.log((1 / confidence - 1) / 200);
        for (int v = token + 1; v <= token + 200; v++) {
            r[v] = (float) spread;
        }
        r[token] = 0;
        return r;
    }

    /** Samples per position of a block (sample row i is block position i), greedy, with the given confidences. */
    static Samples sampled(LogitsBuffer logits, int[] tokens, double[] confidence) {
        float[][] rows = new float[tokens.length][];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = rowWithConfidence(tokens[i], confidence[i]);
        }
        logits.write(0, concat(rows));
        Samples samples = model.newSamples(tokens.length);
        logits.sample(tokens.length, SampleSettings.GREEDY, 0, samples);
        Samples.Host host = samples.read(tokens.length);
        for (int i = 0; i < rows.length; i++) {
            assertEquals(tokens[i], host.x0()[i]);
            assertEquals(confidence[i], host.confidence()[i], 1e-5, "fixture confidence " + i);
        }
        return samples;
    }

    static long[] positions(Commits commits) {
        long[] p = new long[commits.count()];
        for (int i = 0; i < p.length; i++) {
            p[i] = commits.position(i);
        }
        return p;
    }

    static long[] committedTokens(Commits commits) {
        long[] t = new long[commits.count()];
        for (int i = 0; i < t.length; i++) {
            t[i] = commits.token(i);
        }
        return t;
    }

    @Test
    void commitTopKOfMaskedPositionsInTheBlock() {
        // A sequence of 16, block [4, 12): sample row i is position 4 + i.
        int[] x0 = {100, 101, 102, 103, 104, 105, 106, 107};
        double[] confidence = {0.30, 0.90, 0.99, 0.50, 0.80, 0.97, 0.70, 0.20};
        try (LogitsBuffer logits = model.newLogits(8);
                Samples samples = sampled(logits, x0, confidence);
                TokenBuffer tokens = model.newTokens(1, 16);
                Commits commits = new Commits(8)) {
            // Positions 6 and 9 (rows 2 and 5, the most confident) already hold tokens.
            tokens.write(6, new long[] {55});
            tokens.write(9, new long[] {56});

            assertEquals(2, tokens.commit(samples, 4, 12, 2, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {5, 8}, positions(commits), "rows 1 and 4, ascending; 6 and 9 are not masked");
            assertArrayEquals(new long[] {101, 104}, committedTokens(commits));

            assertEquals(3, tokens.commit(samples, 4, 12, 3, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {4, 7, 10}, positions(commits), "then rows 6, 3 and 0 by confidence");
            assertArrayEquals(new long[] {100, 103, 106}, committedTokens(commits));

            // k larger than what is still masked (row 7 only): only that.
            assertEquals(1, tokens.commit(samples, 4, 12, 8, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {11}, positions(commits));
            assertArrayEquals(new long[] {107}, committedTokens(commits));

            long[] mask = {MASK, MASK, MASK, MASK};
            assertArrayEquals(mask, tokens.read(0, 4), "positions before the block stay masked");
            assertArrayEquals(mask, tokens.read(12, 4), "positions after the block stay masked");
            assertArrayEquals(new long[] {100, 101, 55, 103, 104, 56, 106, 107}, tokens.read(4, 8));

            // Nothing masked left: a further commit commits nothing.
            assertEquals(0, tokens.commit(samples, 4, 12, 1, Double.POSITIVE_INFINITY, commits));
        }
    }

    @Test
    void commitRankingOrderIsNotPositionOrder() {
        int[] x0 = {10, 11, 12, 13, 14, 15};
        double[] confidence = {0.40, 0.95, 0.30, 0.90, 0.20, 0.85};
        try (LogitsBuffer logits = model.newLogits(6);
                Samples samples = sampled(logits, x0, confidence);
                TokenBuffer tokens = model.newTokens(1, 6);
                Commits commits = new Commits(6)) {
            assertEquals(3, tokens.commit(samples, 0, 6, 3, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {1, 3, 5}, positions(commits));
            assertArrayEquals(new long[] {11, 13, 15}, committedTokens(commits));
        }
    }

    @Test
    void commitTiesGoToTheLowerIndex() {
        float[] same = rowWithConfidence(60, 0.5);
        float[][] rows = {rowWithConfidence(61, 0.2), same, same, same, same, rowWithConfidence(62, 0.1)};
        try (LogitsBuffer logits = model.newLogits(rows.length);
                Samples samples = model.newSamples(rows.length);
                TokenBuffer tokens = model.newTokens(1, rows.length);
                Commits commits = new Commits(rows.length)) {
            logits.write(0, concat(rows));
            logits.sample(rows.length, SampleSettings.GREEDY, 0, samples);
            float[] c = samples.read(rows.length).confidence();
            assertTrue(c[1] == c[2] && c[2] == c[3] && c[3] == c[4], "fixture: exact ties");
            assertEquals(2, tokens.commit(samples, 0, rows.length, 2, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {1, 2}, positions(commits));
            assertEquals(1, tokens.commit(samples, 0, rows.length, 1, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {3}, positions(commits));
        }
    }

    @Test
    void commitThreshold() {
        int[] x0 = {20, 21, 22, 23, 24, 25};
        double[] confidence = {0.90, 0.30, 0.95, 0.60, 0.80, 0.20};
        try (LogitsBuffer logits = model.newLogits(6);
                Samples samples = sampled(logits, x0, confidence)) {
            float[] c = samples.read(6).confidence();
            // Every candidate at or above the threshold, at least k.
            assertArrayEquals(new long[] {0, 2, 4}, commitOnce(samples, 1, 0.75));
            assertArrayEquals(new long[] {0, 2, 3, 4}, commitOnce(samples, 4, 0.75), "k beats the threshold");
            assertArrayEquals(new long[] {2}, commitOnce(samples, 1, 0.99), "nothing clears it: still k");
            assertArrayEquals(new long[] {0, 2, 4}, commitOnce(samples, 1, c[4]), "equal to the threshold commits");
            assertArrayEquals(new long[] {0, 2}, commitOnce(samples, 1, Math.nextUp(c[4])));
            assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, commitOnce(samples, 1, 0.0), "all, never more");
            assertArrayEquals(new long[] {2}, commitOnce(samples, 1, Double.POSITIVE_INFINITY));
        }
    }

    private static long[] commitOnce(Samples samples, int k, double threshold) {
        try (TokenBuffer tokens = model.newTokens(1, 6);
                Commits commits = new Commits(6)) {
            int count = tokens.commit(samples, 0, 6, k, threshold, commits);
            assertEquals(count, commits.count());
            return positions(commits);
        }
    }

    @Test
    void commitThresholdCountsOnlyMaskedPositions() {
        int[] x0 = {20, 21, 22, 23};
        double[] confidence = {0.9, 0.9, 0.9, 0.9};
        try (LogitsBuffer logits = model.newLogits(4);
                Samples samples = sampled(logits, x0, confidence);
                TokenBuffer tokens = model.newTokens(1, 4);
                Commits commits = new Commits(4)) {
            tokens.write(1, new long[] {7, 8});
            assertEquals(2, tokens.commit(samples, 0, 4, 1, 0.5, commits));
            assertArrayEquals(new long[] {0, 3}, positions(commits));
            assertArrayEquals(new long[] {20, 7, 8, 23}, tokens.read(0, 4));
        }
    }

    @Test
    void commitWritesEveryRowOfTheBatch() {
        int[] x0 = {30, 31, 32, 33};
        double[] confidence = {0.5, 0.9, 0.7, 0.3};
        try (LogitsBuffer logits = model.newLogits(4);
                Samples samples = sampled(logits, x0, confidence);
                TokenBuffer tokens = model.newTokens(2, 6);
                Commits commits = new Commits(4)) {
            tokens.write(0, new long[] {1, 2}); // row 0's prompt
            // Row 1 keeps its prompt masked (the unconditional copy).
            assertEquals(2, tokens.commit(samples, 2, 6, 2, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {3, 4}, positions(commits));
            assertArrayEquals(new long[] {1, 2, MASK, 31, 32, MASK}, tokens.read(0, 6));
            assertArrayEquals(new long[] {MASK, MASK, MASK, 31, 32, MASK}, tokens.read(6, 6));
            assertEquals(2, tokens.commit(samples, 2, 6, 5, Double.POSITIVE_INFINITY, commits));
            assertArrayEquals(new long[] {1, 2, 30, 31, 32, 33}, tokens.read(0, 6));
            assertArrayEquals(new long[] {MASK, MASK, 30, 31, 32, 33}, tokens.read(6, 6));
        }
    }

    @Test
    void commitRejectsANegativeKAndCommitsByThresholdAloneAtZero() {
        try (LogitsBuffer logits = model.newLogits(2);
                Samples samples = sampled(logits, new int[] {1, 2}, new double[] {0.5, 0.6});
                TokenBuffer tokens = model.newTokens(1, 2);
                Commits commits = new Commits(2)) {
            RemaskException e = assertThrows(RemaskException.class,
                    () -> tokens.commit(samples, 0, 2, -1, Double.POSITIVE_INFINITY, commits));
            assertEquals(RemaskException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().contains("k = -1"), e.getMessage());
            assertArrayEquals(new long[] {MASK, MASK}, tokens.read(0, 2), "a rejected commit writes nothing");
            assertEquals(0, tokens.commit(samples, 0, 2, 0, Double.POSITIVE_INFINITY, commits), "k 0, no threshold");
            assertEquals(1, tokens.commit(samples, 0, 2, 0, 0.55, commits), "k 0: those at or above the threshold");
            assertEquals(1, commits.position(0));
            assertArrayEquals(new long[] {MASK, 2}, tokens.read(0, 2));
        }
    }

    /** The families' calls refuse bad values with the native message, and write nothing. */
    @Test
    void theFamiliesCallsRefuseBadValues() {
        try (LogitsBuffer logits = model.newLogits(2);
                Samples samples = sampled(logits, new int[] {1, 2}, new double[] {0.5, 0.6});
                TokenBuffer tokens = model.newTokens(1, 2);
                Commits commits = new Commits(2)) {
            refused(() -> logits.truncate(3, 1, 0), "rows 3 outside a logits buffer of 2");
            refused(() -> logits.truncate(2, 0, 0), "top_p must be above 0");
            refused(() -> logits.truncate(2, 1, -1), "top_k must be 0 (off) or at least 1");
            refused(() -> samples.gumbel(2, 0, 0, 0), "alg_temp must be above 0");
            refused(() -> samples.gumbel(3, 1, 0, 0), "rows 3 outside a samples buffer of 2");
            refused(() -> tokens.commitOrigin(samples, 0, 2, 1.5, 0, 0, MemorySegment.NULL, commits),
                    "p_transfer must lie in [0, 1]");
            refused(() -> model.forwardBlocks(tokens, null, 0, 0, 2, 0, 2, logits), "block length must be at least 1");
            refused(() -> model.forwardBlocks(tokens, null, 1, 1, 2, 1, 2, logits),
                    "without a cache a block-causal forward computes from position 0");
            assertArrayEquals(new long[] {MASK, MASK}, tokens.read(0, 2), "nothing committed");
        }
    }

    private static void refused(Executable call, String message) {
        RemaskException e = assertThrows(RemaskException.class, call);
        assertEquals(RemaskException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}

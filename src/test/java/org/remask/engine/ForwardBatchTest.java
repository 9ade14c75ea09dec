package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** One forward over several generations' sequences of different lengths, against each one's own forward. */
class ForwardBatchTest {
    /** A sequence of the given length, ids below the tiny checkpoints' mask ids. */
    private static long[] ids(int length, int salt) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = (i * 37L + salt * 11L) % 300;
        }
        return ids;
    }

    @ParameterizedTest
    @ValueSource(strings = {Golden.F32, "families/tiny-dream-f32", "families/tiny-lladamoe-f32"})
    void eachGenerationGetsTheLogitsOfItsOwnForward(String checkpoint) {
        try (Model model = Model.load(Golden.checkpoint(checkpoint), "cpu", DType.FLOAT32);
                ForwardBatch batch = new ForwardBatch(4)) {
            // lengths, rows per generation (a guided one has two), and the LM head's rows: a block at the
            // sequence's start (Dream reads row 0 from output 0), inside, and at its end.
            int[] lengths = {23, 9, 16, 30};
            int[] sequences = {1, 2, 1, 1};
            int[][] ranges = {{7, 15}, {0, 4}, {12, 16}, {22, 30}};
            List<TokenBuffer> tokens = new ArrayList<>();
            List<LogitsBuffer> logits = new ArrayList<>();
            try {
                for (int g = 0; g < lengths.length; g++) {
                    TokenBuffer t = model.newTokens(sequences[g], lengths[g]);
                    for (int b = 0; b < sequences[g]; b++) {
                        t.write((long) b * lengths[g], ids(lengths[g], g * 2 + b));
                    }
                    tokens.add(t);
                    logits.add(model.newLogits(sequences[g] * (ranges[g][1] - ranges[g][0])));
                    batch.add(t, ranges[g][0], ranges[g][1], logits.get(g));
                }
                model.forward(batch);
                for (int g = 0; g < lengths.length; g++) {
                    int rows = sequences[g] * (ranges[g][1] - ranges[g][0]);
                    float[][] got = logits.get(g).readRows(rows);
                    try (LogitsBuffer alone = model.newLogits(rows)) {
                        model.forward(tokens.get(g), ranges[g][0], ranges[g][1], alone);
                        float[][] want = alone.readRows(rows);
                        for (int r = 0; r < rows; r++) {
                            assertArrayEquals(want[r], got[r], 1e-4f, checkpoint + ": generation " + g + ", row " + r);
                        }
                    }
                }
            } finally {
                tokens.forEach(TokenBuffer::close);
                logits.forEach(LogitsBuffer::close);
            }
        }
    }

    /**
     * Cached forwards beside a plain one: a cache-filling forward over every position, a prefix step (the block
     * on to the end) and a dual step (the block alone), each against the same call on its own, on a twin cache.
     */
    @ParameterizedTest
    @ValueSource(strings = {Golden.F32, "families/tiny-dream-f32"})
    void cachedStepsGetTheLogitsOfTheirOwnCachedForward(String checkpoint) {
        try (Model model = Model.load(Golden.checkpoint(checkpoint), "cpu", DType.FLOAT32);
                ForwardBatch batch = new ForwardBatch(4);
                TokenBuffer fill = model.newTokens(1, 20);
                TokenBuffer prefix = model.newTokens(1, 26);
                TokenBuffer dual = model.newTokens(2, 17);
                TokenBuffer plain = model.newTokens(1, 11);
                KvCache fillCache = model.newCache(1, 20);
                KvCache prefixCache = model.newCache(1, 26);
                KvCache prefixTwin = model.newCache(1, 26);
                KvCache dualCache = model.newCache(2, 17);
                KvCache dualTwin = model.newCache(2, 17);
                KvCache fillTwin = model.newCache(1, 20);
                LogitsBuffer l0 = model.newLogits(8);
                LogitsBuffer l1 = model.newLogits(8);
                LogitsBuffer l2 = model.newLogits(16);
                LogitsBuffer l3 = model.newLogits(8);
                LogitsBuffer alone = model.newLogits(16)) {
            fill.write(0, ids(20, 1));
            prefix.write(0, ids(26, 2));
            dual.write(0, ids(17, 3));
            dual.write(17, ids(17, 4));
            plain.write(0, ids(11, 5));
            for (KvCache c : new KvCache[] {prefixCache, prefixTwin}) {
                model.forward(prefix, c, 0, 26, 10, 18, alone);
            }
            for (KvCache c : new KvCache[] {dualCache, dualTwin}) {
                model.forward(dual, c, 0, 17, 9, 17, alone);
            }
            prefix.write(12, new long[] {7, 8, 9});  // the block's later step sees committed tokens
            dual.write(10, new long[] {7});
            batch.add(fill, fillCache, 0, 20, 4, 12, l0);
            batch.add(prefix, prefixCache, 10, 26, 10, 18, l1);
            batch.add(dual, dualCache, 9, 17, 9, 17, l2);
            batch.add(plain, 3, 11, l3);
            model.forward(batch);
            model.forward(fill, fillTwin, 0, 20, 4, 12, alone);
            assertClose(alone.readRows(8), l0.readRows(8), checkpoint + ": cache-filling forward");
            model.forward(prefix, prefixTwin, 10, 26, 10, 18, alone);
            assertClose(alone.readRows(8), l1.readRows(8), checkpoint + ": prefix step");
            model.forward(dual, dualTwin, 9, 17, 9, 17, alone);
            assertClose(alone.readRows(16), l2.readRows(16), checkpoint + ": dual step");
            model.forward(plain, 3, 11, alone);
            assertClose(alone.readRows(8), l3.readRows(8), checkpoint + ": plain forward");
            // The batched filling forward filled its cache: a partial step on it equals one on the twin.
            model.forward(fill, fillCache, 4, 12, 4, 12, l0);
            model.forward(fill, fillTwin, 4, 12, 4, 12, alone);
            assertClose(alone.readRows(8), l0.readRows(8), checkpoint + ": a step on the cache the batch filled");
        }
    }

    private static void assertClose(float[][] want, float[][] got, String what) {
        for (int r = 0; r < want.length; r++) {
            assertArrayEquals(want[r], got[r], 1e-4f, what + ", row " + r);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void aBadGenerationFailsTheBatchBeforeAnythingIsWritten(int bad) {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                ForwardBatch batch = new ForwardBatch(2);
                TokenBuffer tokens = model.newTokens(1, 12);
                LogitsBuffer logits = model.newLogits(4);
                LogitsBuffer small = model.newLogits(2)) {
            logits.write(0, new float[] {42f});
            batch.add(tokens, 0, 4, logits);
            if (bad == 0) {
                batch.add(tokens, 8, 14, logits); // rows past the sequence's end
            } else {
                batch.add(tokens, 0, 4, small);   // too few logits rows
            }
            RemaskException e = assertThrows(RemaskException.class, () -> model.forward(batch));
            assertTrue(e.getMessage().contains(bad == 0 ? "are not a non-empty range" : "logits buffer holds 2 rows"),
                    e.getMessage());
            assertEquals(42f, logits.readRows(1)[0][0], "nothing was computed");
            batch.clear();
            assertThrows(IllegalArgumentException.class, () -> model.forward(batch));
            batch.add(tokens, 0, 4, logits);
            batch.add(tokens, 0, 4, logits);
            assertThrows(IllegalStateException.class, () -> batch.add(tokens, 0, 4, logits));
        }
        assertThrows(IllegalArgumentException.class, () -> new ForwardBatch(0));
    }
}

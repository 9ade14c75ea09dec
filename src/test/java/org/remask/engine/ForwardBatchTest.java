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

package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ForwardGoldenTest {

    static float[][] forward(Model model, long[] ids, int rowBegin, int rowEnd, int batch) {
        int rows = rowEnd - rowBegin;
        try (TokenBuffer tokens = model.newTokens(batch, ids.length);
                LogitsBuffer logits = model.newLogits(batch * rows)) {
            for (int b = 0; b < batch; b++) {
                tokens.write((long) b * ids.length, ids);
            }
            model.forward(tokens, rowBegin, rowEnd, logits);
            return logits.readRows(batch * rows);
        }
    }

    static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void float32LogitsMatchTheReferenceWithin1e4() {
        Golden.Forward golden = Golden.forward(Golden.F32);
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32)) {
            float[][] logits = forward(model, golden.inputIds(), 0, golden.inputIds().length, 1);
            assertEquals(golden.logits().length, logits.length);
            double worst = 0;
            for (int r = 0; r < logits.length; r++) {
                for (int v = 0; v < logits[r].length; v++) {
                    worst = Math.max(worst, Math.abs(logits[r][v] - golden.logits()[r][v]));
                }
            }
            assertTrue(worst < 1e-4, "max |logit - golden| = " + worst);
        }
    }

    @Test
    void bfloat16ShardedArgmaxMatchesOnEveryRow() {
        Golden.Forward golden = Golden.forward(Golden.BF16_SHARDED);
        try (Model model = Model.load(Golden.checkpoint(Golden.BF16_SHARDED), "cpu", DType.BFLOAT16)) {
            float[][] logits = forward(model, golden.inputIds(), 0, golden.inputIds().length, 1);
            for (int r = 0; r < logits.length; r++) {
                assertEquals(argmax(golden.logits()[r]), argmax(logits[r]), "argmax of row " + r);
            }
        }
    }

    @Test
    void lmHeadOnARangeOfRowsEqualsThoseRowsOfTheFullForward() {
        Golden.Forward golden = Golden.forward(Golden.F32);
        long[] ids = golden.inputIds();
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32)) {
            float[][] full = forward(model, ids, 0, ids.length, 1);
            float[][] block = forward(model, ids, 7, 15, 2);
            for (int b = 0; b < 2; b++) {
                for (int i = 0; i < 8; i++) {
                    // Batch 2 against batch 1: other GEMM shapes, so another summation order (seen 1.1e-5 apart).
                    assertArrayEquals(full[7 + i], block[b * 8 + i], 1e-4f, "batch " + b + " row " + (7 + i));
                }
            }
        }
    }

    @Test
    void modelInfoDescribesTheCheckpoint() {
        try (Model model = Model.load(Golden.checkpoint(Golden.BF16_SHARDED), "cpu", DType.BFLOAT16)) {
            ModelInfo info = model.info();
            assertEquals(384, info.vocabSize());
            assertEquals(336, info.maskTokenId());
            assertEquals(129, info.eosTokenId());
            assertEquals(64, info.dModel());
            assertEquals(2, info.nLayers());
            assertEquals(4, info.nHeads());
            assertEquals(160, info.mlpHiddenSize());
            assertEquals(4096, info.maxSequenceLength());
            long perLayer = 4L * 64 * 64 + 3L * 160 * 64 + 2 * 64;
            long expected = 2 * 384L * 64 + 64 + 2 * perLayer;
            assertEquals(expected, info.parameterCount());
            assertEquals(2 * expected, info.weightBytes());
        }
    }

    @Test
    void newTokenBuffersHoldTheMaskIdAndReadBackWhatWasWritten() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                TokenBuffer tokens = model.newTokens(2, 5)) {
            long[] masks = new long[10];
            Arrays.fill(masks, 336);
            assertArrayEquals(masks, tokens.read(0, 10));
            tokens.write(6, new long[] {1, 2, 3});
            assertArrayEquals(new long[] {336, 1, 2, 3, 336}, tokens.read(5, 5));
        }
    }
}

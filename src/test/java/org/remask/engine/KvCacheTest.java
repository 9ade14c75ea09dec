package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The block cache through the Java API against golden/cache.json, which the reference computed plainly
 * (bench/reference/cache_golden.py): a full step over the old sequence fills the cache and equals the plain
 * forward exactly; a partial step over the new sequence equals attention to the old keys and values.
 */
class KvCacheTest {
    @Test
    void cachedStepsEqualThePlainComputationOverFrozenKeysAndValues() {
        for (Object entry : Golden.list("cache.json")) {
            Map<?, ?> c = (Map<?, ?>) entry;
            long[] oldIds = ids(c.get("old_ids"));
            long[] newIds = ids(c.get("new_ids"));
            int t = oldIds.length;
            int begin = number(c, "begin"), end = number(c, "end");
            int blockBegin = number(c, "block_begin"), blockEnd = number(c, "block_end"), rows = blockEnd - blockBegin;
            try (Model model = Model.load(Golden.checkpoint((String) c.get("model")), "cpu", DType.FLOAT32);
                    TokenBuffer tokens = model.newTokens(1, t);
                    KvCache cache = model.newCache(1, t);
                    LogitsBuffer plain = model.newLogits(rows);
                    LogitsBuffer cached = model.newLogits(rows)) {
                RemaskException early = assertThrows(RemaskException.class,
                        () -> model.forward(tokens, cache, begin, end, blockBegin, blockEnd, cached));
                assertTrue(early.getMessage().contains("holds nothing yet"), early.getMessage());

                tokens.write(0, oldIds);
                model.forward(tokens, blockBegin, blockEnd, plain);
                model.forward(tokens, cache, 0, t, blockBegin, blockEnd, cached);
                float[][] full = cached.readRows(rows);
                float[][] uncached = plain.readRows(rows);
                for (int r = 0; r < rows; r++) {
                    assertArrayEquals(uncached[r], full[r], 0f, "the cache-filling step is the plain forward");
                }

                tokens.write(0, newIds);
                model.forward(tokens, cache, begin, end, blockBegin, blockEnd, cached);
                float[][] got = cached.readRows(rows);
                List<?> expected = (List<?>) c.get("logits");
                double worst = 0;
                for (int r = 0; r < rows; r++) {
                    List<?> row = (List<?>) expected.get(r);
                    for (int v = 0; v < row.size(); v++) {
                        worst = Math.max(worst, Math.abs(((Number) row.get(v)).doubleValue() - got[r][v]));
                    }
                }
                assertTrue(worst < 1e-4, c.get("mode") + ": max |logit - reference| = " + worst);

                // Recomputing everything would see the new tokens everywhere: the golden rows must differ from it.
                model.forward(tokens, blockBegin, blockEnd, plain);
                assertTrue(maxDifference(plain.readRows(rows), got) > 1e-2, "the cached step is not a full forward");
            }
        }
    }

    @Test
    void badCacheCallsAreRefusedWithTheNativeMessage() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                Model other = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                TokenBuffer tokens = model.newTokens(1, 12);
                KvCache foreign = other.newCache(1, 12);
                KvCache wrongShape = model.newCache(2, 12);
                LogitsBuffer logits = model.newLogits(4)) {
            RemaskException e = assertThrows(RemaskException.class,
                    () -> model.forward(tokens, foreign, 0, 12, 4, 8, logits));
            assertTrue(e.getMessage().contains("another model"), e.getMessage());
            e = assertThrows(RemaskException.class, () -> model.forward(tokens, wrongShape, 0, 12, 4, 8, logits));
            assertTrue(e.getMessage().contains("the cache holds [2, 12] positions"), e.getMessage());
            assertThrows(RemaskException.class, () -> model.newCache(0, 12));
            KvCache closed = model.newCache(1, 12);
            closed.close();
            assertThrows(IllegalStateException.class, () -> model.forward(tokens, closed, 0, 12, 4, 8, logits));
        }
    }

    private static double maxDifference(float[][] a, float[][] b) {
        double worst = 0;
        for (int r = 0; r < a.length; r++) {
            for (int v = 0; v < a[r].length; v++) {
                worst = Math.max(worst, Math.abs(a[r][v] - b[r][v]));
            }
        }
        return worst;
    }

    private static long[] ids(Object list) {
        return ((List<?>) list).stream().mapToLong(id -> ((Number) id).longValue()).toArray();
    }

    private static int number(Map<?, ?> c, String key) {
        return ((Number) c.get(key)).intValue();
    }
}

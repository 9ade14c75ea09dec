package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * int8 weights (linear.h) against bench/reference/int8_golden.py: the same forward with the same int8 scheme, the
 * quality cost the README states, and what the model reports about itself.
 */
class Int8Test {

    private static float[][] logits(Model model, long[] ids) {
        return ForwardGoldenTest.forward(model, ids, 0, ids.length, 1);
    }

    /**
     * The width follows the CPU: oneDNN sums pairs of uint8 x int8 products in int16 unless the CPU has VNNI, and
     * 8-bit inputs overflow that sum (on this checkpoint 13.1 against 4.5 worst logit error, measured on a CPU with
     * AVX2 alone).
     */
    @Test
    void int8InputsTakeEightBitsOnlyOnACpuWithVnni() throws IOException {
        String flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(line -> line.startsWith("flags")).findFirst().orElseThrow();
        boolean vnni = Arrays.stream(flags.substring(flags.indexOf(':') + 1).trim().split("\\s+"))
                .anyMatch(flag -> flag.equals("avx512_vnni") || flag.equals("avx_vnni"));
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.INT8)) {
            assertEquals(vnni ? 8 : 7, model.info().int8ActivationBits(), flags);
        }
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32)) {
            assertEquals(0, model.info().int8ActivationBits());
        }
    }

    @Test
    void int8LogitsEqualTheReferencesInt8Forward() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.INT8)) {
            Golden.Forward golden = Golden.forward(Golden.int8(model.info().int8ActivationBits()));
            float[][] got = logits(model, golden.inputIds());
            for (int r = 0; r < got.length; r++) {
                assertArrayEquals(golden.logits()[r], got[r], 1e-4f, "row " + r);
            }
        }
    }

    /** The cost the README states (int8.json's against_float32, from bench/reference/int8_golden.py). */
    @Test
    void int8CostsWhatTheReferenceMeasuredAgainstFloat32() {
        Golden.Forward float32 = Golden.forward(Golden.F32);
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.INT8)) {
            Map<?, ?> cost = (Map<?, ?>) Golden.int8(model.info().int8ActivationBits()).get("against_float32");
            float[][] got = logits(model, float32.inputIds());
            double worst = 0;
            int changed = 0;
            for (int r = 0; r < got.length; r++) {
                for (int v = 0; v < got[r].length; v++) {
                    worst = Math.max(worst, Math.abs(got[r][v] - float32.logits()[r][v]));
                }
                changed += ForwardGoldenTest.argmax(got[r]) != ForwardGoldenTest.argmax(float32.logits()[r]) ? 1 : 0;
            }
            assertEquals(((Number) cost.get("max_abs_diff")).doubleValue(), worst, 1e-3);
            assertEquals(((Number) cost.get("argmax_changed_rows")).intValue(), changed);
        }
    }

    @Test
    void int8ModelsHoldTheirLinearsInOneByteAWeight() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.INT8)) {
            ModelInfo info = model.info();
            long linear = 2 * (4L * 64 * 64 + 3L * 160 * 64) + 384L * 64;  // two layers' and the LM head's
            long rest = 384L * 64 + 64 + 2 * 2 * 64;                         // embedding, norms
            assertEquals(linear + rest, info.parameterCount());
            // oneDNN's packed int8 (linear.cpp frees the copy libtorch keeps), a float64 scale per output channel;
            // the rest in float32.
            long channels = 2 * (3L * 64 + 64 + 2 * 160 + 64) + 384;
            assertEquals(linear + 8 * channels + 4 * rest, info.weightBytes());
        }
        // A bfloat16 checkpoint's embedding stays in bfloat16 (rows cast when looked up), and the model runs.
        try (Model model = Model.load(Golden.checkpoint(Golden.BF16_SHARDED), "cpu", DType.INT8)) {
            long linear = 2 * (4L * 64 * 64 + 3L * 160 * 64) + 384L * 64;
            long channels = 2 * (3L * 64 + 64 + 2 * 160 + 64) + 384;
            assertEquals(linear + 8 * channels + 2 * 384L * 64 + 4 * (64 + 2 * 2 * 64), model.info().weightBytes());
            long[] ids = Golden.forward(Golden.BF16_SHARDED).inputIds();
            float[][] got = logits(model, ids);
            assertEquals(ids.length, got.length);
            assertTrue(Float.isFinite(got[0][0]));
        }
    }
}

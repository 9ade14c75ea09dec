package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --dtype auto: bfloat16 on cuda, and on the cpu for a bfloat16 checkpoint where bfloat16 is native. */
class PrecisionTest {
    @Test
    void autoFollowsTheDeviceTheCheckpointAndTheCpu() {
        Path bf16 = Golden.checkpoint(Golden.BF16_SHARDED);
        Path f32 = Golden.checkpoint(Golden.F32);
        assertEquals(DType.BFLOAT16, Precision.choose("auto", "cuda:0", f32).dtype());
        Precision fromF32 = Precision.choose("auto", "cpu", f32);
        assertEquals(DType.FLOAT32, fromF32.dtype());
        assertEquals("auto: the checkpoint holds float32, computed in float32 on the cpu", fromF32.reason());
        Precision fromBf16 = Precision.choose("auto", "cpu", bf16);
        boolean nativeBf16 = Precision.nativeBfloat16Flag(Path.of("/proc/cpuinfo")) != null;
        assertEquals(nativeBf16 ? DType.BFLOAT16 : DType.FLOAT32, fromBf16.dtype(), fromBf16.reason());
        assertEquals(new Precision(DType.FLOAT32, "as asked"), Precision.choose("float32", "cpu", bf16));
    }

    @Test
    void readsTheCpuFlagsAndTheStoredDtype(@TempDir Path dir) throws IOException {
        Path withAvx = Files.writeString(dir.resolve("a"), "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n");
        Path withAmx = Files.writeString(dir.resolve("b"), "flags\t\t: fpu amx_tile amx_bf16\n");
        Path without = Files.writeString(dir.resolve("c"), "flags\t\t: fpu avx2 avx512f\n");
        assertEquals("avx512_bf16", Precision.nativeBfloat16Flag(withAvx));
        assertEquals("amx_bf16", Precision.nativeBfloat16Flag(withAmx));
        assertNull(Precision.nativeBfloat16Flag(without));
        assertNull(Precision.nativeBfloat16Flag(dir.resolve("missing")));
        assertEquals("bfloat16", Precision.storedDtype(Golden.checkpoint(Golden.BF16_SHARDED)));
        assertNull(Precision.storedDtype(dir));
    }
}

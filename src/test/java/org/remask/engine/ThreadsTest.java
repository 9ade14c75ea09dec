package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class ThreadsTest {
    @Test
    void setsLibtorchsIntraOpThreads() {
        int before = Threads.get();
        try {
            Threads.set(1);
            assertEquals(1, Threads.get());
            Threads.set(2);
            assertEquals(2, Threads.get());
        } finally {
            Threads.set(before);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Threads.set(0));
        assertTrue(e.getMessage().contains("--threads must be at least 1"), e.getMessage());
    }

    private static ModelInfo model(long dModel, String device) {
        return new ModelInfo(Family.LLADA, 1024, 1023, 1022, dModel, 2, 4, 4, 3 * dModel, 1024, 0, 0, 0, 0, 0, device,
                DType.FLOAT32);
    }

    @Test
    void byDefaultEveryProcessorButOneForSmallModelsOnTheCpu() {
        assertEquals(new Threads.Choice(8, "default: every available processor"),
                Threads.byDefault(model(512, "cpu"), 8));
        assertEquals(new Threads.Choice(1, "default: d_model 384 < 512, faster on one thread"),
                Threads.byDefault(model(384, "cpu"), 8));
        assertEquals(8, Threads.byDefault(model(64, "cuda:0"), 8).threads());
        assertEquals(1, Threads.byDefault(model(4096, "cpu"), 1).threads());
    }

    /** NativeLibrary sets it before libgomp is loaded (this JVM started without it). */
    @Test
    void openMpThreadsWaitPassively() throws Throwable {
        Assumptions.assumeTrue(System.getenv("OMP_WAIT_POLICY") == null, "OMP_WAIT_POLICY given by the environment");
        Threads.get();
        Linker linker = Linker.nativeLinker();
        MethodHandle getenv = linker.downcallHandle(linker.defaultLookup().findOrThrow("getenv"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = (MemorySegment) getenv.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"));
            assertEquals("PASSIVE", value.reinterpret(64).getString(0));
        }
    }

    /** CMakeLists.txt links libtorch's GEMMs to OpenBLAS's OpenMP build where it is installed (scripts/setup installs it). */
    @Test
    void libtorchRunsOnOpenBlasOpenMpBuildWhereInstalled() {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/usr/lib/x86_64-linux-gnu/openblas-openmp")));
        String version = Model.nativeVersion();
        assertTrue(version.contains("USE_OPENMP"), version);
    }
}

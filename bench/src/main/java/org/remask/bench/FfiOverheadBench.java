package org.remask.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.remask.ffi.NativeLibrary;
import org.remask.ffi.remask_h;

/**
 * The price of crossing the FFM boundary into libremask.so with next to no work on the other side: the
 * floor under every engine call. Calls the generated bindings directly (no Arena, no status check).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@State(Scope.Thread)
public class FfiOverheadBench {
    private Arena arena;
    private MemorySegment count;

    @Setup
    public void setUp() {
        BenchSupport.nativeLibrary();
        NativeLibrary.load();
        arena = Arena.ofConfined();
        count = arena.allocate(ValueLayout.JAVA_INT);
        if (remask_h.remask_cuda_device_count(count) != remask_h.REMASK_OK()) {
            throw new IllegalStateException("remask_cuda_device_count failed");
        }
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    /** remask_last_error(): returns a pointer to a thread-local std::string; no arguments. */
    @Benchmark
    public MemorySegment lastError() {
        return remask_h.remask_last_error();
    }

    /**
     * remask_cuda_device_count(int32_t*) into a preallocated segment: one pointer argument, a try/catch
     * in the shim and torch::cuda::device_count() (a cheap query on a CPU libtorch).
     */
    @Benchmark
    public int cudaDeviceCount() {
        int status = remask_h.remask_cuda_device_count(count);
        return status + count.get(ValueLayout.JAVA_INT, 0);
    }
}

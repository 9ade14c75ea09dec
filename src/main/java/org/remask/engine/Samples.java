package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** x0 and its confidence per row, on the model's device: what one sampling pass leaves for the commit. */
public final class Samples implements AutoCloseable {
    /** A copy on the host, for tests and tools. */
    public record Host(long[] x0, float[] confidence) {}

    private final NativeHandle handle;
    private final int rows;

    Samples(MemorySegment handle, int rows) {
        this.handle = new NativeHandle("samples buffer", handle, h -> remask_buffer_free(h));
        this.rows = rows;
    }

    public int rows() {
        return rows;
    }

    public Host read(int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x0 = arena.allocate(ValueLayout.JAVA_LONG, Math.max(count, 1));
            MemorySegment confidence = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(count, 1));
            Native.check(remask_samples_read(handle.get(), count, x0, confidence));
            return new Host(
                    x0.asSlice(0, (long) count * Long.BYTES).toArray(ValueLayout.JAVA_LONG),
                    confidence.asSlice(0, (long) count * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    /**
     * Dream's alg_temp: the first {@code rows} confidences c become c / algTemp plus a Gumbel draw at (seed, step),
     * so the top-k commit then draws its positions from softmax(c / algTemp) without replacement.
     */
    public void gumbel(int rows, double algTemp, long seed, long step) {
        Native.check(remask_samples_gumbel(handle.get(), rows, algTemp, seed, step));
    }

    MemorySegment segment() {
        return handle.get();
    }

    @Override
    public void close() {
        handle.close();
    }
}

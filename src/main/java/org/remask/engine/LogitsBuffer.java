package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** fp32 logits [rows, vocab] living on the model's device; forward writes them, reads are for tests and tools. */
public final class LogitsBuffer implements AutoCloseable {
    private final NativeHandle handle;
    private final int rows;
    private final int vocab;

    LogitsBuffer(MemorySegment handle, int rows, int vocab) {
        this.handle = new NativeHandle("logits buffer", handle, h -> remask_buffer_free(h));
        this.rows = rows;
        this.vocab = vocab;
    }

    public int rows() {
        return rows;
    }

    public int vocab() {
        return vocab;
    }

    /** Copies the first {@code count} rows to the host, one array per row. */
    public float[][] readRows(int count) {
        if (count < 0 || count > rows) {
            throw new IllegalArgumentException("cannot read " + count + " rows of a buffer of " + rows);
        }
        long elements = (long) count * vocab;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_FLOAT, Math.max(elements, 1));
            Native.check(remask_logits_read(handle.get(), 0, host, elements));
            float[][] result = new float[count][];
            for (int r = 0; r < count; r++) {
                result[r] = host.asSlice((long) r * vocab * Float.BYTES, (long) vocab * Float.BYTES)
                        .toArray(ValueLayout.JAVA_FLOAT);
            }
            return result;
        }
    }

    MemorySegment segment() {
        return handle.get();
    }

    @Override
    public void close() {
        handle.close();
    }
}

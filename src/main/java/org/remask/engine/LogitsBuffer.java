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

    /** Copies values from the host to the element offset (row-major); for tests and tools. */
    public void write(long offset, float[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            Native.check(remask_logits_write(handle.get(), offset, host, values.length));
        }
    }

    /**
     * The fused sampling pass over the first {@code rows} rows (with guidance, rows..2*rows-1 hold the
     * unconditional half): x0 and its confidence per row into {@code out}. {@code step} seeds the noise.
     */
    public void sample(int rows, SampleSettings settings, long step, Samples out) {
        Native.check(remask_sample(handle.get(), rows, settings.guided() ? 1 : 0, settings.cfgScale(),
                settings.temperature(), settings.remasking().nativeRule(), settings.nativeFlags(), settings.eotId(),
                settings.seed(), step, out.segment()));
    }

    /**
     * Dream's truncation of the first {@code rows} rows, in place: top-p (below 1) keeps the most likely tokens
     * until their probability reaches it, then top-k (above 0) the k largest; the rest get probability 0.
     */
    public void truncate(int rows, double topP, int topK) {
        Native.check(remask_logits_truncate(handle.get(), rows, topP, topK));
    }

    MemorySegment segment() {
        return handle.get();
    }

    @Override
    public void close() {
        handle.close();
    }
}

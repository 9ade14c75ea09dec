package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.MemorySegment;

/**
 * Fast-dLLM's block cache on the model's device: every layer's keys and values for [batch, length]
 * positions, kept by {@link Model#forward(TokenBuffer, KvCache, int, int, int, int, LogitsBuffer)} so
 * later steps recompute only some positions. Made once per generation shape and reused; freed by close().
 */
public final class KvCache implements AutoCloseable {
    private final NativeHandle handle;
    private final int batch;
    private final int length;

    KvCache(MemorySegment handle, int batch, int length) {
        this.handle = new NativeHandle("cache", handle, h -> remask_buffer_free(h));
        this.batch = batch;
        this.length = length;
    }

    public int batch() {
        return batch;
    }

    public int length() {
        return length;
    }

    MemorySegment segment() {
        return handle.get();
    }

    @Override
    public void close() {
        handle.close();
    }
}

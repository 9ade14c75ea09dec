package org.remask.engine;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToIntFunction;

/**
 * One native object owned by one Java object: freed exactly once by {@link #close()}, never by the
 * garbage collector; use after close throws {@link IllegalStateException}.
 */
final class NativeHandle implements AutoCloseable {
    private final String what;
    private final AtomicReference<MemorySegment> handle;
    private final ToIntFunction<MemorySegment> free;

    NativeHandle(String what, MemorySegment handle, ToIntFunction<MemorySegment> free) {
        this.what = what;
        this.handle = new AtomicReference<>(handle);
        this.free = free;
    }

    MemorySegment get() {
        MemorySegment segment = handle.get();
        if (segment == null) {
            throw new IllegalStateException(what + " is closed");
        }
        return segment;
    }

    boolean isClosed() {
        return handle.get() == null;
    }

    @Override
    public void close() {
        MemorySegment segment = handle.getAndSet(null);
        if (segment != null) {
            Native.check(free.applyAsInt(segment));
        }
    }
}

package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** libtorch's intra-op CPU threads: a setting of the whole process, chosen deliberately. */
public final class Threads {
    private Threads() {}

    public static void set(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be at least 1, not " + threads);
        }
        Native.ensureLoaded();
        Native.check(remask_threads_set(threads));
    }

    public static int get() {
        Native.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            Native.check(remask_threads_get(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }
}

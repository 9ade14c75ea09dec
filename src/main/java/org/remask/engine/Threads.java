package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** libtorch's intra-op CPU threads: a setting of the whole process, chosen deliberately. */
public final class Threads {
    /**
     * Below this d_model a generation ran faster on one thread than on two (bench/README.md, "Threads and BLAS"):
     * a forward of many short parallel regions gains less from a second thread than waking it costs.
     */
    static final long SMALL_D_MODEL = 512;

    private Threads() {}

    /** A thread count and why (info prints both). */
    public record Choice(int threads, String reason) {}

    /** The default for a model: every processor, except one thread for a model narrower than {@link #SMALL_D_MODEL}. */
    public static Choice byDefault(ModelInfo model, int processors) {
        if (processors == 1) {
            return new Choice(1, "default: the one available processor");
        }
        if (model.device().equals("cpu") && model.dModel() < SMALL_D_MODEL) {
            return new Choice(1, "default: d_model " + model.dModel() + " < " + SMALL_D_MODEL
                    + ", faster on one thread");
        }
        return new Choice(processors, "default: every available processor");
    }

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

package org.remask.sampling;

import org.remask.engine.Commits;
import org.remask.engine.KvCache;
import org.remask.engine.LogitsBuffer;
import org.remask.engine.Model;
import org.remask.engine.Samples;
import org.remask.engine.TokenBuffer;

/** The device buffers and host arrays of one generation shape, reused from request to request. */
final class Workspace implements AutoCloseable {
    /**
     * Generations of equal shape share workspaces. shadow: the forward also returns a shadow block's rows
     * (wino), so the logits hold twice the block per sequence.
     */
    record Shape(int batch, int length, int blockLength, boolean shadow) {
        int logitsRows() {
            return (shadow ? 2 : 1) * batch * blockLength;
        }
    }

    final Shape shape;
    final TokenBuffer tokens;
    final LogitsBuffer logits;
    final Samples samples;
    final Commits commits;
    private KvCache cache;
    int cacheAllocations;

    Workspace(Model model, Shape shape) {
        this.shape = shape;
        TokenBuffer t = null;
        LogitsBuffer l = null;
        Samples s = null;
        try {
            t = model.newTokens(shape.batch(), shape.length());
            l = model.newLogits(shape.logitsRows());
            s = model.newSamples(shape.blockLength());
        } catch (RuntimeException e) {
            closeAll(t, l, s);
            throw e;
        }
        this.tokens = t;
        this.logits = l;
        this.samples = s;
        this.commits = new Commits(shape.blockLength());
    }

    /** The block cache, made on first use: generations without one never pay for its memory. */
    KvCache cache(Model model) {
        if (cache == null) {
            cache = model.newCache(shape.batch(), shape.length());
            cacheAllocations++;
        }
        return cache;
    }

    private static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable resource : resources) {
            if (resource != null) {
                try {
                    resource.close();
                } catch (Exception ignored) {
                    // Already failing; the first error is the one to report.
                }
            }
        }
    }

    @Override
    public void close() {
        closeAll(tokens, logits, samples, commits, cache);
    }
}

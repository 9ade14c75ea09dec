package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Token ids [rows, cols] living on the model's device, filled with the mask id when made. */
public final class TokenBuffer implements AutoCloseable {
    private final NativeHandle handle;
    private final int rows;
    private final int cols;

    TokenBuffer(MemorySegment handle, int rows, int cols) {
        this.handle = new NativeHandle("token buffer", handle, h -> remask_buffer_free(h));
        this.rows = rows;
        this.cols = cols;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Copies ids to the row-major element offset; every id is checked against the vocabulary. */
    public void write(long offset, long[] ids) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_LONG, ids);
            Native.check(remask_tokens_write(handle.get(), offset, host, ids.length));
        }
    }

    public long[] read(long offset, int count) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(ValueLayout.JAVA_LONG, Math.max(count, 1));
            Native.check(remask_tokens_read(handle.get(), offset, host, count));
            return host.asSlice(0, (long) count * Long.BYTES).toArray(ValueLayout.JAVA_LONG);
        }
    }

    /**
     * The masked top-k commit: among positions blockBegin..blockEnd-1 still masked (sample row i is
     * position blockBegin + i), writes x0 at the k most confident, and more while their confidence is
     * at least threshold (+inf for none), into every row. Returns how many it committed; the positions
     * and tokens are in {@code out}.
     */
    public int commit(Samples samples, int blockBegin, int blockEnd, int k, double threshold, Commits out) {
        out.reset();
        Native.check(remask_commit(handle.get(), samples.segment(), blockBegin, blockEnd, k, threshold,
                out.positionsSegment(), out.tokensSegment(), out.capacity(), out.countSegment()));
        return out.count();
    }

    /**
     * Dream's {@code origin} step: every masked position of the block commits x0 when its uniform draw is below
     * pTransfer; the draws are remask's noise at (seed, step), or {@code uniforms} (one per block position, read
     * for the masked ones) when not NULL. Returns the number committed, maybe 0; they are in {@code out}.
     */
    public int commitOrigin(Samples samples, int blockBegin, int blockEnd, double pTransfer, long seed, long step,
            MemorySegment uniforms, Commits out) {
        out.reset();
        Native.check(remask_commit_origin(handle.get(), samples.segment(), blockBegin, blockEnd, pTransfer, seed,
                step, uniforms, out.positionsSegment(), out.tokensSegment(), out.capacity(), out.countSegment()));
        return out.count();
    }

    /**
     * Running-confidence remasking (RCR): {@link #commit} that can take back the block's committed tokens. The
     * block keeps tokens at its positions of highest running confidence (a position's confidence when its token
     * was predicted; samples keeps them from step to step), as many as it had plus what commit would add; the
     * committed positions and tokens, and the ones masked again, are in {@code out}. Returns the net number of
     * tokens added, at least one.
     */
    public int commitRunning(Samples samples, int blockBegin, int blockEnd, int k, double threshold, Commits out) {
        out.reset();
        Native.check(remask_commit_rcr(handle.get(), samples.segment(), blockBegin, blockEnd, k, threshold,
                out.positionsSegment(), out.tokensSegment(), out.remaskedSegment(), out.capacity(),
                out.countSegment(), out.remaskedCountSegment()));
        return out.count() - out.remaskedCount();
    }

    /**
     * Token-to-token editing beside the masked commit: every committed position of the block whose x0 differs from
     * its token (and is not the mask id) with confidence above {@code editThreshold} takes x0; then the masked
     * positions commit as {@link #commit} would commit k (k 0 and threshold +inf: a step that only edits). Every
     * position that took a token is in {@code out}, the edited ones also in its edited list. Returns the number of
     * masked positions that took a token.
     */
    public int commitEdit(Samples samples, int blockBegin, int blockEnd, int k, double threshold, double editThreshold,
            Commits out) {
        out.reset();
        Native.check(remask_commit_edit(handle.get(), samples.segment(), blockBegin, blockEnd, k, threshold,
                editThreshold, out.positionsSegment(), out.tokensSegment(), out.editedSegment(), out.capacity(),
                out.countSegment(), out.editedCountSegment()));
        return out.count() - out.editedCount();
    }

    /**
     * ReMDM's step: committed positions of the block go back to the mask at random (with {@code weighted},
     * remdm-conf: probability softmax(-confidence) times min(sigma, (1 - alpha_s) / alpha_t); without, remdm-loop:
     * sigma), the draws at (seed, step); then the masked positions commit as {@link #commit} would commit k, plus
     * one per position masked again. k may be 0. Returns the net number of tokens added; the details are in
     * {@code out}.
     */
    public int commitRemdm(Samples samples, int blockBegin, int blockEnd, int k, double threshold, boolean weighted,
            double sigma, long seed, long step, Commits out) {
        out.reset();
        Native.check(remask_commit_remdm(handle.get(), samples.segment(), blockBegin, blockEnd, k, threshold,
                weighted ? 1 : 0, sigma, seed, step, out.positionsSegment(), out.tokensSegment(),
                out.remaskedSegment(), out.capacity(), out.countSegment(), out.remaskedCountSegment()));
        return out.count() - out.remaskedCount();
    }

    /**
     * WINO's wide-in, narrow-out step, after {@link Model#forwardShadow} and a sample of the block's rows: the
     * masked positions above {@code wide} take x0 (at most min(max(int(masked * 0.7), 5), 20), at least the most
     * confident); after a draft of more than one, committed positions whose shadow probability of their token is
     * below {@code narrow} are masked again (at most {@code lastAccept} - 1, the least probable, when there are
     * lastAccept or more: lastAccept is the previous step's draft). One sequence only. Returns the draft's size;
     * positions, tokens and the ones masked again are in {@code out}.
     */
    public int commitWino(Samples samples, LogitsBuffer logits, int blockBegin, int blockEnd, double wide,
            double narrow, int lastAccept, Commits out) {
        out.reset();
        Native.check(remask_commit_wino(handle.get(), samples.segment(), logits.segment(), blockBegin, blockEnd, wide,
                narrow, lastAccept, out.positionsSegment(), out.tokensSegment(), out.remaskedSegment(), out.capacity(),
                out.countSegment(), out.remaskedCountSegment()));
        return out.count();
    }

    MemorySegment segment() {
        return handle.get();
    }

    @Override
    public void close() {
        handle.close();
    }
}

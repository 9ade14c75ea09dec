package org.remask.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host memory the masked commit writes its result into: the committed positions (ascending, absolute
 * in the sequence) and tokens, the positions a revising commit masked again, and those an editing commit gave
 * another token. Made once per block
 * length and reused every step, so the step loop allocates nothing. Its arena is shared because a pooled
 * workspace may serve different threads in turn.
 */
public final class Commits implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment positions;
    private final MemorySegment tokens;
    private final MemorySegment count;
    private final MemorySegment remasked;
    private final MemorySegment remaskedCount;
    private final MemorySegment edited;
    private final MemorySegment editedCount;
    private final int capacity;

    public Commits(int capacity) {
        this.capacity = capacity;
        this.positions = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.tokens = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.count = arena.allocate(ValueLayout.JAVA_LONG);
        this.remasked = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.remaskedCount = arena.allocate(ValueLayout.JAVA_LONG);
        this.edited = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.editedCount = arena.allocate(ValueLayout.JAVA_LONG);
    }

    public int capacity() {
        return capacity;
    }

    /** How many positions the last commit wrote. */
    public int count() {
        return (int) count.get(ValueLayout.JAVA_LONG, 0);
    }

    public long position(int i) {
        return positions.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    public long token(int i) {
        return tokens.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    /** How many positions the last commit masked again (0 after a commit that does not revise). */
    public int remaskedCount() {
        return (int) remaskedCount.get(ValueLayout.JAVA_LONG, 0);
    }

    public long remasked(int i) {
        return remasked.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    /** How many committed positions the last commit edited (gave another token); 0 after one that does not edit. */
    public int editedCount() {
        return (int) editedCount.get(ValueLayout.JAVA_LONG, 0);
    }

    public long edited(int i) {
        return edited.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    /** Before a commit: what a commit kind leaves unwritten reads as none. */
    void reset() {
        count.set(ValueLayout.JAVA_LONG, 0, 0L);
        remaskedCount.set(ValueLayout.JAVA_LONG, 0, 0L);
        editedCount.set(ValueLayout.JAVA_LONG, 0, 0L);
    }

    MemorySegment positionsSegment() {
        return positions;
    }

    MemorySegment tokensSegment() {
        return tokens;
    }

    MemorySegment countSegment() {
        return count;
    }

    MemorySegment remaskedSegment() {
        return remasked;
    }

    MemorySegment remaskedCountSegment() {
        return remaskedCount;
    }

    MemorySegment editedSegment() {
        return edited;
    }

    MemorySegment editedCountSegment() {
        return editedCount;
    }

    @Override
    public void close() {
        arena.close();
    }
}

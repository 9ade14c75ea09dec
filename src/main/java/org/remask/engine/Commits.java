package org.remask.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host memory the masked commit writes its result into: the committed positions (ascending, absolute
 * in the sequence) and tokens. Made once per block length and reused every step, so the step loop
 * allocates nothing. Its arena is shared because a pooled workspace may serve different threads in turn.
 */
public final class Commits implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment positions;
    private final MemorySegment tokens;
    private final MemorySegment count;
    private final int capacity;

    public Commits(int capacity) {
        this.capacity = capacity;
        this.positions = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.tokens = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.count = arena.allocate(ValueLayout.JAVA_LONG);
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

    MemorySegment positionsSegment() {
        return positions;
    }

    MemorySegment tokensSegment() {
        return tokens;
    }

    MemorySegment countSegment() {
        return count;
    }

    @Override
    public void close() {
        arena.close();
    }
}

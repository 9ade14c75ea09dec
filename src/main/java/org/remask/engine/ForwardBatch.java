package org.remask.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The generations one {@link Model#forward(ForwardBatch)} serves: for each, its tokens, its block cache (or none),
 * the positions computed, the rows the LM head runs on and the logits buffer they go to. The arrays live in
 * native memory that is reused from call to call, so filling a batch allocates nothing.
 */
public final class ForwardBatch implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final int capacity;
    private final MemorySegment tokens;
    private final MemorySegment caches;
    private final MemorySegment begin;
    private final MemorySegment end;
    private final MemorySegment rowBegin;
    private final MemorySegment rowEnd;
    private final MemorySegment logits;
    private int size;

    public ForwardBatch(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a batch holds at least one generation, not " + capacity);
        }
        this.capacity = capacity;
        this.tokens = arena.allocate(ValueLayout.ADDRESS, capacity);
        this.caches = arena.allocate(ValueLayout.ADDRESS, capacity);
        this.begin = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.end = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.rowBegin = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.rowEnd = arena.allocate(ValueLayout.JAVA_LONG, capacity);
        this.logits = arena.allocate(ValueLayout.ADDRESS, capacity);
    }

    /** Adds a generation's plain forward: {@link Model#forward(TokenBuffer, int, int, LogitsBuffer)}'s. */
    public void add(TokenBuffer tokens, int rowBegin, int rowEnd, LogitsBuffer logits) {
        put(tokens, MemorySegment.NULL, 0, tokens.cols(), rowBegin, rowEnd, logits);
    }

    /**
     * Adds a generation's cached forward over positions begin..end-1:
     * {@link Model#forward(TokenBuffer, KvCache, int, int, int, int, LogitsBuffer)}'s.
     */
    public void add(TokenBuffer tokens, KvCache cache, int begin, int end, int rowBegin, int rowEnd,
            LogitsBuffer logits) {
        put(tokens, cache.segment(), begin, end, rowBegin, rowEnd, logits);
    }

    private void put(TokenBuffer tokens, MemorySegment cache, int begin, int end, int rowBegin, int rowEnd,
            LogitsBuffer logits) {
        if (size == capacity) {
            throw new IllegalStateException("the batch is full: " + capacity + " generations");
        }
        this.tokens.setAtIndex(ValueLayout.ADDRESS, size, tokens.segment());
        this.caches.setAtIndex(ValueLayout.ADDRESS, size, cache);
        this.begin.setAtIndex(ValueLayout.JAVA_LONG, size, begin);
        this.end.setAtIndex(ValueLayout.JAVA_LONG, size, end);
        this.rowBegin.setAtIndex(ValueLayout.JAVA_LONG, size, rowBegin);
        this.rowEnd.setAtIndex(ValueLayout.JAVA_LONG, size, rowEnd);
        this.logits.setAtIndex(ValueLayout.ADDRESS, size, logits.segment());
        size++;
    }

    public int size() {
        return size;
    }

    public void clear() {
        size = 0;
    }

    MemorySegment tokens() {
        return tokens;
    }

    MemorySegment caches() {
        return caches;
    }

    MemorySegment begin() {
        return begin;
    }

    MemorySegment end() {
        return end;
    }

    MemorySegment rowBegin() {
        return rowBegin;
    }

    MemorySegment rowEnd() {
        return rowEnd;
    }

    MemorySegment logits() {
        return logits;
    }

    @Override
    public void close() {
        arena.close();
    }
}

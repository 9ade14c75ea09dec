package org.remask.sampling;

import java.time.Duration;

/** Stops a generation between two model calls: when another thread cancels it, or at a deadline. */
public final class Cancellation {
    private final long deadline;
    private volatile boolean cancelled;

    public Cancellation() {
        this.deadline = Long.MAX_VALUE;
    }

    private Cancellation(long deadline) {
        this.deadline = deadline;
    }

    /** Cancels itself once {@code timeLimit} has passed from now. */
    public static Cancellation after(Duration timeLimit) {
        return new Cancellation(System.nanoTime() + timeLimit.toNanos());
    }

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled || (deadline != Long.MAX_VALUE && System.nanoTime() - deadline >= 0);
    }
}

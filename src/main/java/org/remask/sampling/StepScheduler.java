package org.remask.sampling;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Runs the generations that any number of threads submit on one engine thread, a model call each in turn: a
 * generation joins at the next round and leaves as soon as it ends, when its caller's future completes. All of
 * libtorch's work for the model runs on that thread, so concurrent requests share the process's one thread budget
 * instead of each running libtorch's pool over the same cores (four concurrent generations with two threads each
 * took 7x as long as with one each on this 2-core machine). Each round still runs one forward per generation; a
 * batched forward over the rows of several generations is not built yet.
 *
 * <p>Listeners are called on the engine thread. A generation leaves at its next round when its
 * {@link Cancellation} fires or its future is cancelled; its future then fails with
 * {@link GenerationCancelledException}, holding what it had committed, as the cause of get()'s ExecutionException
 * like any other failure (not as a cancellation of the future, which would drop it).
 */
public final class StepScheduler implements AutoCloseable {
    private record Submission(GenerationRequest request, StepListener listener, Cancellation cancellation,
            CompletableFuture<Generation> future) {}

    private record Active(Sampler.Run run, Submission submission) {}

    private final Sampler sampler;
    private final int maxActive;
    private final BlockingQueue<Submission> queue = new LinkedBlockingQueue<>();
    private final List<Active> active = new ArrayList<>();
    private final Thread engine;
    private volatile boolean closing;
    private volatile int activeCount;

    /** @param maxActive generations stepped in one round; more wait in the queue, first come first served */
    public StepScheduler(Sampler sampler, int maxActive) {
        if (maxActive < 1) {
            throw new IllegalArgumentException("at least one generation must be able to run, not " + maxActive);
        }
        this.sampler = sampler;
        this.maxActive = maxActive;
        this.engine = Thread.ofPlatform().name("remask-engine").daemon().start(this::loop);
    }

    /**
     * Queues a generation; its answer completes the future. A request the model cannot run (a prompt id outside
     * its vocabulary, too long a sequence) fails the future with IllegalArgumentException.
     *
     * @param listener called after every model call, on the engine thread, or null
     * @param cancellation checked before every model call, or null
     * @throws RejectedExecutionException once the scheduler is closing
     */
    public CompletableFuture<Generation> submit(GenerationRequest request, StepListener listener,
            Cancellation cancellation) {
        CompletableFuture<Generation> future = new CompletableFuture<>();
        // A submission racing close() is either queued before the engine's last look at the queue or refused.
        synchronized (queue) {
            if (closing) {
                throw new RejectedExecutionException("the scheduler is closing");
            }
            queue.add(new Submission(request, listener, cancellation, future));
        }
        return future;
    }

    /** Generations waiting for a place. */
    public int queued() {
        return queue.size();
    }

    /** Generations being stepped. */
    public int active() {
        return activeCount;
    }

    private void loop() {
        while (true) {
            try {
                if (active.isEmpty()) {
                    Submission next = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (next != null) {
                        admit(next);
                    } else if (closing && drained()) {
                        return;
                    }
                }
            } catch (InterruptedException e) {
                return;
            }
            for (Submission next; active.size() < maxActive && (next = queue.poll()) != null; ) {
                admit(next);
            }
            activeCount = active.size();
            for (Iterator<Active> it = active.iterator(); it.hasNext(); ) {
                if (!advance(it.next())) {
                    it.remove();
                }
            }
            activeCount = active.size();
        }
    }

    private boolean drained() {
        synchronized (queue) {
            return queue.isEmpty();
        }
    }

    private void admit(Submission submission) {
        if (submission.future().isDone()) {
            return; // cancelled while queued
        }
        try {
            active.add(new Active(sampler.start(submission.request(), submission.listener(),
                    submission.cancellation(), null), submission));
        } catch (RuntimeException e) {
            submission.future().completeExceptionally(e);
        }
    }

    /** One model call of a generation; false when it has left (answered, cancelled or failed). */
    private boolean advance(Active a) {
        CompletableFuture<Generation> future = a.submission().future();
        try {
            if (future.isCancelled()) {
                a.run().cancel();
            }
            if (a.run().step()) {
                return true;
            }
        } catch (RuntimeException | Error e) {
            a.run().abandon();
            future.completeExceptionally(e);
            return false;
        }
        try {
            future.complete(a.run().finish());
        } catch (GenerationCancelledException e) {
            // A CancellationException would complete the future as cancelled, and get() would drop the partial.
            future.completeExceptionally(new CompletionException(e));
        } catch (RuntimeException e) {
            future.completeExceptionally(e);
        }
        return false;
    }

    /** Stops taking submissions, lets every queued and running generation finish, then ends the engine thread. */
    @Override
    public void close() {
        synchronized (queue) {
            closing = true;
        }
        try {
            engine.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

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
import org.remask.engine.ForwardBatch;
import org.remask.engine.Model;

/**
 * Runs the generations that any number of threads submit on one engine thread, a model call each in turn: a
 * generation joins at the next round and leaves as soon as it ends, when its caller's future completes. All of
 * libtorch's work for the model runs on that thread, so concurrent requests share the process's one thread budget
 * instead of each running libtorch's pool over the same cores. In a round, the bidirectional generations' forwards
 * (plain or cached; not wino's, not block-causal ones) share one pass ({@link Model#forward(ForwardBatch)}: each
 * linear layer one product over all their computed positions, attention per generation); the others run their
 * own. A generation's noise depends on its own seed and model call only, so what runs beside it changes its answer
 * only through the rounding of the larger products.
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

    /** Told after every round that stepped something, on the engine thread (a server's metrics). */
    @FunctionalInterface
    public interface RoundListener {
        /**
         * @param modelCalls generations that made a model call in the round
         * @param forwards forward passes they took (one for a batch)
         * @param nanos the round's time
         */
        void onRound(int modelCalls, int forwards, long nanos);
    }

    private final Sampler sampler;
    private final int maxActive;
    private final BlockingQueue<Submission> queue = new LinkedBlockingQueue<>();
    private final List<Active> active = new ArrayList<>();
    private final List<Active> batched = new ArrayList<>();
    private final ForwardBatch batch;
    private final Thread engine;
    private final RoundListener rounds;
    private volatile boolean closing;
    private volatile int activeCount;
    private volatile long forwards;
    private volatile long modelCalls;

    /** @param maxActive generations stepped in one round; more wait in the queue, first come first served */
    public StepScheduler(Sampler sampler, int maxActive) {
        this(sampler, maxActive, null);
    }

    /** @param rounds told of every round, or null */
    public StepScheduler(Sampler sampler, int maxActive, RoundListener rounds) {
        if (maxActive < 1) {
            throw new IllegalArgumentException("at least one generation must be able to run, not " + maxActive);
        }
        this.sampler = sampler;
        this.maxActive = maxActive;
        this.batch = new ForwardBatch(maxActive);
        this.rounds = rounds;
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

    /** Forward passes run so far (a batched one counts once). */
    public long forwards() {
        return forwards;
    }

    /** Model calls served so far, one per generation per step. */
    public long modelCalls() {
        return modelCalls;
    }

    private void loop() {
        try {
            while (true) {
                if (active.isEmpty()) {
                    Submission next = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (next != null) {
                        admit(next);
                    } else if (closing && drained()) {
                        return;
                    }
                }
                for (Submission next; active.size() < maxActive && (next = queue.poll()) != null; ) {
                    admit(next);
                }
                activeCount = active.size();
                long started = System.nanoTime();
                long callsBefore = modelCalls;
                long forwardsBefore = forwards;
                round();
                activeCount = active.size();
                if (rounds != null && modelCalls > callsBefore) {
                    rounds.onRound((int) (modelCalls - callsBefore), (int) (forwards - forwardsBefore),
                            System.nanoTime() - started);
                }
            }
        } catch (InterruptedException e) {
            // Nothing else holds this thread; should something interrupt it, nothing is left waiting.
            RejectedExecutionException stopped = new RejectedExecutionException("the engine thread was interrupted");
            synchronized (queue) {
                closing = true;
            }
            for (Active a : active) {
                fail(a, stopped);
            }
            for (Submission s; (s = queue.poll()) != null; ) {
                s.future().completeExceptionally(stopped);
            }
        } finally {
            batch.close();
        }
    }

    /** One model call for every active generation; those that ended leave. */
    private void round() {
        batched.clear();
        for (Iterator<Active> it = active.iterator(); it.hasNext(); ) {
            Active a = it.next();
            boolean due;
            try {
                if (a.submission().future().isCancelled()) {
                    a.run().cancel();
                }
                due = a.run().next();
            } catch (RuntimeException | Error e) {
                fail(a, e);
                it.remove();
                continue;
            }
            if (!due) {
                answer(a);
                it.remove();
            } else if (a.run().batchable()) {
                batched.add(a);
            } else if (!stepAlone(a)) {
                it.remove();
            }
        }
        if (batched.size() == 1) {
            if (!stepAlone(batched.getFirst())) {
                active.remove(batched.getFirst());
            }
        } else if (batched.size() > 1) {
            stepBatched();
        }
    }

    /** The generation's own model call; false when it failed and left. */
    private boolean stepAlone(Active a) {
        try {
            a.run().step();
        } catch (RuntimeException | Error e) {
            fail(a, e);
            return false;
        }
        forwards++;
        modelCalls++;
        return true;
    }

    /** One forward for every generation in batched, then each one's sampling and commit. */
    private void stepBatched() {
        try {
            batch.clear();
            for (Active a : batched) {
                a.run().addForward(batch);
            }
            sampler.model().forward(batch);
        } catch (RuntimeException | Error e) {
            for (Active a : batched) {
                fail(a, e);
                active.remove(a);
            }
            return;
        }
        forwards++;
        for (Active a : batched) {
            try {
                a.run().stepAfterBatchedForward();
                modelCalls++;
            } catch (RuntimeException | Error e) {
                fail(a, e);
                active.remove(a);
            }
        }
    }

    private static void fail(Active a, Throwable e) {
        a.run().abandon();
        a.submission().future().completeExceptionally(e);
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
        } catch (RuntimeException | Error e) {
            submission.future().completeExceptionally(e);
        }
    }

    /** Completes the future of a generation that has ended (answered or cancelled). */
    private static void answer(Active a) {
        CompletableFuture<Generation> future = a.submission().future();
        try {
            future.complete(a.run().finish());
        } catch (GenerationCancelledException e) {
            // A CancellationException would complete the future as cancelled, and get() would drop the partial.
            future.completeExceptionally(new CompletionException(e));
        } catch (RuntimeException e) {
            future.completeExceptionally(e);
        }
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

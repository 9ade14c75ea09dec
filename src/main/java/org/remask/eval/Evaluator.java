package org.remask.eval;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/** Completes every task, runs the task's test against prompt + completion in the sandbox, and counts passes. */
public final class Evaluator {
    /** One task's result: what was written, how its test run ended and why. */
    public record TaskResult(String taskId, String completion, Outcome outcome, String reason, long nfe,
            double seconds, double generationSeconds, String stderrTail) {}

    /** All results; pass@1 = passed / tasks (one greedy sample per task). */
    public record Report(List<TaskResult> results, double seconds) {
        public Report {
            results = List.copyOf(results);
        }

        public int tasks() {
            return results.size();
        }

        public int passed() {
            return (int) results.stream().filter(r -> r.outcome() == Outcome.PASSED).count();
        }

        public double passAt1() {
            return results.isEmpty() ? 0 : (double) passed() / tasks();
        }

        public long nfe() {
            return results.stream().mapToLong(TaskResult::nfe).sum();
        }

        public Map<String, Object> json() {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("pass_at_1", passAt1());
            json.put("tasks", tasks());
            json.put("passed", passed());
            json.put("nfe", nfe());
            json.put("seconds", seconds);
            List<Map<String, Object>> list = new ArrayList<>();
            for (TaskResult r : results) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("task_id", r.taskId());
                m.put("outcome", r.outcome().name());
                m.put("reason", r.reason());
                m.put("nfe", r.nfe());
                m.put("seconds", r.seconds());
                list.add(m);
            }
            json.put("results", list);
            return json;
        }

        /** The summary table: one row per task, then the totals. */
        public void printTable(PrintWriter out) {
            int width = Math.max(7, results.stream().mapToInt(r -> r.taskId().length()).max().orElse(0));
            String row = "%-" + width + "s  %-7s  %8s  %8s%n";
            out.printf(Locale.ROOT, row, "task_id", "outcome", "nfe", "seconds");
            for (TaskResult r : results) {
                out.printf(Locale.ROOT, row, r.taskId(), r.outcome().name(), r.nfe(),
                        String.format(Locale.ROOT, "%.2f", r.seconds()));
            }
            out.printf(Locale.ROOT, "pass@1 %.4f (%d of %d passed), %d NFE, %.1f s%n", passAt1(), passed(), tasks(),
                    nfe(), seconds);
        }
    }

    private final Completer completer;
    private final Sandbox sandbox;
    private final PrintWriter progress;
    private final int checkers;

    /**
     * With a progress writer (a terminal's stderr), a line per task is redrawn in place; null for none. The
     * test runs go to {@code checkers} threads, so that they overlap with the next completions and each other.
     */
    public Evaluator(Completer completer, Sandbox sandbox, PrintWriter progress, int checkers) {
        if (checkers < 1) {
            throw new IllegalArgumentException("checkers must be at least 1, not " + checkers);
        }
        this.completer = completer;
        this.sandbox = sandbox;
        this.progress = progress;
        this.checkers = checkers;
    }

    /** As many checkers as processors. */
    public Evaluator(Completer completer, Sandbox sandbox, PrintWriter progress) {
        this(completer, sandbox, progress, Runtime.getRuntime().availableProcessors());
    }

    public Report evaluate(List<Task> tasks) {
        long start = System.nanoTime();
        List<Future<TaskResult>> results = new ArrayList<>();
        AtomicInteger passed = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(checkers);
        try {
            for (Task task : tasks) {
                if (progress != null) {
                    progress.printf(Locale.ROOT, "\r\033[K[%d/%d] %s  passed %d", results.size() + 1, tasks.size(),
                            task.taskId(), passed.get());
                    progress.flush();
                }
                long begun = System.nanoTime();
                Completer.Completion completion;
                try {
                    completion = completer.complete(task);
                } catch (RuntimeException e) { // e.g. a prompt over the model's context: this task, not the run
                    double seconds = (System.nanoTime() - begun) / 1e9;
                    results.add(CompletableFuture.completedFuture(new TaskResult(task.taskId(), "", Outcome.ERROR,
                            "no completion: " + e.getMessage(), 0, seconds, seconds, "")));
                    continue;
                }
                double generation = (System.nanoTime() - begun) / 1e9;
                results.add(pool.submit(() -> {
                    Sandbox.Result run = sandbox.check(task, completion.text());
                    if (run.outcome() == Outcome.PASSED) {
                        passed.incrementAndGet();
                    }
                    return new TaskResult(task.taskId(), completion.text(), run.outcome(), run.reason(),
                            completion.nfe(), generation + run.seconds(), generation, run.stderrTail());
                }));
            }
            List<TaskResult> done = new ArrayList<>();
            for (Future<TaskResult> result : results) {
                done.add(result.get());
            }
            return new Report(done, (System.nanoTime() - start) / 1e9);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the tests ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a test run failed in the harness: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
            if (progress != null) {
                progress.print("\r\033[K");
                progress.flush();
            }
        }
    }
}

package org.remask.eval;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Completes every task (once, or several samples each), runs the task's test against prompt + completion in the
 * sandbox, and estimates pass@k.
 */
public final class Evaluator {
    /** One completion to write and test: the task and which of its samples. */
    public record Attempt(Task task, int sample) {}

    /** One attempt's result: what was written, how its test run ended and why. */
    public record TaskResult(String taskId, int sample, String completion, Outcome outcome, String reason, long nfe,
            double seconds, double generationSeconds, String stderrTail) {}

    /** All results, in attempt order. */
    public record Report(List<TaskResult> results, double seconds) {
        public Report {
            results = List.copyOf(results);
        }

        /** Distinct tasks. */
        public int tasks() {
            return byTask().size();
        }

        /** Attempts that passed. */
        public int passed() {
            return (int) results.stream().filter(r -> r.outcome() == Outcome.PASSED).count();
        }

        /** Attempts that could not be run (no completion, or the harness failed). */
        public int errors() {
            return (int) results.stream().filter(r -> r.outcome() == Outcome.ERROR).count();
        }

        public double passAt1() {
            return passAtK(1);
        }

        /**
         * The unbiased estimator of Chen et al. (2021), averaged over tasks: for n samples of which c passed,
         * 1 - C(n - c, k) / C(n, k), computed as human-eval does, 1 - prod_{i = n - c + 1}^{n} (1 - k / i).
         */
        public double passAtK(int k) {
            Map<String, int[]> tasks = byTask();
            if (tasks.isEmpty()) {
                return 0;
            }
            double sum = 0;
            for (int[] nc : tasks.values()) {
                int n = nc[0];
                int c = nc[1];
                if (k > n) {
                    throw new IllegalArgumentException("pass@" + k + " needs at least " + k + " samples per task, not " + n);
                }
                double fail = 1;
                for (int i = n - c + 1; i <= n; i++) {
                    fail *= 1 - (double) k / i;
                }
                sum += n - c < k ? 1 : 1 - fail;
            }
            return sum / tasks.size();
        }

        /** The k of 1, 10, 100, ... that every task has samples for. */
        public List<Integer> ks() {
            int fewest = byTask().values().stream().mapToInt(nc -> nc[0]).min().orElse(0);
            List<Integer> ks = new ArrayList<>();
            for (int k = 1; k <= fewest; k *= 10) {
                ks.add(k);
            }
            return ks;
        }

        /** Task id -> {samples, passed}, in first-seen order. */
        private Map<String, int[]> byTask() {
            Map<String, int[]> tasks = new LinkedHashMap<>();
            for (TaskResult r : results) {
                int[] nc = tasks.computeIfAbsent(r.taskId(), id -> new int[2]);
                nc[0]++;
                nc[1] += r.outcome() == Outcome.PASSED ? 1 : 0;
            }
            return tasks;
        }

        public long nfe() {
            return results.stream().mapToLong(TaskResult::nfe).sum();
        }

        public Map<String, Object> json() {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("pass_at_1", passAt1());
            Map<String, Object> passAtK = new TreeMap<>();
            ks().forEach(k -> passAtK.put(Integer.toString(k), passAtK(k)));
            json.put("pass_at_k", passAtK);
            json.put("tasks", tasks());
            json.put("samples", results.size());
            json.put("passed", passed());
            json.put("errors", errors());
            json.put("nfe", nfe());
            json.put("seconds", seconds);
            List<Map<String, Object>> list = new ArrayList<>();
            for (TaskResult r : results) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("task_id", r.taskId());
                m.put("sample", r.sample());
                m.put("outcome", r.outcome().name());
                m.put("reason", r.reason());
                m.put("nfe", r.nfe());
                m.put("seconds", r.seconds());
                list.add(m);
            }
            json.put("results", list);
            return json;
        }

        /** The summary table: one row per attempt, then the totals. */
        public void printTable(PrintWriter out) {
            int width = Math.max(7, results.stream().mapToInt(r -> r.taskId().length()).max().orElse(0));
            String row = "%-" + width + "s  %6s  %-7s  %8s  %8s  %s%n";
            out.printf(Locale.ROOT, row, "task_id", "sample", "outcome", "nfe", "seconds", "reason");
            for (TaskResult r : results) {
                out.printf(Locale.ROOT, row, r.taskId(), r.sample(), r.outcome().name(), r.nfe(),
                        String.format(Locale.ROOT, "%.2f", r.seconds()), r.reason());
            }
            StringBuilder passAtK = new StringBuilder();
            for (int k : ks()) {
                passAtK.append(String.format(Locale.ROOT, "pass@%d %.4f, ", k, passAtK(k)));
            }
            out.printf(Locale.ROOT, "%s%d of %d passed (%d task%s), %d NFE, %.1f s%n", passAtK, passed(),
                    results.size(), tasks(), tasks() == 1 ? "" : "s", nfe(), seconds);
        }
    }

    private final Completer completer;
    private final Sandbox sandbox;
    private final PrintWriter progress;
    private final int checkers;

    /**
     * With a progress writer (a terminal's stderr), a line per attempt is redrawn in place; null for none. The
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

    /** One completion per task. */
    public Report evaluate(List<Task> tasks) {
        return evaluate(tasks, 1, result -> {});
    }

    /** {@code samples} completions per task; each result goes to {@code onResult} as soon as it is known, in order. */
    public Report evaluate(List<Task> tasks, int samples, Consumer<TaskResult> onResult) {
        List<Attempt> attempts = new ArrayList<>();
        for (Task task : tasks) {
            for (int s = 0; s < samples; s++) {
                attempts.add(new Attempt(task, s));
            }
        }
        return run(attempts, onResult);
    }

    /** Given completions, several per task allowed, in their order (the model-free scoring of a samples file). */
    public static Report score(List<Sample> samples, Map<String, Task> tasks, Sandbox sandbox, PrintWriter progress,
            Consumer<TaskResult> onResult) {
        List<Attempt> attempts = new ArrayList<>();
        Map<String, List<String>> given = new LinkedHashMap<>();
        for (Sample sample : samples) {
            List<String> completions = given.computeIfAbsent(sample.taskId(), id -> new ArrayList<>());
            attempts.add(new Attempt(tasks.get(sample.taskId()), completions.size()));
            completions.add(sample.completion());
        }
        Completer completer = (task, sample) -> new Completer.Completion(given.get(task.taskId()).get(sample), 0);
        return new Evaluator(completer, sandbox, progress).run(attempts, onResult);
    }

    private Report run(List<Attempt> attempts, Consumer<TaskResult> onResult) {
        long start = System.nanoTime();
        List<Future<TaskResult>> results = new ArrayList<>();
        AtomicInteger passed = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(checkers);
        try {
            for (Attempt attempt : attempts) {
                Task task = attempt.task();
                if (progress != null) {
                    progress.printf(Locale.ROOT, "\r\033[K[%d/%d] %s  passed %d", results.size() + 1, attempts.size(),
                            task.taskId(), passed.get());
                    progress.flush();
                }
                long begun = System.nanoTime();
                Completer.Completion completion;
                try {
                    completion = completer.complete(task, attempt.sample());
                } catch (RuntimeException e) { // e.g. a prompt over the model's context: this attempt, not the run
                    double seconds = (System.nanoTime() - begun) / 1e9;
                    results.add(CompletableFuture.completedFuture(new TaskResult(task.taskId(), attempt.sample(), "",
                            Outcome.ERROR, "no completion: " + e.getMessage(), 0, seconds, seconds, "")));
                    continue;
                }
                double generation = (System.nanoTime() - begun) / 1e9;
                results.add(pool.submit(() -> {
                    Sandbox.Result run = sandbox.check(task, completion.text());
                    if (run.outcome() == Outcome.PASSED) {
                        passed.incrementAndGet();
                    }
                    return new TaskResult(task.taskId(), attempt.sample(), completion.text(), run.outcome(),
                            run.reason(), completion.nfe(), generation + run.seconds(), generation, run.stderrTail());
                }));
            }
            List<TaskResult> done = new ArrayList<>();
            for (Future<TaskResult> result : results) {
                done.add(result.get());
                onResult.accept(done.getLast());
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

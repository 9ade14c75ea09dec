package org.remask.eval;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Completes every task, runs prompt + completion + test + check(entry_point) in the sandbox, and counts passes. */
public final class Evaluator {
    /** One task's result. */
    public record TaskResult(String taskId, Outcome outcome, int exitCode, long nfe, double seconds,
            double generationSeconds, String stderrTail) {}

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

    /** With a progress writer (a terminal's stderr), a line per task is redrawn in place; null for none. */
    public Evaluator(Completer completer, Sandbox sandbox, PrintWriter progress) {
        this.completer = completer;
        this.sandbox = sandbox;
        this.progress = progress;
    }

    public TaskResult evaluate(Task task) {
        long start = System.nanoTime();
        Completer.Completion completion = completer.complete(task);
        double generation = (System.nanoTime() - start) / 1e9;
        Sandbox.Result run = sandbox.run(task.program(completion.text()));
        return new TaskResult(task.taskId(), run.outcome(), run.exitCode(), completion.nfe(),
                (System.nanoTime() - start) / 1e9, generation, run.stderrTail());
    }

    public Report evaluate(List<Task> tasks) {
        long start = System.nanoTime();
        List<TaskResult> results = new ArrayList<>();
        int passed = 0;
        for (Task task : tasks) {
            if (progress != null) {
                progress.printf(Locale.ROOT, "\r\033[K[%d/%d] %s  passed %d", results.size() + 1, tasks.size(),
                        task.taskId(), passed);
                progress.flush();
            }
            TaskResult result = evaluate(task);
            passed += result.outcome() == Outcome.PASSED ? 1 : 0;
            results.add(result);
        }
        if (progress != null) {
            progress.print("\r\033[K");
            progress.flush();
        }
        return new Report(results, (System.nanoTime() - start) / 1e9);
    }
}

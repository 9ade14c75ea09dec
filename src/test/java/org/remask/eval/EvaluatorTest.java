package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluatorTest {
    @Test
    void truncatesAtTheFirstStopSequence() {
        assertEquals("    return a + b\n", Stops.truncate("    return a + b\n\ndef other():\n    pass\n"));
        assertEquals("    return 1", Stops.truncate("    return 1\n# a comment\nclass X: pass"));
        assertEquals("    x = 1", Stops.truncate("    x = 1\nif __name__ == '__main__':\n    main()"));
        assertEquals("    y = 2", Stops.truncate("    y = 2\nprint(y)"));
        assertEquals("    # inside is fine\n    return 3", Stops.truncate("    # inside is fine\n    return 3"));
        assertEquals("", Stops.truncate("\ndef f(): pass"));
    }

    @Test
    void passAtOneIsPassedOverTasks() {
        List<Task> tasks = Dataset.read(DatasetTest.resource("mini.jsonl"));
        Map<String, String> completions = Map.of(
                "add", "    return a + b\n",
                "reverse", "    return s\n",
                "is_palindrome", "    return s == s[::-1]\n",
                "hypot", "    return a + b\n");
        Completer completer = (task, sample) -> new Completer.Completion(completions.get(task.entryPoint()), 7);
        Sandbox sandbox = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(5)));
        Evaluator.Report report = new Evaluator(completer, sandbox, null).evaluate(tasks);
        assertEquals(4, report.tasks());
        assertEquals(2, report.passed());
        assertEquals(0.5, report.passAt1());
        assertEquals(28, report.nfe());
        assertEquals(List.of(Outcome.PASSED, Outcome.FAILED, Outcome.PASSED, Outcome.FAILED),
                report.results().stream().map(Evaluator.TaskResult::outcome).toList());

        Map<String, Object> json = report.json();
        assertEquals(List.of("pass_at_1", "pass_at_k", "tasks", "samples", "passed", "errors", "nfe", "seconds", "results"),
                List.copyOf(json.keySet()));
        StringWriter table = new StringWriter();
        report.printTable(new PrintWriter(table));
        assertTrue(table.toString().contains("Mini/1        0  FAILED"), table.toString());
        assertTrue(table.toString().contains("pass@1 0.5000, 2 of 4 passed (4 tasks), 28 NFE"), table.toString());
    }

    @Test
    void theCanonicalSolutionsPass() {
        List<Task> tasks = Dataset.read(DatasetTest.resource("mini.jsonl"));
        Completer canonical = (task, sample) -> new Completer.Completion(task.canonicalSolution(), 0);
        Evaluator.Report report = new Evaluator(canonical, new Sandbox(Sandbox.Limits.defaults()), null).evaluate(tasks);
        assertEquals(1.0, report.passAt1(), report.results().toString());
    }

    /** pass@k against its definition, 1 - C(n - c, k) / C(n, k), with the binomials computed directly. */
    @Test
    void passAtKIsTheUnbiasedEstimator() {
        List<Evaluator.TaskResult> results = new java.util.ArrayList<>();
        int[][] nc = {{10, 3}, {10, 0}, {10, 10}, {12, 1}};
        for (int t = 0; t < nc.length; t++) {
            for (int i = 0; i < nc[t][0]; i++) {
                results.add(new Evaluator.TaskResult("T/" + t, i, "", i < nc[t][1] ? Outcome.PASSED : Outcome.FAILED, "",
                        0, 0, 0, ""));
            }
        }
        Evaluator.Report report = new Evaluator.Report(results, 1);
        assertEquals(List.of(1, 10), report.ks());
        for (int k : List.of(1, 2, 5, 10)) {
            double expected = 0;
            for (int[] task : nc) {
                expected += 1 - binomial(task[0] - task[1], k) / binomial(task[0], k);
            }
            assertEquals(expected / nc.length, report.passAtK(k), 1e-12, "pass@" + k);
        }
        assertEquals((0.3 + 0 + 1 + 1.0 / 12) / 4, report.passAt1(), 1e-12);
    }

    private static double binomial(int n, int k) {
        if (k > n) {
            return 0;
        }
        double b = 1;
        for (int i = 1; i <= k; i++) {
            b = b * (n - k + i) / i;
        }
        return b;
    }
}

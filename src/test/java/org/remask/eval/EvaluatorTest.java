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
        Completer completer = task -> new Completer.Completion(completions.get(task.entryPoint()), 7);
        Sandbox sandbox = new Sandbox(Sandbox.Limits.defaults().withTimeout(Duration.ofSeconds(5)));
        Evaluator.Report report = new Evaluator(completer, sandbox, null).evaluate(tasks);
        assertEquals(4, report.tasks());
        assertEquals(2, report.passed());
        assertEquals(0.5, report.passAt1());
        assertEquals(28, report.nfe());
        assertEquals(List.of(Outcome.PASSED, Outcome.FAILED, Outcome.PASSED, Outcome.FAILED),
                report.results().stream().map(Evaluator.TaskResult::outcome).toList());

        Map<String, Object> json = report.json();
        assertEquals(List.of("pass_at_1", "tasks", "passed", "nfe", "seconds", "results"), List.copyOf(json.keySet()));
        StringWriter table = new StringWriter();
        report.printTable(new PrintWriter(table));
        assertTrue(table.toString().contains("Mini/1   FAILED"), table.toString());
        assertTrue(table.toString().contains("pass@1 0.5000 (2 of 4 passed), 28 NFE"), table.toString());
    }

    @Test
    void theCanonicalSolutionsPass() {
        List<Task> tasks = Dataset.read(DatasetTest.resource("mini.jsonl"));
        Completer canonical = task -> new Completer.Completion(task.canonicalSolution(), 0);
        Evaluator.Report report = new Evaluator(canonical, new Sandbox(Sandbox.Limits.defaults()), null).evaluate(tasks);
        assertEquals(1.0, report.passAt1(), report.results().toString());
    }
}

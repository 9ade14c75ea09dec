package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The shipped held-out split: well-formed, distinct, and its tests tell right code from wrong code. */
class MiniEvalTest {
    static final Path MINIEVAL = Path.of("datasets/minieval.jsonl");

    @Test
    void theTasksAreDistinctAndTheirTestsPassTheCanonicalSolutionsOnly() {
        List<Task> tasks = Dataset.read(MINIEVAL);
        assertEquals(164, tasks.size());
        Set<String> prompts = new HashSet<>();
        tasks.forEach(task -> assertTrue(prompts.add(task.prompt()), task.taskId() + " repeats a prompt"));

        Sandbox sandbox = new Sandbox(Sandbox.Limits.defaults());
        Completer canonical = (task, sample) -> new Completer.Completion(task.canonicalSolution(), 0);
        Evaluator.Report right = new Evaluator(canonical, sandbox, null).evaluate(tasks);
        assertEquals(1.0, right.passAt1(), right.results().toString());
        // The first argument back, unchanged: a plausible wrong answer that no test may accept.
        Completer identity = (task, sample) -> new Completer.Completion(
                "    return " + task.prompt().substring(task.prompt().indexOf('(') + 1).split("[,)]")[0] + "\n", 0);
        Evaluator.Report wrong = new Evaluator(identity, sandbox, null).evaluate(tasks);
        assertEquals(0, wrong.passed(), wrong.results().stream()
                .filter(r -> r.outcome() == Outcome.PASSED).map(Evaluator.TaskResult::taskId).toList().toString());
    }
}

package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train/tasks.py --variants: every equivalent body it draws passes its task's tests, and they differ. */
class TrainingTasksTest {
    @Test
    void variantBodiesPassTheirTestsAndAreNotAllTheFirst(@TempDir Path dir) throws IOException, InterruptedException {
        Path file = dir.resolve("variants.jsonl");
        Process python = new ProcessBuilder("python3", "train/tasks.py", "train", "--count", "102", "--seed", "3",
                "--variants", "--exclude", MiniEvalTest.MINIEVAL.toString())
                .redirectOutput(file.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        assertEquals(0, python.waitFor());
        List<Task> tasks = Dataset.read(file);
        assertEquals(102, tasks.size());

        Completer canonical = (task, sample) -> new Completer.Completion(task.canonicalSolution(), 0);
        Evaluator.Report report = new Evaluator(canonical, new Sandbox(Sandbox.Limits.defaults()), null).evaluate(tasks);
        assertEquals(1.0, report.passAt1(), report.results().toString());
        long loops = tasks.stream().filter(task -> task.canonicalSolution().contains("    for v in ")).count();
        long oneLiners = tasks.stream().filter(task -> task.canonicalSolution().lines().count() == 1).count();
        assertTrue(loops > 10 && oneLiners > 10, loops + " loops, " + oneLiners + " one-line bodies");
    }
}

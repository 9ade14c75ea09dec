package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.remask.cli.Main;

/** remask eval with the tiny chat model: its completions are garbage, so only the report's shape is checked. */
class EvalCommandTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out), new PrintWriter(err)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static String model() {
        try {
            return Path.of(EvalCommandTest.class.getResource("/text/tiny-chat-model").toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void jsonReport() throws IOException {
        Run run = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--limit", "2", "--gen-length", "16", "--block-length", "16", "--timeout", "5", "--format", "json");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> json = JSON.std.mapFrom(run.out());
        assertEquals(2, ((Number) json.get("tasks")).intValue());
        int passed = ((Number) json.get("passed")).intValue();
        assertEquals(passed / 2.0, ((Number) json.get("pass_at_1")).doubleValue());
        assertEquals(32, ((Number) json.get("nfe")).intValue());
        assertTrue(((Number) json.get("seconds")).doubleValue() > 0);
        List<?> results = (List<?>) json.get("results");
        assertEquals(2, results.size());
        Map<?, ?> first = (Map<?, ?>) results.get(0);
        assertEquals("Mini/0", first.get("task_id"));
        assertTrue(List.of("PASSED", "FAILED", "TIMEOUT", "CRASHED").contains(first.get("outcome")), first.toString());
        assertEquals(16, ((Number) first.get("nfe")).intValue());
    }

    /** The revision rules run under eval as under generate; a sweep takes its rules from --sweep-revisions. */
    @Test
    void revisionRulesRunUnderEval() throws IOException {
        for (String rule : List.of("rcr", "wino", "remdm")) {
            Run run = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                    "--limit", "1", "--gen-length", "16", "--block-length", "16", "--revise", rule, "--format", "json");
            assertEquals(0, run.code(), rule + ": " + run.err());
            assertEquals(1, ((Number) JSON.std.mapFrom(run.out()).get("tasks")).intValue());
        }
        Run sweep = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--sweep", "--out", "target/never", "--revise", "wino");
        assertEquals(2, sweep.code());
        assertEquals("remask: --sweep runs the grid for each of --sweep-revisions: --revise goes without it",
                sweep.err().strip());
    }

    @Test
    void textTableAndErrors() {
        Run run = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--limit", "1", "--gen-length", "8", "--block-length", "8", "--timeout", "5");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().startsWith("task_id"), run.out());
        assertTrue(run.out().contains("Mini/0"), run.out());
        assertTrue(run.out().contains(" of 1 passed (1 task)"), run.out());

        Run missing = run("eval", "--model", model(), "--dataset", "/nonexistent/x.jsonl");
        assertEquals(2, missing.code());
        assertEquals("remask: no such dataset file: /nonexistent/x.jsonl", missing.err().strip());

        Run badTimeout = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--timeout", "0");
        assertEquals(2, badTimeout.code(), badTimeout.err());

        Run badPython = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--python", "/no/such/python3");
        assertEquals(2, badPython.code(), badPython.err());
        assertEquals("remask: --python /no/such/python3 is not an executable file", badPython.err().strip());
    }

    private static final String MINI = DatasetTest.resource("mini.jsonl").toString();

    /** A samples file of every mini task, {@code right} canonical completions then {@code wrong} wrong ones each. */
    private static Path samples(Path dir, int right, int wrong) throws IOException {
        StringBuilder text = new StringBuilder();
        for (Task task : Dataset.read(Path.of(MINI))) {
            for (int i = 0; i < right + wrong; i++) {
                String completion = i < right ? task.canonicalSolution() : "    return None\n";
                text.append(JSON.std.asString(Map.of("task_id", task.taskId(), "completion", completion))).append('\n');
            }
        }
        return Files.writeString(dir.resolve("samples.jsonl"), text);
    }

    @Test
    void scoresGivenCompletionsAsHumanEvalDoes(@TempDir Path dir) throws IOException {
        Run right = run("eval", "--dataset", MINI, "--score", samples(dir, 1, 0).toString(), "--format", "json");
        assertEquals(0, right.code(), right.err());
        assertEquals(1.0, ((Number) JSON.std.mapFrom(right.out()).get("pass_at_1")).doubleValue());

        Run wrong = run("eval", "--dataset", MINI, "--score", samples(dir, 0, 1).toString(), "--format", "json");
        assertEquals(0, wrong.code(), wrong.err());
        assertEquals(0.0, ((Number) JSON.std.mapFrom(wrong.out()).get("pass_at_1")).doubleValue());

        Path out = dir.resolve("results.jsonl");
        Run ten = run("eval", "--dataset", MINI, "--score", samples(dir, 2, 8).toString(), "--samples-out",
                out.toString(), "--format", "json");
        assertEquals(0, ten.code(), ten.err());
        Map<String, Object> report = JSON.std.mapFrom(ten.out());
        assertEquals(4, ((Number) report.get("tasks")).intValue());
        assertEquals(40, ((Number) report.get("samples")).intValue());
        Map<?, ?> passAtK = (Map<?, ?>) report.get("pass_at_k");
        assertEquals(0.2, ((Number) passAtK.get("1")).doubleValue(), 1e-12);
        assertEquals(1.0, ((Number) passAtK.get("10")).doubleValue(), 1e-12);
        List<String> lines = Files.readAllLines(out);
        assertEquals(40, lines.size());
        Map<String, Object> first = JSON.std.mapFrom(lines.get(0));
        assertEquals(List.of("task_id", "sample", "completion", "result", "passed", "reason"), List.copyOf(first.keySet()));
        assertEquals("passed", first.get("result"));
        Map<String, Object> last = JSON.std.mapFrom(lines.get(39));
        assertEquals(9, ((Number) last.get("sample")).intValue());
        assertEquals(false, last.get("passed"));
        assertTrue(((String) last.get("reason")).contains(" at test line 2: assert "), last.toString());
    }

    @Test
    void aBadSamplesFileIsOneLineAndNothingRuns(@TempDir Path dir) throws IOException {
        Path good = samples(dir, 1, 0);
        Path out = dir.resolve("results.jsonl");
        Map<String, String> bad = Map.of(
                "{\"task_id\": ", "bad JSON at line 5",
                "{\"task_id\": \"Mini/0\"}", "missing field completion at line 5",
                "{\"task_id\": \"HumanEval/0\", \"completion\": \"\"}", "line 5 is a sample of HumanEval/0, which");
        for (Map.Entry<String, String> line : bad.entrySet()) {
            Path file = Files.writeString(dir.resolve("bad.jsonl"), Files.readString(good) + line.getKey() + "\n");
            Run run = run("eval", "--dataset", MINI, "--score", file.toString(), "--samples-out", out.toString());
            assertEquals(2, run.code(), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
            assertTrue(run.err().contains(line.getValue()), run.err());
            assertFalse(Files.exists(out), "nothing was scored, so nothing is written");
        }
        Path other = Files.writeString(dir.resolve("other.jsonl"), "{\"task_id\": \"HumanEval/0\", \"completion\": \"\"}\n");
        Run run = run("eval", "--dataset", MINI, "--score", other.toString());
        assertEquals(2, run.code());
        assertTrue(run.err().contains("a samples file of another dataset?"), run.err());
        Run withSamples = run("eval", "--dataset", MINI, "--score", good.toString(), "--samples", "2");
        assertEquals(2, withSamples.code(), withSamples.err());
        Run withModel = run("eval", "--dataset", MINI, "--score", good.toString(), "--model", model());
        assertEquals(2, withModel.code(), withModel.err());
        assertTrue(withModel.err().contains("without a model"), withModel.err());
    }

    @Test
    void sampleOptionsAreRefusedWhereTheyDoNotApply(@TempDir Path dir) {
        Run none = run("eval", "--model", model(), "--dataset", MINI, "--samples", "0");
        assertEquals(2, none.code(), none.err());
        assertEquals("remask: --samples must be at least 1, not 0", none.err().strip());
        Run sweep = run("eval", "--model", model(), "--dataset", MINI, "--temperature", "1", "--samples", "2",
                "--sweep", "--out", dir.toString());
        assertEquals(2, sweep.code(), sweep.err());
        assertEquals("remask: --samples, --samples-out and --score go without --sweep", sweep.err().strip());
    }

    @Test
    void severalSamplesNeedATemperatureAndEachHasItsSeed(@TempDir Path dir) throws IOException {
        Run greedy = run("eval", "--model", model(), "--dataset", MINI, "--samples", "2");
        assertEquals(2, greedy.code(), greedy.err());
        assertTrue(greedy.err().contains("needs --temperature above 0"), greedy.err());

        Path out = dir.resolve("results.jsonl");
        Run sampled = run("eval", "--model", model(), "--dataset", MINI, "--limit", "1", "--gen-length", "8",
                "--block-length", "8", "--temperature", "1", "--samples", "3", "--samples-out", out.toString());
        assertEquals(0, sampled.code(), sampled.err());
        List<String> completions = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            completions.add((String) JSON.std.mapFrom(line).get("completion"));
        }
        assertEquals(3, completions.size());
        assertTrue(new java.util.HashSet<>(completions).size() > 1, "three seeds, not one: " + completions);
    }

    /** A task the model cannot complete (its prompt is over the context) is an error of that task alone. */
    @Test
    void aTaskThatCannotBeCompletedIsRecordedAndTheRunGoesOn(@TempDir Path dir) throws IOException {
        Task add = Dataset.read(Path.of(MINI)).getFirst();
        Map<String, Object> huge = new java.util.LinkedHashMap<>(Map.of("task_id", "Huge/0",
                "prompt", "#" + "x".repeat(5000) + "\n" + add.prompt(), "entry_point", "add", "test", add.test()));
        Map<String, Object> small = Map.of("task_id", "Small/0", "prompt", add.prompt(), "entry_point", "add",
                "test", add.test());
        Path dataset = Files.writeString(dir.resolve("tasks.jsonl"), JSON.std.asString(huge) + "\n"
                + JSON.std.asString(small) + "\n");
        Run run = run("eval", "--model", model(), "--dataset", dataset.toString(), "--gen-length", "8",
                "--block-length", "8", "--format", "json");
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("1 of 2 completions could not be run"), run.err());
        List<?> results = (List<?>) JSON.std.mapFrom(run.out()).get("results");
        assertEquals(2, results.size());
        Map<?, ?> first = (Map<?, ?>) results.get(0);
        assertEquals("ERROR", first.get("outcome"));
        assertTrue(((String) first.get("reason")).startsWith("no completion: "), first.toString());
        assertTrue(List.of("PASSED", "FAILED").contains(((Map<?, ?>) results.get(1)).get("outcome")), results.toString());
    }

    /**
     * Real records of HumanEval and MBPP (resources/eval/published): every canonical solution passes, as in
     * openai/human-eval and MBPP's own harness, including MBPP's tests that use a Counter, a function named check,
     * the solution's imports and the truth of a regular-expression match; a wrong answer (another task's
     * solution) fails every one.
     */
    @Test
    void publishedTasksPassWithTheirSolutionsAndFailWithOthers(@TempDir Path dir) throws IOException {
        for (String name : List.of("HumanEval.jsonl", "mbpp.jsonl", "sanitized-mbpp.json")) {
            Path dataset = DatasetTest.resource("published/" + name);
            List<Task> tasks = Dataset.read(dataset);
            StringBuilder right = new StringBuilder();
            StringBuilder wrong = new StringBuilder();
            for (int i = 0; i < tasks.size(); i++) {
                Task other = tasks.get((i + 1) % tasks.size());
                right.append(JSON.std.asString(Map.of("task_id", tasks.get(i).taskId(), "completion",
                        tasks.get(i).canonicalSolution()))).append('\n');
                wrong.append(JSON.std.asString(Map.of("task_id", tasks.get(i).taskId(), "completion",
                        other.canonicalSolution()))).append('\n');
            }
            for (boolean canonical : List.of(true, false)) {
                Path samples = Files.writeString(dir.resolve(name + canonical), canonical ? right : wrong);
                Path out = dir.resolve(name + canonical + ".out");
                Run run = run("eval", "--dataset", dataset.toString(), "--score", samples.toString(), "--samples-out",
                        out.toString(), "--format", "json");
                assertEquals(0, run.code(), run.err());
                for (String line : Files.readAllLines(out)) {
                    assertEquals(canonical, JSON.std.mapFrom(line).get("passed"), name + ": " + line);
                }
            }
        }
    }
}

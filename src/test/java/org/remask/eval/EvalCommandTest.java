package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
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

    @Test
    void textTableAndErrors() {
        Run run = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--limit", "1", "--gen-length", "8", "--block-length", "8", "--timeout", "5");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().startsWith("task_id"), run.out());
        assertTrue(run.out().contains("Mini/0"), run.out());
        assertTrue(run.out().contains("(0 of 1 passed)") || run.out().contains("(1 of 1 passed)"), run.out());

        Run missing = run("eval", "--model", model(), "--dataset", "/nonexistent/x.jsonl");
        assertEquals(2, missing.code());
        assertEquals("remask: no such dataset file: /nonexistent/x.jsonl", missing.err().strip());

        Run badTimeout = run("eval", "--model", model(), "--dataset", DatasetTest.resource("mini.jsonl").toString(),
                "--timeout", "0");
        assertEquals(2, badTimeout.code(), badTimeout.err());
    }
}

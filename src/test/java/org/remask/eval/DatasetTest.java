package org.remask.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
    static Path resource(String name) {
        try {
            return Path.of(DatasetTest.class.getResource("/eval/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @TempDir
    Path dir;

    @Test
    void readsTheMiniDataset() {
        List<Task> tasks = Dataset.read(resource("mini.jsonl"));
        assertEquals(4, tasks.size());
        assertEquals("Mini/0", tasks.get(0).taskId());
        assertEquals("add", tasks.get(0).entryPoint());
        assertTrue(tasks.get(0).prompt().startsWith("def add(a: int, b: int) -> int:\n"));
        assertEquals("    return a + b\n", tasks.get(0).canonicalSolution());
        assertTrue(tasks.get(1).test().contains("def check(candidate)"), tasks.get(1).test());
    }

    @Test
    void readsGzip() throws IOException {
        Path gz = dir.resolve("mini.jsonl.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(Files.readAllBytes(resource("mini.jsonl")));
        }
        assertEquals(Dataset.read(resource("mini.jsonl")), Dataset.read(gz));
    }

    @Test
    void clearErrors() throws IOException {
        assertEquals("no such dataset file: " + dir.resolve("nope.jsonl"),
                assertThrows(IllegalArgumentException.class, () -> Dataset.read(dir.resolve("nope.jsonl"))).getMessage());

        Path bad = Files.writeString(dir.resolve("bad.jsonl"),
                "{\"task_id\": \"a\", \"prompt\": \"p\", \"entry_point\": \"f\", \"test\": \"t\"}\n\n{not json\n");
        String message = assertThrows(IllegalArgumentException.class, () -> Dataset.read(bad)).getMessage();
        assertTrue(message.contains("bad JSON at line 3"), message);
        assertTrue(!message.contains("\n"), message);

        Path missing = Files.writeString(dir.resolve("missing.jsonl"), "{\"task_id\": \"a\", \"prompt\": \"p\", \"test\": \"t\"}\n");
        message = assertThrows(IllegalArgumentException.class, () -> Dataset.read(missing)).getMessage();
        assertTrue(message.endsWith("missing field entry_point at line 1"), message);

        Path empty = Files.writeString(dir.resolve("empty.jsonl"), "\n");
        message = assertThrows(IllegalArgumentException.class, () -> Dataset.read(empty)).getMessage();
        assertTrue(message.contains("no tasks"), message);

        Path notGzip = Files.writeString(dir.resolve("plain.jsonl.gz"), "{}");
        assertThrows(RuntimeException.class, () -> Dataset.read(notGzip));
    }

    /** The published formats, from real records (resources/eval/published/README.md says which). */
    @Test
    void readsMbppInItsPublishedFormats() {
        List<Task> mbpp = Dataset.read(resource("published/mbpp.jsonl"));
        assertEquals(List.of("Mbpp/11", "Mbpp/56", "Mbpp/88", "Mbpp/596", "Mbpp/737"),
                mbpp.stream().map(Task::taskId).toList());
        Task first = mbpp.get(0);
        assertEquals("remove_Occ", first.entryPoint());
        assertEquals("\"\"\"\nWrite a python function to remove first and last occurrence of a given character from the"
                + " string.\nassert remove_Occ(\"hello\",\"l\") == \"heo\"\n\"\"\"\n", first.prompt());
        assertTrue(first.test().contains("\n\ndef check(candidate):\n    assert remove_Occ(\"hello\",\"l\") == \"heo\"\n"),
                first.test());
        assertTrue(first.canonicalSolution().startsWith("def remove_Occ(s,ch): \n"), first.canonicalSolution());
        assertEquals("check", mbpp.get(1).entryPoint());
        assertTrue(mbpp.get(3).test().startsWith("import sys\n"), mbpp.get(3).test());

        List<Task> sanitized = Dataset.read(resource("published/sanitized-mbpp.json"));
        assertEquals("Mbpp/2", sanitized.get(0).taskId());
        assertEquals("similar_elements", sanitized.get(0).entryPoint());
        assertTrue(sanitized.get(0).prompt().startsWith("\"\"\"\nWrite a function to find the shared elements"));

        List<Task> plus = Dataset.read(resource("published/MbppPlus-OriginFmt.jsonl"));
        assertEquals("similar_elements", plus.get(0).entryPoint());
        assertTrue(plus.get(0).test().contains("\ndef check(candidate):\n    import numpy as np\n"), plus.get(0).test());
    }

    @Test
    void evalPlusOwnFormatIsRefusedWithWhereToGoInstead() {
        Path file = resource("published/HumanEvalPlus-evalplus-format.jsonl");
        assertEquals(file + ": line 1 is in EvalPlus's own format, whose plus_input tests have no expected outputs:"
                + " use its -OriginFmt release",
                assertThrows(IllegalArgumentException.class, () -> Dataset.read(file)).getMessage());
    }

    @Test
    void badMbppRecordsAreOneLine() throws IOException {
        Path noCall = Files.writeString(dir.resolve("a.jsonl"),
                "{\"task_id\": 1, \"text\": \"t\", \"code\": \"def f(x):\\n    return x\", \"test_list\": [\"assert g(1) == 1\"]}\n");
        assertEquals(noCall + ": the first test at line 1 calls no function that the code defines",
                assertThrows(IllegalArgumentException.class, () -> Dataset.read(noCall)).getMessage());
        Path notStrings = Files.writeString(dir.resolve("b.json"),
                "[{\"task_id\": 1, \"prompt\": \"t\", \"code\": \"def f(x): pass\", \"test_list\": [1]}]");
        assertEquals(notStrings + ": field test_list is not a list of strings at record 1",
                assertThrows(IllegalArgumentException.class, () -> Dataset.read(notStrings)).getMessage());
        Path notObject = Files.writeString(dir.resolve("c.json"), "[1]");
        assertEquals(notObject + ": record 1 is not an object",
                assertThrows(IllegalArgumentException.class, () -> Dataset.read(notObject)).getMessage());
    }
}

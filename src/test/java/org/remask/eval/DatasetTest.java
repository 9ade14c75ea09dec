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
}

package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.remask.engine.Golden;
import org.remask.text.Tokenizer;

/** generate with text: the tiny model with a tokenizer whose special tokens fit its 384-token vocabulary. */
class TextGenerateTest {
    static Path chatModel() {
        try {
            return Path.of(TextGenerateTest.class.getResource("/text/tiny-chat-model").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static CliTest.Run generate(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of("generate", "--model", chatModel().toString(),
                "--gen-length", "16", "--block-length", "16", "--quiet"));
        all.addAll(List.of(args));
        return CliTest.run(all.toArray(String[]::new));
    }

    private static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(v -> ((Number) v).longValue()).toArray();
    }

    @Test
    void jsonHasTheTextAndTheIdsItCameFrom() throws IOException {
        CliTest.Run run = generate("def add(a, b):", "--format", "json");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> json = JSON.std.mapFrom(run.out());
        try (Tokenizer tokenizer = Tokenizer.load(chatModel())) {
            assertArrayEquals(tokenizer.encode("def add(a, b):"), longs(json.get("prompt_ids")));
            long[] ids = longs(json.get("ids"));
            assertEquals(16, ids.length);
            assertEquals(tokenizer.decode(ids), json.get("text"));
        }
        assertEquals(16, ((Number) json.get("nfe")).intValue());
        double seconds = ((Number) json.get("seconds")).doubleValue();
        assertEquals(16 / seconds, ((Number) json.get("tokens_per_second")).doubleValue(), 1e-6 * 16 / seconds);
    }

    @Test
    void chatWrapsThePromptInTheTemplate() throws IOException {
        CliTest.Run run = generate("--chat", "--system", "be brief", "--prompt", "  hello  ", "--format", "json");
        assertEquals(0, run.code(), run.err());
        long[] prompt = longs(JSON.std.mapFrom(run.out()).get("prompt_ids"));
        try (Tokenizer tokenizer = Tokenizer.load(chatModel())) {
            String expected = "<|startoftext|><|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|>"
                    + "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n";
            assertArrayEquals(tokenizer.encode(expected), prompt);
            assertEquals(330, prompt[0]);
            long[] tail = java.util.Arrays.copyOfRange(prompt, prompt.length - 4, prompt.length);
            assertArrayEquals(new long[] {381, tokenizer.encode("assistant")[0], 382, tokenizer.encode("\n\n")[0]}, tail);
        }
    }

    @Test
    void traceLinesShowTheKeptTokensAsText() {
        CliTest.Run run = generate("hello", "--trace", "--schedule", "pyramid");
        assertEquals(0, run.code(), run.err());
        List<String> lines = run.out().lines().toList();
        Pattern step = Pattern.compile("step \\d+  block 0  keeping: \\['.*'(, '.*')*\\]");
        long steps = lines.stream().filter(l -> l.startsWith("step ")).count();
        assertEquals(5, steps, run.out());
        for (String line : lines.subList(0, 5)) {
            assertTrue(step.matcher(line).matches(), line);
        }
        assertTrue(lines.get(0).startsWith("step 0  block 0  keeping: ['"), lines.get(0));
    }

    @Test
    void promptFromStdin() throws IOException {
        InputStream saved = System.in;
        try {
            System.setIn(new ByteArrayInputStream("def add(a, b):".getBytes(StandardCharsets.UTF_8)));
            CliTest.Run fromStdin = generate("--prompt", "-", "--format", "json");
            CliTest.Run fromArgument = generate("--prompt", "def add(a, b):", "--format", "json");
            assertEquals(0, fromStdin.code(), fromStdin.err());
            assertEquals(JSON.std.mapFrom(fromArgument.out()).get("prompt_ids"), JSON.std.mapFrom(fromStdin.out()).get("prompt_ids"));
            assertEquals(JSON.std.mapFrom(fromArgument.out()).get("ids"), JSON.std.mapFrom(fromStdin.out()).get("ids"));
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void visualIsPlainWhenStdoutIsNotATerminal() {
        CliTest.Run visual = generate("hello", "--visual");
        CliTest.Run plain = generate("hello");
        assertEquals(0, visual.code(), visual.err());
        assertEquals(plain.out(), visual.out());
        assertFalse(visual.out().contains("\033["));
        assertFalse(visual.err().contains("\033["), "no progress line when stderr is not a terminal");
    }

    @Test
    void maxTimeKeepsWhatWasCommitted() {
        CliTest.Run run = generate("hello", "--max-time", "0.000000001");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("stopped at --max-time after 0 model calls; 16 of 16 positions still masked"),
                run.err());
    }

    @Test
    void textErrors() {
        String[][] usage = {
            {"the prompt is empty", "--prompt", "   "},
            {"a prompt is required", "--format", "json"},
            {"--system needs --chat", "hello", "--system", "x"},
            {"not both", "hello", "--prompt-ids", "1,2"},
            {"--chat and --system need a text prompt", "--prompt-ids", "1,2", "--chat"},
            {"--max-time must be a positive number", "hello", "--max-time", "0"},
        };
        for (String[] c : usage) {
            CliTest.Run run = generate(java.util.Arrays.copyOfRange(c, 1, c.length));
            assertEquals(2, run.code(), String.join(" ", c) + ": " + run.err());
            assertTrue(run.err().contains(c[0]), run.err());
            assertEquals(1, run.err().strip().lines().count(), run.err());
        }
        CliTest.Run tooLong = CliTest.run("generate", "--model", chatModel().toString(), "--prompt", "hello ".repeat(50),
                "--gen-length", "4080", "--block-length", "16");
        assertEquals(2, tooLong.code(), tooLong.err());
        assertTrue(tooLong.err().contains("over the model's maximum of 4096"), tooLong.err());
        CliTest.Run noTokenizer = CliTest.run("generate", "--model", Golden.checkpoint(Golden.F32).toString(), "hello");
        assertEquals(1, noTokenizer.code(), noTokenizer.err());
        assertTrue(noTokenizer.err().contains("has no tokenizer.json"), noTokenizer.err());
        CliTest.Run noTemplate = CliTest.run("generate", "--model", Golden.checkpoint(Golden.F32).toString(), "--chat", "hello");
        assertTrue(noTemplate.code() != 0 && noTemplate.err().strip().lines().count() == 1, noTemplate.err());
    }
}

package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped remask-mini-variants (models/) is the default model, and it writes code. */
class ShippedModelTest {
    private static final String PROMPT = "def add_4(value):\n    \"\"\"Return value plus 4.\n    >>> add_4(26)\n    30\n"
            + "    \"\"\"\n";

    @Test
    void withoutModelTheShippedOneIsUsed() {
        CliTest.Run info = CliTest.run("info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("models/remask-mini-variants"), info.out());

        CliTest.Run generate = CliTest.run("generate", PROMPT);
        assertEquals(0, generate.code(), generate.err());
        assertTrue(generate.out().startsWith("    return "), generate.out());

        // Its generation_config.json sets the answer length it was trained for, 40 tokens, not 128; 32 does
        // not divide 40, so the default block is the whole answer.
        CliTest.Run json = CliTest.run("generate", "--format", "json", PROMPT);
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"gen_length\":40,\"block_length\":40"), json.out());
    }

    /** The repository keeps files under 5 MB: each shipped model, all its files together, stays under that. */
    @Test
    void everyShippedModelIsWithinTheSizeBudget() throws IOException {
        List<Path> models;
        try (var dirs = Files.list(Path.of("models"))) {
            models = dirs.filter(Files::isDirectory).sorted().toList();
        }
        assertEquals(List.of("remask-mini", "remask-mini-edit", "remask-mini-variants"),
                models.stream().map(p -> p.getFileName().toString()).toList());
        for (Path model : models) {
            long bytes;
            try (var files = Files.list(model)) {
                bytes = files.mapToLong(f -> f.toFile().length()).sum();
            }
            assertTrue(bytes < 5_000_000, model + " holds " + bytes + " bytes");
        }
    }

    /** remask-mini-edit loads and edits: at 2 steps it writes "return = + 2" and an edit step mends it. */
    @Test
    void remaskMiniEditEditsWhatItWrote() {
        String prompt = "def plus_12(a):\n    \"\"\"Add 12 to a.\n    >>> plus_12(-14)\n    -2\n    \"\"\"\n";
        CliTest.Run run = CliTest.run("generate", "--model", "models/remask-mini-edit", "--dtype", "float32",
                "--steps", "2", "--revise", "edit", "--edit-threshold", "0.5", "--trace", prompt);
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("step 2 ") && l.contains("editing: [")), run.out());
        assertTrue(run.out().contains("    return a + 2"), run.out());
    }

    @Test
    void remaskMiniAnswersInOneBlockOfItsThirtyTwo() {
        CliTest.Run json = CliTest.run("generate", "--model", "models/remask-mini", "--format", "json", PROMPT);
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"gen_length\":32,\"block_length\":32"), json.out());
    }

    @Test
    void aBadGenerationConfigIsOneClearLine(@TempDir Path dir) throws IOException {
        withoutGenerationConfig("models/remask-mini", dir);
        assertRefused(dir, "{\"max_new_tokens\": \"many\"}", "max_new_tokens must be a positive integer, not many");
    }

    @Test
    void aPromptWithoutItsFinalNewlineGetsItBackWithANote() {
        CliTest.Run with = CliTest.run("generate", "--format", "json", PROMPT);
        CliTest.Run without = CliTest.run("generate", "--format", "json", PROMPT.stripTrailing());
        assertEquals(0, without.code(), without.err());
        assertEquals("remask: added the final newline that models/remask-mini-variants's prompts end with"
                + " (prompt_ends_with_newline in its generation_config.json)", without.err().strip());
        assertEquals("", with.err());
        String prompt = "\"prompt_ids\":";
        assertEquals(with.out().substring(with.out().indexOf(prompt), with.out().indexOf("\"seconds\"")),
                without.out().substring(without.out().indexOf(prompt), without.out().indexOf("\"seconds\"")));
    }

    @Test
    void aModelWithoutTheNewlineFlagTakesThePromptAsItIs(@TempDir Path dir) throws IOException {
        withoutGenerationConfig("models/remask-mini-variants", dir);
        CliTest.Run run = CliTest.run("generate", "--model", dir.toString(), "--gen-length", "8",
                PROMPT.stripTrailing());
        assertEquals(0, run.code(), run.err());
        assertEquals("", run.err());

        assertRefused(dir, "{\"prompt_ends_with_newline\": \"yes\"}",
                "prompt_ends_with_newline must be true or false, not yes");
    }

    @Test
    void aBaseModelRefusesChatWithWhatToDoInstead() {
        CliTest.Run generate = CliTest.run("generate", "--chat", "hello");
        assertEquals(2, generate.code());
        assertEquals("remask: models/remask-mini-variants has no chat template (a Base model): give the prompt"
                + " without --chat", generate.err().strip());
        CliTest.Run chat = CliTest.run("chat", "--model", "models/remask-mini");
        assertEquals(2, chat.code());
        assertEquals("remask: models/remask-mini has no chat template (a Base model): remask chat needs an Instruct"
                + " model; complete a plain-text prompt with remask generate PROMPT", chat.err().strip());
    }

    @Test
    void resultsFilesNameTheModelAndDatasetRelativeToTheProject(@TempDir Path dir) {
        assertEquals("models/remask-mini", ModelOptions.inProject(Path.of("models/remask-mini")));
        assertEquals("datasets/minieval.jsonl",
                ModelOptions.inProject(ModelOptions.projectRoot().resolve("datasets/../datasets/minieval.jsonl")));
        assertEquals(dir.toAbsolutePath().toString(), ModelOptions.inProject(dir));
    }

    /** generate refuses a generation_config.json of {@code json} with one line: the file and {@code why}. */
    private static void assertRefused(Path dir, String json, String why) throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), json);
        CliTest.Run run = CliTest.run("generate", "--model", dir.toString(), PROMPT);
        assertEquals(2, run.code());
        assertEquals("remask: " + dir.resolve("generation_config.json") + ": " + why, run.err().strip());
    }

    /** A copy of a shipped model in {@code dir}, all but its generation_config.json. */
    private static void withoutGenerationConfig(String model, Path dir) throws IOException {
        for (String name : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(Path.of(model, name), dir.resolve(name));
        }
    }

    @Test
    void aMissingDefaultModelIsOneClearLine() {
        String saved = System.getProperty("remask.default.model");
        System.setProperty("remask.default.model", "/no/such/remask-mini");
        try {
            CliTest.Run run = CliTest.run("info");
            assertEquals(2, run.code());
            assertEquals("remask: no --model given, and the default model is not at /no/such/remask-mini",
                    run.err().strip());
        } finally {
            if (saved == null) {
                System.clearProperty("remask.default.model");
            } else {
                System.setProperty("remask.default.model", saved);
            }
        }
    }
}

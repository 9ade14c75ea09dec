package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.remask.engine.Golden;

/** Dream, LLaDA-MoE and LLaDA2 from the command line: info, generate, chat, and their bad configs. */
class FamilyCliTest {
    private static final String DREAM = "tiny-dream-f32";
    private static final String MOE = "tiny-lladamoe-f32";
    private static final String LLADA2 = "tiny-llada2-f32";

    private static Path checkpoint(String name) {
        return Golden.checkpoint("families/" + name);
    }

    private static Map<?, ?> goldenCase(String name) {
        return Golden.list("families/generate.json").stream().map(c -> (Map<?, ?>) c)
                .filter(c -> c.get("case").equals(name)).findFirst().orElseThrow();
    }

    private static String ids(Object list) {
        return ((List<?>) list).stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    /** The golden case's ids from `remask generate --format json` with these options. */
    private static void generatesTheCase(String model, String name, String... options) throws IOException {
        Map<?, ?> golden = goldenCase(name);
        List<String> args = new java.util.ArrayList<>(List.of("generate", "--model", checkpoint(model).toString(),
                "--prompt-ids", ids(golden.get("prompt_ids")), "--format", "json"));
        args.addAll(List.of(options));
        CliTest.Run run = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, run.code(), run.err());
        Map<String, Object> json = JSON.std.mapFrom(run.out());
        assertEquals(ids(golden.get("ids")), ids(json.get("ids")), name);
        assertEquals(((Number) golden.get("nfe")).intValue(), ((Number) json.get("nfe")).intValue(), name + " NFE");
    }

    @Test
    void generatesAsThePublishedCode() throws IOException {
        generatesTheCase(DREAM, "dream-maskgit_plus", "--gen-length", "16", "--schedule", "dream", "--steps", "8",
                "--remasking", "maskgit_plus");
        generatesTheCase(DREAM, "dream-entropy-topk5", "--gen-length", "16", "--schedule", "dream", "--steps", "8",
                "--remasking", "entropy", "--top-k", "5");
        generatesTheCase(MOE, "lladamoe-llada-blocks", "--gen-length", "32", "--block-length", "16", "--steps", "8");
        // LLaDA2's own schedule is its default; its cache changes nothing.
        generatesTheCase(LLADA2, "llada2-b8-s4-thr0.5", "--gen-length", "32", "--block-length", "8", "--steps", "4",
                "--threshold", "0.5");
        generatesTheCase(LLADA2, "llada2-prompt16-b8-s8", "--gen-length", "24", "--block-length", "8", "--steps", "8",
                "--threshold", "0.9", "--cache", "prefix");
    }

    @Test
    void dreamsGenerationConfigGivesItsSamplerDefaults(@TempDir Path dir) throws IOException {
        Path model = copy(checkpoint(DREAM), dir.resolve("dream"));
        Files.writeString(model.resolve("generation_config.json"),
                "{\"alg\": \"entropy\", \"alg_temp\": null, \"steps\": 8, \"eps\": 0.001, \"top_k\": 5,"
                        + " \"max_new_tokens\": 16, \"temperature\": 0.0}");
        Map<?, ?> golden = goldenCase("dream-entropy-topk5");
        CliTest.Run run = CliTest.run("generate", "--model", model.toString(), "--prompt-ids",
                ids(golden.get("prompt_ids")), "--format", "json");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> json = JSON.std.mapFrom(run.out());
        assertEquals(ids(golden.get("ids")), ids(json.get("ids")));
        assertEquals("dream --steps 8", json.get("schedule"));

        Files.writeString(model.resolve("generation_config.json"), "{\"alg\": \"entropy\", \"alg_temp\": 0.1}");
        CliTest.Run drawn = CliTest.run("generate", "--model", model.toString(), "--prompt-ids", "1,2,3",
                "--gen-length", "8", "--steps", "4", "--format", "json");
        assertEquals(0, drawn.code(), drawn.err());
        assertEquals("dream --steps 4 --alg-temp 0.1", JSON.std.mapFrom(drawn.out()).get("schedule"));
        CliTest.Run refused = CliTest.run("generate", "--model", model.toString(), "--prompt-ids", "1,2,3",
                "--alg-temp", "-1");
        assertEquals(2, refused.code());
        assertOneLine(refused.err(), "dream alg temp must be a finite number >= 0, not -1.0");
    }

    /** Dream's rows are its raw output one position earlier (row 0: its own), within 1e-4 of the reference's. */
    @Test
    void dreamsLogitsAreEachPositionsDistribution() throws IOException {
        Golden.Forward golden = Golden.forward("families/forward.json", DREAM);
        String ids = Arrays.stream(golden.inputIds()).mapToObj(String::valueOf)
                .collect(Collectors.joining(","));
        CliTest.Run run = CliTest.run("logits", "--model", checkpoint(DREAM).toString(), "--ids", ids, "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<?> rows = (List<?>) JSON.std.mapFrom(run.out()).get("logits");
        for (int r = 0; r < rows.size(); r++) {
            List<?> row = (List<?>) rows.get(r);
            float[] raw = golden.logits()[Math.max(r - 1, 0)];
            for (int v = 0; v < row.size(); v++) {
                assertEquals(raw[v], ((Number) row.get(v)).floatValue(), 1e-4, "row " + r);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {DREAM, MOE, LLADA2})
    void evalRunsEveryFamily(String name) throws URISyntaxException {
        Path dataset = Path.of(FamilyCliTest.class.getResource("/eval/mini.jsonl").toURI());
        CliTest.Run run = CliTest.run("eval", "--model", checkpoint(name).toString(), "--dataset", dataset.toString(),
                "--limit", "1", "--gen-length", "16", "--block-length", "8", "--quiet");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("pass@1"), run.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {DREAM, MOE, LLADA2})
    void infoNamesTheArchitecture(String name) throws IOException {
        CliTest.Run run = CliTest.run("info", "--model", checkpoint(name).toString(), "--format", "json");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> info = JSON.std.mapFrom(run.out());
        Map<String, Object> config = JSON.std.mapFrom(Files.readString(checkpoint(name).resolve("config.json")));
        assertEquals(((List<?>) config.get("architectures")).getFirst(), info.get("architecture"));
        assertEquals(config.getOrDefault("num_experts", 0), ((Number) info.get("experts")).intValue());
        assertEquals(510, ((Number) info.get("mask_token_id")).intValue(), "LLaDA-MoE's and LLaDA2's from tokenizer.json");
    }

    @ParameterizedTest
    @ValueSource(strings = {DREAM, MOE, LLADA2})
    void chatsThroughItsTokenizerAndTemplate(String name) {
        InputStream saved = System.in;
        CliTest.Run run;
        try {
            System.setIn(new ByteArrayInputStream("w5 w6 w7\n".getBytes(StandardCharsets.UTF_8)));
            run = CliTest.run("chat", "--model", checkpoint(name).toString(), "--gen-length", "8", "--block-length", "8");
        } finally {
            System.setIn(saved);
        }
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().strip().matches("(w\\d+ ?)+"), run.out());
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                Arguments.of(DREAM, "\"hidden_size\": 64,", "", "missing field 'hidden_size'"),
                Arguments.of(DREAM, "\"use_sliding_window\": false", "\"use_sliding_window\": true",
                        "unsupported use_sliding_window"),
                Arguments.of(DREAM, "\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}",
                        "unsupported rope_scaling"),
                Arguments.of(DREAM, "\"intermediate_size\": 160", "\"intermediate_size\": 128",
                        "config.json implies [64, 128]"),
                Arguments.of(MOE, "\"num_experts\": 8,", "", "missing field 'num_experts'"),
                Arguments.of(MOE, "\"clip_qkv\": null", "\"clip_qkv\": 8", "unsupported clip_qkv"),
                Arguments.of(MOE, "\"expert_intermediate_size\": 32", "\"expert_intermediate_size\": 48",
                        "config.json implies [64, 48]"),
                Arguments.of(MOE, "\"LLaDAMoEModelLM\"", "\"LLaDAMoEModelForCausalLM\"",
                        "unsupported architecture 'LLaDAMoEModelForCausalLM'"),
                Arguments.of(LLADA2, "\"moe_intermediate_size\": 32,", "", "missing field 'moe_intermediate_size'"),
                Arguments.of(LLADA2, "\"use_qkv_bias\": false", "\"use_qkv_bias\": true", "unsupported use_qkv_bias"),
                Arguments.of(LLADA2, "\"n_group\": 4", "\"n_group\": 3", "n_group 3 and topk_group 2 must split"),
                Arguments.of(LLADA2, "\"head_dim\": 16", "\"head_dim\": 8", "config.json implies"));
    }

    @ParameterizedTest(name = "{0}: {3}")
    @MethodSource("badConfigs")
    void badConfigsFailWithOneLine(String name, String field, String replacement, String message, @TempDir Path dir)
            throws IOException {
        Path model = copy(checkpoint(name), dir.resolve("m"));
        String config = Files.readString(model.resolve("config.json"));
        assertTrue(config.contains(field), field);
        Files.writeString(model.resolve("config.json"), config.replace(field, replacement));
        for (String command : List.of("info", "generate")) {
            CliTest.Run run = command.equals("info") ? CliTest.run("info", "--model", model.toString())
                    : CliTest.run("generate", "--model", model.toString(), "--prompt-ids", "1,2,3", "--gen-length", "8",
                            "--block-length", "8");
            assertEquals(2, run.code(), command + ": " + run.err());
            assertOneLine(run.err(), message);
        }
    }

    @Test
    void llada2RefusesWhatItsLayoutCannotRun() {
        CliTest.Run run = CliTest.run("generate", "--model", checkpoint(LLADA2).toString(), "--prompt-ids", "1,2,3",
                "--gen-length", "16", "--schedule", "llada");
        assertEquals(2, run.code());
        assertOneLine(run.err(), "LLaDA2MoeModelLM generates block-causally by its own schedule: use --schedule llada2");
    }

    private static void assertOneLine(String err, String fragment) {
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains(fragment), "'" + err.strip() + "' should mention '" + fragment + "'");
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
            }
        }
        return to;
    }
}

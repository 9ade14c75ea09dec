package org.remask.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.remask.engine.Golden;

class CliTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out), new PrintWriter(err)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static String f32() {
        return Golden.checkpoint(Golden.F32).toString();
    }

    @Test
    void helpAndVersion() {
        Run help = run("--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("info") && help.out().contains("logits"), help.out());
        Run version = run("--version");
        assertEquals(0, version.code());
        assertTrue(version.out().contains("libtorch"), version.out());
    }

    @Test
    void infoAsJson() throws IOException {
        Run run = run("info", "--model", Golden.checkpoint(Golden.BF16_SHARDED).toString(), "--dtype", "bf16",
                "--format", "json");
        assertEquals(0, run.code(), run.err());
        Map<String, Object> info = JSON.std.mapFrom(run.out());
        assertEquals(384, ((Number) info.get("vocab_size")).intValue());
        assertEquals(2, ((Number) info.get("n_layers")).intValue());
        assertEquals("bfloat16", info.get("dtype"));
        assertEquals("cpu", info.get("device"));
        assertEquals(2 * ((Number) info.get("parameters")).longValue(), ((Number) info.get("weight_bytes")).longValue());
        if (Runtime.getRuntime().availableProcessors() > 1) {
            assertEquals(1, ((Number) info.get("threads")).intValue());  // d_model 64: one thread by default
            assertEquals("default: d_model 64 < 512, faster on one thread", info.get("threads_reason"));
        }
        Map<String, Object> asked = JSON.std.mapFrom(run("info", "--model", f32(), "--threads", "2", "--format", "json").out());
        assertEquals(2, ((Number) asked.get("threads")).intValue());
        assertEquals("as asked", asked.get("threads_reason"));
    }

    @Test
    void infoAsText() {
        Run run = run("info", "--model", f32());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("2 layers, d_model 64, 4 heads"), run.out());
        assertTrue(run.out().contains("float32 on cpu"), run.out());
    }

    @Test
    void logitsMatchTheGoldenVectors() throws IOException {
        Golden.Forward golden = Golden.forward(Golden.F32);
        StringBuilder ids = new StringBuilder();
        for (long id : golden.inputIds()) {
            ids.append(ids.isEmpty() ? "" : ",").append(id);
        }
        Run run = run("logits", "--model", f32(), "--ids", ids.toString(), "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<?> rows = (List<?>) JSON.std.mapFrom(run.out()).get("logits");
        assertEquals(golden.logits().length, rows.size());
        for (int r = 0; r < rows.size(); r++) {
            List<?> row = (List<?>) rows.get(r);
            assertEquals(384, row.size());
            for (int v = 0; v < row.size(); v++) {
                assertEquals(golden.logits()[r][v], ((Number) row.get(v)).floatValue(), 1e-4);
            }
        }
    }

    @Test
    void int8LogitsFromTheCliMatchTheInt8GoldenVectors() throws IOException {
        Run info = run("info", "--model", f32(), "--dtype", "int8", "--format", "json");
        assertEquals(0, info.code(), info.err());
        long bits = ((Number) JSON.std.mapFrom(info.out()).get("int8_activation_bits")).longValue();
        Golden.Forward golden = Golden.forward(Golden.int8(bits));
        String ids = java.util.Arrays.stream(golden.inputIds()).mapToObj(Long::toString)
                .collect(java.util.stream.Collectors.joining(","));
        Run run = run("logits", "--model", f32(), "--ids", ids, "--dtype", "int8", "--format", "json");
        assertEquals(0, run.code(), run.err());
        List<?> rows = (List<?>) JSON.std.mapFrom(run.out()).get("logits");
        for (int r = 0; r < rows.size(); r++) {
            List<?> row = (List<?>) rows.get(r);
            for (int v = 0; v < row.size(); v++) {
                assertEquals(golden.logits()[r][v], ((Number) row.get(v)).floatValue(), 1e-4);
            }
        }
        Run text = run("info", "--model", f32(), "--dtype", "int8");
        assertTrue(text.out().contains("in int8 on cpu (as asked)"), text.out());
        assertTrue(text.out().contains("int8 inputs    " + bits + " bits a value"), text.out());
    }

    @Test
    void usageErrorsExitWith2AndOneLine() {
        assertUsageError(run("logits", "--model", f32(), "--ids", "1,x"), "'x' is not a token id");
        assertUsageError(run("logits", "--model", f32(), "--ids", "5,384"), "outside the vocabulary");
        assertUsageError(run("info", "--model", f32(), "--dtype", "float8"), "unknown dtype 'float8'");
        assertUsageError(run("info", "--model", f32(), "--dtype", "int4"), "(use float32, bfloat16, float16 or int8)");
        assertUsageError(run("info", "--model", f32(), "--device", "tpu"), "unknown device 'tpu'");
        assertUsageError(run("frobnicate"), "frobnicate");
        assertUsageError(run("info", "--model", "/no/such/model"), "model directory /no/such/model does not exist");
        assertUsageError(run("info", "--model", Path.of("src/test/resources/text/llada-tiny").toString()),
                "config.json");
        assertUsageError(run("generate", "--model", f32(), "--prompt-ids", ","), "'' is not a token id");
        assertUsageError(run("generate", "--model", f32(), "--prompt-ids", "5,"), "'' is not a token id");
        assertUsageError(run("info", "--model", f32(), "--dtype", "float16"), "float16 runs on cuda only");
        assertUsageError(run("generate", "--model", f32(), "--prompt-ids", "5", "--threshold", "0.5"),
                "--threshold does not apply to --schedule llada");
        assertUsageError(run("generate", "--model", f32(), "--prompt-ids", "5", "--schedule", "threshold", "--steps",
                "4"), "--steps does not apply to --schedule threshold");
        Run malformed = run("generate", "--model", f32(), "--steps", "abc", "--prompt-ids", "5");
        assertUsageError(malformed, "Invalid value for option '--steps': 'abc' is not an int");
        assertEquals("remask: Invalid value for option '--steps': 'abc' is not an int (remask generate --help lists the"
                + " options)", malformed.err().strip());
    }

    /** A corrupt checkpoint is the user's input too: exit 2, one line, naming the file. */
    @Test
    void aCorruptCheckpointIsOneLine(@TempDir Path dir) throws IOException {
        Path source = Golden.checkpoint(Golden.F32);
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        byte[] weights = Files.readAllBytes(source.resolve("model.safetensors"));
        Files.write(dir.resolve("model.safetensors"), java.util.Arrays.copyOf(weights, 1000));
        assertUsageError(run("info", "--model", dir.toString()), dir.resolve("model.safetensors").toString());
    }

    @Test
    void runtimeErrorsExitWith1AndOneLineWithoutAStackTrace() {
        Run run = run("generate", "--model", f32(), "hello");
        assertEquals(1, run.code());
        assertTrue(run.err().strip().startsWith("remask: ") && run.err().contains("has no tokenizer.json")
                && run.err().strip().lines().count() == 1, run.err());
        Run verbose = run("--verbose", "generate", "--model", f32(), "hello");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("at org.remask"), verbose.err());
    }

    private static void assertUsageError(Run run, String fragment) {
        assertEquals(2, run.code(), run.err());
        assertTrue(run.err().contains(fragment), run.err());
        assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
    }
}

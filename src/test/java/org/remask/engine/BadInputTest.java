package org.remask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Every bad input gets an exception carrying a clear message, and the process lives on. */
class BadInputTest {
    private static final String WEIGHTS = "model.safetensors";
    private static final String Q0 = "model.transformer.blocks.0.q_proj.weight";

    @TempDir
    Path temp;

    private Path copyOfF32() throws IOException {
        Path dir = temp.resolve("model");
        Files.createDirectories(dir);
        Path source = Golden.checkpoint(Golden.F32);
        try (Stream<Path> files = Files.list(source)) {
            for (Path file : files.toList()) {
                Files.copy(file, dir.resolve(file.getFileName()));
            }
        }
        return dir;
    }

    private Path withConfig(String from, String to) throws IOException {
        Path dir = copyOfF32();
        Path config = dir.resolve("config.json");
        String text = Files.readString(config);
        assertTrue(text.contains(from), "fixture expects " + from);
        Files.writeString(config, text.replace(from, to));
        return dir;
    }

    private static void assertLoadFails(Path dir, RemaskException.Kind kind, String... fragments) {
        assertFails(() -> Model.load(dir, "cpu", DType.FLOAT32).close(), kind, fragments);
    }

    private static void assertFails(Executable call, RemaskException.Kind kind, String... fragments) {
        RemaskException e = assertThrows(RemaskException.class, call);
        assertEquals(kind, e.kind(), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
        }
    }

    @Test
    void missingDirectory() {
        assertLoadFails(temp.resolve("nowhere"), RemaskException.Kind.CHECKPOINT, "does not exist");
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = copyOfF32();
        Files.delete(dir.resolve("config.json"));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "missing config.json");
    }

    @Test
    void malformedConfig() throws IOException {
        Path dir = copyOfF32();
        Files.writeString(dir.resolve("config.json"), "{\"d_model\": 64,");
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "config.json", "invalid JSON");
    }

    @Test
    void configMissingAField() throws IOException {
        assertLoadFails(withConfig("\"n_layers\": 2,", ""), RemaskException.Kind.CHECKPOINT, "missing field 'n_layers'");
    }

    @Test
    void configFieldOfTheWrongType() throws IOException {
        assertLoadFails(withConfig("\"d_model\": 64", "\"d_model\": \"64\""), RemaskException.Kind.CHECKPOINT,
                "'d_model' must be an integer");
    }

    @Test
    void unsupportedArchitectureSwitches() throws IOException {
        List<String[]> switches = List.of(
                new String[] {"\"block_type\": \"llama\"", "\"block_type\": \"sequential\"", "block_type 'sequential'"},
                new String[] {"\"layer_norm_type\": \"rms\"", "\"layer_norm_type\": \"default\"", "layer_norm_type"},
                new String[] {"\"activation_type\": \"silu\"", "\"activation_type\": \"gelu\"", "activation_type 'gelu'"},
                new String[] {"\"include_bias\": false", "\"include_bias\": true", "include_bias"},
                new String[] {"\"alibi\": false", "\"alibi\": true", "alibi"},
                new String[] {"\"attention_layer_norm\": false", "\"attention_layer_norm\": true", "attention_layer_norm"},
                new String[] {"\"input_emb_norm\": false", "\"input_emb_norm\": true", "input_emb_norm"},
                new String[] {"\"scale_logits\": false", "\"scale_logits\": true", "scale_logits"},
                new String[] {"\"rope\": true", "\"rope\": false", "rope"});
        for (String[] s : switches) {
            Path dir = withConfig(s[0], s[1]);
            assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "unsupported", s[2]);
            deleteTree(dir);
        }
    }

    @Test
    void kvHeadsThatDoNotDivideTheHeads() throws IOException {
        assertLoadFails(withConfig("\"n_kv_heads\": 4", "\"n_kv_heads\": 3"), RemaskException.Kind.CHECKPOINT,
                "n_kv_heads 3 must divide n_heads 4");
    }

    @Test
    void noWeights() throws IOException {
        Path dir = copyOfF32();
        Files.delete(dir.resolve(WEIGHTS));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "no model.safetensors or model.safetensors.index.json");
    }

    @Test
    void missingTensor() throws IOException {
        Path dir = copyOfF32();
        SafetensorsFixture st = SafetensorsFixture.read(dir.resolve(WEIGHTS));
        st.tensors.remove(Q0);
        st.write(dir.resolve(WEIGHTS));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "missing tensor " + Q0);
    }

    @Test
    void extraTensor() throws IOException {
        Path dir = copyOfF32();
        SafetensorsFixture st = SafetensorsFixture.read(dir.resolve(WEIGHTS));
        st.tensors.put("model.transformer.blocks.9.q_proj.weight", st.tensors.get(Q0));
        st.write(dir.resolve(WEIGHTS));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "unexpected tensor model.transformer.blocks.9.q_proj.weight");
    }

    @Test
    void wrongShape() throws IOException {
        Path dir = copyOfF32();
        SafetensorsFixture st = SafetensorsFixture.read(dir.resolve(WEIGHTS));
        SafetensorsFixture.Tensor q = st.tensors.get(Q0);
        st.tensors.put(Q0, new SafetensorsFixture.Tensor(q.dtype(), List.of(32, 128), q.data()));
        st.write(dir.resolve(WEIGHTS));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, Q0 + " has shape [32, 128]", "[64, 64]");
    }

    @Test
    void unknownTensorDtype() throws IOException {
        Path dir = copyOfF32();
        SafetensorsFixture st = SafetensorsFixture.read(dir.resolve(WEIGHTS));
        SafetensorsFixture.Tensor q = st.tensors.get(Q0);
        st.tensors.put(Q0, new SafetensorsFixture.Tensor("I32", q.shape(), q.data()));
        st.write(dir.resolve(WEIGHTS));
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "unsupported dtype 'I32'");
    }

    @Test
    void truncatedFile() throws IOException {
        Path dir = copyOfF32();
        Path weights = dir.resolve(WEIGHTS);
        try (RandomAccessFile file = new RandomAccessFile(weights.toFile(), "rw")) {
            file.setLength(file.length() / 2);
        }
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "run past the end of the file", "truncated");
    }

    @Test
    void headerLongerThanTheFile() throws IOException {
        Path dir = copyOfF32();
        Path weights = dir.resolve(WEIGHTS);
        try (RandomAccessFile file = new RandomAccessFile(weights.toFile(), "rw")) {
            file.setLength(200);
        }
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "header length", "longer than the file");
    }

    @Test
    void tooShortForAHeader() throws IOException {
        Path dir = copyOfF32();
        Files.write(dir.resolve(WEIGHTS), new byte[] {1, 2, 3});
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "too short");
    }

    @Test
    void garbageHeader() throws IOException {
        Path dir = copyOfF32();
        Path weights = dir.resolve(WEIGHTS);
        try (RandomAccessFile file = new RandomAccessFile(weights.toFile(), "rw")) {
            file.seek(8);
            file.write("}{ not json at all".getBytes(StandardCharsets.US_ASCII));
        }
        assertLoadFails(dir, RemaskException.Kind.CHECKPOINT, "bad safetensors header", "invalid JSON");
    }

    @Test
    void shardIndexNamingAMissingShard() throws IOException {
        Path dir = temp.resolve("sharded");
        Files.createDirectories(dir);
        Path source = Golden.checkpoint(Golden.BF16_SHARDED);
        try (Stream<Path> files = Files.list(source)) {
            for (Path file : files.toList()) {
                Files.copy(file, dir.resolve(file.getFileName()));
            }
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertFails(() -> Model.load(dir, "cpu", DType.BFLOAT16).close(), RemaskException.Kind.CHECKPOINT,
                "shard model-00002-of-00002.safetensors is missing");
    }

    @Test
    void unknownDtypeAndDevice() {
        Path dir = Golden.checkpoint(Golden.F32);
        IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () -> DType.parse("float8"));
        assertTrue(dtype.getMessage().contains("unknown dtype 'float8'"));
        assertFails(() -> Model.load(dir, "tpu", DType.FLOAT32).close(), RemaskException.Kind.INVALID_ARGUMENT,
                "unknown device 'tpu'");
        assertFails(() -> Model.load(dir, "cuda:x", DType.FLOAT32).close(), RemaskException.Kind.INVALID_ARGUMENT,
                "unknown device 'cuda:x'");
    }

    @Test
    void cudaWithoutADevice() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Model.nativeVersion().contains("cuda no"));
        assertFails(() -> Model.load(Golden.checkpoint(Golden.F32), "cuda:0", DType.FLOAT32).close(),
                RemaskException.Kind.INVALID_ARGUMENT, "no CUDA device");
    }

    @Test
    void tokenIdsOutsideTheVocabulary() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                TokenBuffer tokens = model.newTokens(1, 4)) {
            assertFails(() -> tokens.write(0, new long[] {1, 384}), RemaskException.Kind.INVALID_ARGUMENT,
                    "token id 384 at index 1 is outside the vocabulary [0, 384)");
            assertFails(() -> tokens.write(0, new long[] {-1}), RemaskException.Kind.INVALID_ARGUMENT,
                    "token id -1");
            assertFails(() -> tokens.write(3, new long[] {1, 2}), RemaskException.Kind.INVALID_ARGUMENT,
                    "outside a buffer of 4 elements");
        }
    }

    @Test
    void sequenceLongerThanTheModelAllows() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32)) {
            assertFails(() -> model.newTokens(1, 4097).close(), RemaskException.Kind.INVALID_ARGUMENT,
                    "sequence length 4097 exceeds the model's maximum of 4096");
        }
    }

    @Test
    void badForwardRanges() {
        try (Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
                TokenBuffer tokens = model.newTokens(2, 8);
                LogitsBuffer logits = model.newLogits(4)) {
            assertFails(() -> model.forward(tokens, 4, 9, logits), RemaskException.Kind.INVALID_ARGUMENT,
                    "rows [4, 9) are not a non-empty range of a sequence of 8");
            assertFails(() -> model.forward(tokens, 0, 4, logits), RemaskException.Kind.INVALID_ARGUMENT,
                    "logits buffer holds 4 rows; this forward needs 8");
        }
    }

    @Test
    void closedModelAndBuffersUsedAgain() {
        Model model = Model.load(Golden.checkpoint(Golden.F32), "cpu", DType.FLOAT32);
        TokenBuffer tokens = model.newTokens(1, 4);
        LogitsBuffer logits = model.newLogits(4);
        model.close();
        model.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> model.forward(tokens, 0, 4, logits));
        assertEquals("model is closed", closed.getMessage());
        assertThrows(IllegalStateException.class, () -> model.newTokens(1, 4));
        assertEquals(4, tokens.read(0, 4).length, "buffers outlive their model");
        tokens.close();
        tokens.close();
        assertEquals("token buffer is closed",
                assertThrows(IllegalStateException.class, () -> tokens.read(0, 1)).getMessage());
        logits.close();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

package org.remask.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes a LLaDA-layout checkpoint directory (config.json and one model.safetensors) with random weights:
 * Linear weights and embeddings drawn from N(0, 1/fan_in) by a seeded generator, norm weights 1.0. The
 * safetensors data is generated and written in chunks through a FileChannel, so even the LLaDA-shaped
 * vocabulary (126464 x 1024, about 0.5 GB per matrix in fp32) never sits in the heap at once.
 *
 * <pre>java -cp bench/target/benchmarks.jar org.remask.bench.RandomCheckpoint --out DIR --d-model 512 \
 *     --layers 2 --heads 8 --mlp 1536 --vocab 32000 [--dtype float32|bfloat16] [--seed 1]</pre>
 */
@Command(name = "random-checkpoint", mixinStandardHelpOptions = true,
        description = "Writes a LLaDA-layout checkpoint with random weights (config.json + model.safetensors).")
public final class RandomCheckpoint implements Callable<Integer> {

    /** The vocabulary of the real LLaDA models; with it the real special-token ids are used. */
    public static final int LLADA_VOCAB = 126464;
    public static final int LLADA_MASK_ID = 126336;
    public static final int LLADA_EOS_ID = 126081;

    private static final int CHUNK_ELEMENTS = 1 << 20;

    /**
     * What to write.
     *
     * @param dtype "float32" or "bfloat16" (the safetensors dtype of every tensor)
     */
    public record Spec(int dModel, int layers, int heads, int mlp, int vocab, int maskId, int eosId,
                       int maxSequenceLength, String dtype, long seed) {

        public Spec {
            if (dModel <= 0 || layers <= 0 || heads <= 0 || mlp <= 0 || vocab <= 1 || maxSequenceLength <= 0) {
                throw new IllegalArgumentException("d_model, layers, heads, mlp, max length must be positive "
                        + "and vocab at least 2");
            }
            if (dModel % heads != 0 || (dModel / heads) % 2 != 0) {
                throw new IllegalArgumentException("d_model " + dModel + " must split into " + heads
                        + " heads of even size");
            }
            if (maskId < 0 || maskId >= vocab || eosId < 0 || eosId >= vocab || maskId == eosId) {
                throw new IllegalArgumentException("mask id " + maskId + " and eos id " + eosId
                        + " must be distinct ids in [0, " + vocab + ")");
            }
            dtype = switch (dtype.toLowerCase(Locale.ROOT)) {
                case "float32", "fp32", "f32" -> "float32";
                case "bfloat16", "bf16" -> "bfloat16";
                default -> throw new IllegalArgumentException("dtype must be float32 or bfloat16, not " + dtype);
            };
        }

        /**
         * Defaults for the rest: LLaDA's mask 126336 and eos 126081 when vocab is 126464, otherwise
         * vocab-1 and vocab-2; max length 4096; float32; seed 1.
         */
        public static Spec of(int dModel, int layers, int heads, int mlp, int vocab) {
            return new Spec(dModel, layers, heads, mlp, vocab, defaultMaskId(vocab), defaultEosId(vocab), 4096,
                    "float32", 1);
        }

        public Spec withDtype(String newDtype) {
            return new Spec(dModel, layers, heads, mlp, vocab, maskId, eosId, maxSequenceLength, newDtype, seed);
        }

        public Spec withSeed(long newSeed) {
            return new Spec(dModel, layers, heads, mlp, vocab, maskId, eosId, maxSequenceLength, dtype, newSeed);
        }

        int elementBytes() {
            return dtype.equals("float32") ? 4 : 2;
        }

        String safetensorsDtype() {
            return dtype.equals("float32") ? "F32" : "BF16";
        }

        /** The tensors in LLaDA's names and shapes (Linear weights are [out, in]), in file order. */
        List<TensorSpec> tensors() {
            List<TensorSpec> t = new ArrayList<>();
            t.add(new TensorSpec("model.transformer.wte.weight", vocab, dModel, dModel));
            for (int i = 0; i < layers; i++) {
                String p = "model.transformer.blocks." + i + ".";
                t.add(TensorSpec.norm(p + "attn_norm.weight", dModel));
                t.add(new TensorSpec(p + "q_proj.weight", dModel, dModel, dModel));
                t.add(new TensorSpec(p + "k_proj.weight", dModel, dModel, dModel));
                t.add(new TensorSpec(p + "v_proj.weight", dModel, dModel, dModel));
                t.add(new TensorSpec(p + "attn_out.weight", dModel, dModel, dModel));
                t.add(TensorSpec.norm(p + "ff_norm.weight", dModel));
                t.add(new TensorSpec(p + "ff_proj.weight", mlp, dModel, dModel));
                t.add(new TensorSpec(p + "up_proj.weight", mlp, dModel, dModel));
                t.add(new TensorSpec(p + "ff_out.weight", dModel, mlp, mlp));
            }
            t.add(TensorSpec.norm("model.transformer.ln_f.weight", dModel));
            t.add(new TensorSpec("model.transformer.ff_out.weight", vocab, dModel, dModel));
            return t;
        }

        public long parameterCount() {
            return tensors().stream().mapToLong(TensorSpec::elements).sum();
        }
    }

    /** One tensor: [rows, cols] (cols 0 for a vector of rows), N(0, 1/fanIn) or, with fanIn 0, all ones. */
    record TensorSpec(String name, int rows, int cols, int fanIn) {
        static TensorSpec norm(String name, int size) {
            return new TensorSpec(name, size, 0, 0);
        }

        long elements() {
            return cols == 0 ? rows : (long) rows * cols;
        }

        String shapeJson() {
            return cols == 0 ? "[" + rows + "]" : "[" + rows + ", " + cols + "]";
        }
    }

    public static int defaultMaskId(int vocab) {
        return vocab == LLADA_VOCAB ? LLADA_MASK_ID : vocab - 1;
    }

    public static int defaultEosId(int vocab) {
        return vocab == LLADA_VOCAB ? LLADA_EOS_ID : vocab - 2;
    }

    /** Writes config.json and model.safetensors into {@code directory} (created if missing). */
    public static Path write(Spec spec, Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.writeString(directory.resolve("config.json"), configJson(spec), StandardCharsets.UTF_8);
        writeSafetensors(spec, directory.resolve("model.safetensors"));
        return directory;
    }

    /** Deletes a directory written by {@link #write} (or anything else) recursively; null is ignored. */
    public static void deleteRecursively(Path directory) throws IOException {
        if (directory == null || !Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Every field the engine's config reader looks at, in the style of a Hugging Face LLaDA config. */
    static String configJson(Spec s) {
        List<String[]> f = new ArrayList<>();
        f.add(new String[] {"architectures", "[\n    \"LLaDAModelLM\"\n  ]"});
        f.add(new String[] {"model_type", "\"llada\""});
        f.add(new String[] {"block_type", "\"llama\""});
        f.add(new String[] {"d_model", Integer.toString(s.dModel())});
        f.add(new String[] {"n_layers", Integer.toString(s.layers())});
        f.add(new String[] {"n_heads", Integer.toString(s.heads())});
        f.add(new String[] {"n_kv_heads", Integer.toString(s.heads())});
        f.add(new String[] {"mlp_hidden_size", Integer.toString(s.mlp())});
        f.add(new String[] {"mlp_ratio", "4"});
        f.add(new String[] {"activation_type", "\"silu\""});
        f.add(new String[] {"vocab_size", Integer.toString(s.vocab())});
        f.add(new String[] {"embedding_size", Integer.toString(s.vocab())});
        f.add(new String[] {"weight_tying", "false"});
        f.add(new String[] {"include_bias", "false"});
        f.add(new String[] {"include_qkv_bias", "false"});
        f.add(new String[] {"bias_for_layer_norm", "false"});
        f.add(new String[] {"layer_norm_type", "\"rms\""});
        f.add(new String[] {"layer_norm_with_affine", "true"});
        f.add(new String[] {"rms_norm_eps", "1e-05"});
        f.add(new String[] {"rope", "true"});
        f.add(new String[] {"rope_theta", "500000.0"});
        f.add(new String[] {"rope_full_precision", "true"});
        f.add(new String[] {"alibi", "false"});
        f.add(new String[] {"attention_layer_norm", "false"});
        f.add(new String[] {"input_emb_norm", "false"});
        f.add(new String[] {"scale_logits", "false"});
        f.add(new String[] {"multi_query_attention", "false"});
        f.add(new String[] {"clip_qkv", "null"});
        f.add(new String[] {"max_sequence_length", Integer.toString(s.maxSequenceLength())});
        f.add(new String[] {"flash_attention", "false"});
        f.add(new String[] {"attention_dropout", "0.0"});
        f.add(new String[] {"residual_dropout", "0.0"});
        f.add(new String[] {"embedding_dropout", "0.0"});
        f.add(new String[] {"mask_token_id", Integer.toString(s.maskId())});
        f.add(new String[] {"eos_token_id", Integer.toString(s.eosId())});
        f.add(new String[] {"pad_token_id", Integer.toString(s.eosId())});
        f.add(new String[] {"torch_dtype", "\"" + s.dtype() + "\""});
        StringBuilder json = new StringBuilder("{\n");
        for (int i = 0; i < f.size(); i++) {
            json.append("  \"").append(f.get(i)[0]).append("\": ").append(f.get(i)[1])
                    .append(i + 1 < f.size() ? ",\n" : "\n");
        }
        return json.append("}\n").toString();
    }

    private static void writeSafetensors(Spec spec, Path file) throws IOException {
        List<TensorSpec> tensors = spec.tensors();
        StringBuilder header = new StringBuilder("{");
        long offset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            long bytes = t.elements() * spec.elementBytes();
            header.append(i == 0 ? "" : ",").append('"').append(t.name()).append("\":{\"dtype\":\"")
                    .append(spec.safetensorsDtype()).append("\",\"shape\":").append(t.shapeJson())
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append(",\"__metadata__\":{\"format\":\"pt\",\"generator\":\"remask-bench RandomCheckpoint seed ")
                .append(spec.seed()).append("\"}}");
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // data starts 8-aligned, as the Hugging Face writer does

        RandomGenerator random = RandomGeneratorFactory.of("L64X128MixRandom").create(spec.seed());
        ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_ELEMENTS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            buffer.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                buffer.put((byte) ' ');
            }
            drain(buffer, out);
            boolean bf16 = spec.elementBytes() == 2;
            for (TensorSpec t : tensors) {
                double std = t.fanIn() == 0 ? 0 : 1.0 / Math.sqrt(t.fanIn());
                for (long left = t.elements(); left > 0; ) {
                    int n = (int) Math.min(left, CHUNK_ELEMENTS);
                    for (int i = 0; i < n; i++) {
                        float v = t.fanIn() == 0 ? 1.0f : (float) (random.nextGaussian() * std);
                        if (bf16) {
                            buffer.putShort(toBfloat16(v));
                        } else {
                            buffer.putFloat(v);
                        }
                    }
                    drain(buffer, out);
                    left -= n;
                }
            }
            long expected = 8L + padded + offset;
            if (out.size() != expected) {
                throw new IOException(file + ": wrote " + out.size() + " bytes, expected " + expected);
            }
        }
    }

    private static void drain(ByteBuffer buffer, FileChannel out) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
        buffer.clear();
    }

    /** Round to nearest even, as torch's float -> bfloat16 conversion does for finite values. */
    static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    // ---- command line ----

    @Option(names = "--out", required = true, description = "Directory to write (created if missing).")
    Path out;

    @Option(names = "--d-model", required = true, description = "Hidden size.")
    int dModel;

    @Option(names = "--layers", required = true, description = "Transformer blocks.")
    int layers;

    @Option(names = "--heads", required = true, description = "Attention heads (d_model / heads must be even).")
    int heads;

    @Option(names = "--mlp", required = true, description = "SwiGLU width (mlp_hidden_size).")
    int mlp;

    @Option(names = "--vocab", required = true, description = "Vocabulary size (126464 for LLaDA's).")
    int vocab;

    @Option(names = "--dtype", defaultValue = "float32", description = "float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--mask-id", description = "mask_token_id (default: 126336 for vocab 126464, else vocab-1).")
    Integer maskId;

    @Option(names = "--eos-id", description = "eos_token_id (default: 126081 for vocab 126464, else vocab-2).")
    Integer eosId;

    @Option(names = "--max-length", defaultValue = "4096", description = "max_sequence_length (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Override
    public Integer call() throws IOException {
        Spec spec = new Spec(dModel, layers, heads, mlp, vocab,
                maskId != null ? maskId : defaultMaskId(vocab), eosId != null ? eosId : defaultEosId(vocab),
                maxLength, dtype, seed);
        long started = System.nanoTime();
        write(spec, out);
        long bytes = Files.size(out.resolve("model.safetensors"));
        System.out.printf(Locale.ROOT, "wrote %s: %,d parameters, %s, %,d bytes in %.1f s%n",
                out, spec.parameterCount(), spec.dtype(), bytes, (System.nanoTime() - started) / 1e9);
        return 0;
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new RandomCheckpoint());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("random-checkpoint: error: " + e.getMessage());
            return 1;
        });
        System.exit(cli.execute(args));
    }
}

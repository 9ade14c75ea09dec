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
 * Writes a checkpoint directory (config.json and one model.safetensors) with random weights in the layout of one of
 * the families remask runs: LLaDA, Dream (Qwen2's names, q/k/v biases, grouped keys and values), LLaDA-MoE (OLMoE's
 * names, per-head q/k norms, softmax-routed experts) or LLaDA2 (Ling's names, fused QKV, a dense first layer, grouped
 * sigmoid routing with a shared expert). Linear weights, routers and embeddings are drawn from N(0, 1/fan_in) by a
 * seeded generator (the MoEs' embeddings from N(0, 1), see {@link Spec#tensors}), norm weights are 1.0, biases (q/k/v,
 * LLaDA2's expert bias) 0.0. Sizes not given on the command line are the family's published model's. The MoEs'
 * config.json has no mask
 * id, as theirs has none: a tokenizer.json beside it holds only the added tokens "&lt;|endoftext|&gt;" and
 * "&lt;|mask|&gt;", where the engine reads them. The safetensors data is generated and written in chunks through a
 * FileChannel, so even a real vocabulary (126464 x 1024, about 0.5 GB per matrix in fp32) never sits in the heap at
 * once.
 *
 * <pre>java -cp bench/target/benchmarks.jar org.remask.bench.RandomCheckpoint --out DIR --d-model 512 \
 *     --layers 2 --heads 8 --mlp 1536 --vocab 32000 [--dtype float32|bfloat16] [--seed 1]
 * java -cp bench/target/benchmarks.jar org.remask.bench.RandomCheckpoint --out DIR --family llada2 --layers 2</pre>
 */
@Command(name = "random-checkpoint", mixinStandardHelpOptions = true,
        description = "Writes a checkpoint of one family's layout with random weights (config.json + model.safetensors).")
public final class RandomCheckpoint implements Callable<Integer> {

    private static final int CHUNK_ELEMENTS = 1 << 20;

    /**
     * A checkpoint's sizes. heads * head_dim is d_model in every family; kvHeads divides heads.
     *
     * @param mlp the dense SwiGLU's width (LLaDA2's first layers, LLaDA-MoE's dense_intermediate_size)
     * @param experts routed experts per MoE layer, 0 for a dense model
     * @param expertMlp one routed expert's SwiGLU width
     * @param sharedMlp the shared expert's SwiGLU width, 0 for none
     * @param denseLayers the first layers, which run the dense SwiGLU in a MoE model
     */
    public record Shape(int dModel, int layers, int heads, int kvHeads, int mlp, int experts, int expertsPerToken,
                        int expertMlp, int sharedMlp, int denseLayers) {

        /** LLaDA's: every head with its own keys and values, no experts. */
        public static Shape dense(int dModel, int layers, int heads, int mlp) {
            return new Shape(dModel, layers, heads, heads, mlp, 0, 0, 0, 0, 0);
        }

        public Shape withLayers(int newLayers) {
            return new Shape(dModel, newLayers, heads, kvHeads, mlp, experts, expertsPerToken, expertMlp, sharedMlp,
                    denseLayers);
        }

        public int headDim() {
            return dModel / heads;
        }

        boolean moe(int layer) {
            return experts > 0 && layer >= denseLayers;
        }
    }

    /**
     * The families, each with its published model's shape, vocabulary, special ids and maximum length: LLaDA-8B,
     * Dream 7B, LLaDA-MoE-7B-A1B and LLaDA2.0-mini.
     */
    public enum Family {
        LLADA("llada", "LLaDAModelLM", new Shape(4096, 32, 32, 32, 12288, 0, 0, 0, 0, 0), 126464, 126336, 126081, 4096),
        DREAM("dream", "DreamModel", new Shape(3584, 28, 28, 4, 18944, 0, 0, 0, 0, 0), 152064, 151666, 151643, 131072),
        LLADA_MOE("lladamoe", "LLaDAMoEModelLM", new Shape(2048, 16, 16, 16, 8192, 64, 8, 1024, 0, 0), 157184, 156895,
                156892, 8192),
        LLADA2("llada2", "LLaDA2MoeModelLM", new Shape(2048, 20, 16, 4, 5120, 256, 8, 512, 512, 1), 157184, 156895,
                156892, 16384);

        /** LLaDA2's router: 8 groups of experts, of which the best 4 hold the candidates; weights scaled by 2.5. */
        static final int LLADA2_GROUPS = 8;
        static final int LLADA2_GROUPS_KEPT = 4;

        private final String cliName;
        private final String architecture;
        private final Shape real;
        private final int vocab;
        private final int maskId;
        private final int eosId;
        private final int maxLength;

        Family(String cliName, String architecture, Shape real, int vocab, int maskId, int eosId, int maxLength) {
            this.cliName = cliName;
            this.architecture = architecture;
            this.real = real;
            this.vocab = vocab;
            this.maskId = maskId;
            this.eosId = eosId;
            this.maxLength = maxLength;
        }

        /** llada, dream, lladamoe or llada2. */
        public static Family parse(String name) {
            for (Family f : values()) {
                if (f.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            throw new IllegalArgumentException("family must be llada, dream, lladamoe or llada2, not " + name);
        }

        public String cliName() {
            return cliName;
        }

        /** The published model's shape. */
        public Shape real() {
            return real;
        }

        /** The published model's vocabulary. */
        public int vocab() {
            return vocab;
        }

        /** The real mask id with the real vocabulary, else vocab-1. */
        public int maskId(int vocabSize) {
            return vocabSize == vocab ? maskId : vocabSize - 1;
        }

        /** The real end-of-text id with the real vocabulary, else vocab-2. */
        public int eosId(int vocabSize) {
            return vocabSize == vocab ? eosId : vocabSize - 2;
        }
    }

    /**
     * What to write.
     *
     * @param dtype "float32" or "bfloat16" (the safetensors dtype of every tensor)
     */
    public record Spec(Family family, Shape shape, int vocab, int maskId, int eosId, int maxSequenceLength,
                       String dtype, long seed) {

        public Spec {
            int d = shape.dModel();
            if (d <= 0 || shape.layers() <= 0 || shape.heads() <= 0 || shape.mlp() <= 0 || vocab <= 1
                    || maxSequenceLength <= 0) {
                throw new IllegalArgumentException("d_model, layers, heads, mlp, max length must be positive "
                        + "and vocab at least 2");
            }
            if (d % shape.heads() != 0 || shape.headDim() % 2 != 0) {
                throw new IllegalArgumentException("d_model " + d + " must split into " + shape.heads()
                        + " heads of even size");
            }
            if (shape.kvHeads() <= 0 || shape.heads() % shape.kvHeads() != 0
                    || (family == Family.LLADA && shape.kvHeads() != shape.heads())) {
                throw new IllegalArgumentException(shape.kvHeads() + " key/value heads must divide " + shape.heads()
                        + " heads" + (family == Family.LLADA ? " and equal them in LLaDA's layout" : ""));
            }
            if ((shape.experts() > 0) != (family == Family.LLADA_MOE || family == Family.LLADA2)) {
                throw new IllegalArgumentException(family.cliName() + " has " + (shape.experts() > 0 ? "no " : "")
                        + "routed experts");
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
         * A LLaDA-layout checkpoint. Defaults for the rest: LLaDA's mask 126336 and eos 126081 when vocab is 126464,
         * otherwise vocab-1 and vocab-2; max length 4096; float32; seed 1.
         */
        public static Spec of(int dModel, int layers, int heads, int mlp, int vocab) {
            return of(Family.LLADA, Shape.dense(dModel, layers, heads, mlp), vocab);
        }

        /** The family's layout at this shape and vocabulary, with its ids (see Family) and max length; float32, seed 1. */
        public static Spec of(Family family, Shape shape, int vocab) {
            return new Spec(family, shape, vocab, family.maskId(vocab), family.eosId(vocab), family.maxLength,
                    "float32", 1);
        }

        public Spec withDtype(String newDtype) {
            return new Spec(family, shape, vocab, maskId, eosId, maxSequenceLength, newDtype, seed);
        }

        public Spec withSeed(long newSeed) {
            return new Spec(family, shape, vocab, maskId, eosId, maxSequenceLength, dtype, newSeed);
        }

        int elementBytes() {
            return dtype.equals("float32") ? 4 : 2;
        }

        String safetensorsDtype() {
            return dtype.equals("float32") ? "F32" : "BF16";
        }

        /** The shape in words: LLaDA's as d_model, layers, heads, mlp, vocab; the others' with their own parts. */
        public String describe() {
            Shape s = shape;
            String trunk = String.format(Locale.ROOT, "d_model %d, %d layers, %d heads%s, mlp %d, vocab %d", s.dModel(),
                    s.layers(), s.heads(), s.kvHeads() == s.heads() ? "" : " (" + s.kvHeads() + " kv)", s.mlp(), vocab);
            if (family == Family.LLADA) {
                return trunk;
            }
            String experts = s.experts() == 0 ? "" : String.format(Locale.ROOT, ", %d experts x %d (top %d%s%s)",
                    s.experts(), s.expertMlp(), s.expertsPerToken(), s.sharedMlp() > 0 ? ", shared " + s.sharedMlp() : "",
                    s.denseLayers() > 0 ? ", first " + s.denseLayers() + " dense" : "");
            return family.cliName() + ": " + trunk + experts;
        }

        /** The tensors in the family's names and shapes (Linear weights are [out, in]), in file order. */
        List<TensorSpec> tensors() {
            int d = shape.dModel(), hd = shape.headDim(), q = shape.heads() * hd, kv = shape.kvHeads() * hd;
            List<TensorSpec> t = new ArrayList<>();
            if (family == Family.LLADA) {
                t.add(new TensorSpec("model.transformer.wte.weight", vocab, d, d));
                for (int i = 0; i < shape.layers(); i++) {
                    String p = "model.transformer.blocks." + i + ".";
                    t.add(TensorSpec.norm(p + "attn_norm.weight", d));
                    t.add(new TensorSpec(p + "q_proj.weight", d, d, d));
                    t.add(new TensorSpec(p + "k_proj.weight", d, d, d));
                    t.add(new TensorSpec(p + "v_proj.weight", d, d, d));
                    t.add(new TensorSpec(p + "attn_out.weight", d, d, d));
                    t.add(TensorSpec.norm(p + "ff_norm.weight", d));
                    t.add(new TensorSpec(p + "ff_proj.weight", shape.mlp(), d, d));
                    t.add(new TensorSpec(p + "up_proj.weight", shape.mlp(), d, d));
                    t.add(new TensorSpec(p + "ff_out.weight", d, shape.mlp(), shape.mlp()));
                }
                t.add(TensorSpec.norm("model.transformer.ln_f.weight", d));
                t.add(new TensorSpec("model.transformer.ff_out.weight", vocab, d, d));
                return t;
            }
            boolean ling = family == Family.LLADA2;
            // The MoEs' embedding rows are N(0, 1): from rows of N(0, 1/d) every token's state would be mostly
            // attention's near-uniform average of the values, alike across tokens, and the random router would send
            // them all to the same few experts (288 of 288 tokens to one expert in a 2-layer LLaDA-MoE at d 256),
            // which no trained router does.
            int embeddingFanIn = shape.experts() > 0 ? 1 : d;
            t.add(new TensorSpec(ling ? "model.word_embeddings.weight" : "model.embed_tokens.weight", vocab, d,
                    embeddingFanIn));
            for (int i = 0; i < shape.layers(); i++) {
                String p = "model.layers." + i + ".";
                t.add(TensorSpec.norm(p + "input_layernorm.weight", d));
                if (ling) {
                    t.add(new TensorSpec(p + "attention.query_key_value.weight", q + 2 * kv, d, d));
                    t.add(TensorSpec.norm(p + "attention.query_layernorm.weight", hd));
                    t.add(TensorSpec.norm(p + "attention.key_layernorm.weight", hd));
                    t.add(new TensorSpec(p + "attention.dense.weight", d, q, q));
                } else {
                    String[] projections = {"q", "k", "v"};
                    int[] rows = {q, kv, kv};
                    for (int j = 0; j < projections.length; j++) {
                        String proj = p + "self_attn." + projections[j] + "_proj.";
                        t.add(new TensorSpec(proj + "weight", rows[j], d, d));
                        if (family == Family.DREAM) {
                            t.add(TensorSpec.zeros(proj + "bias", rows[j]));
                        }
                    }
                    if (family == Family.LLADA_MOE) {
                        t.add(TensorSpec.norm(p + "self_attn.q_norm.weight", hd));
                        t.add(TensorSpec.norm(p + "self_attn.k_norm.weight", hd));
                    }
                    t.add(new TensorSpec(p + "self_attn.o_proj.weight", d, q, q));
                }
                t.add(TensorSpec.norm(p + "post_attention_layernorm.weight", d));
                if (!shape.moe(i)) {
                    swiglu(t, p + "mlp.", d, shape.mlp());
                    continue;
                }
                t.add(new TensorSpec(p + "mlp.gate.weight", shape.experts(), d, d));
                if (ling) {
                    t.add(TensorSpec.zeros(p + "mlp.gate.expert_bias", shape.experts()));
                }
                for (int e = 0; e < shape.experts(); e++) {
                    swiglu(t, p + "mlp.experts." + e + ".", d, shape.expertMlp());
                }
                if (shape.sharedMlp() > 0) {
                    swiglu(t, p + "mlp.shared_experts.", d, shape.sharedMlp());
                }
            }
            t.add(TensorSpec.norm("model.norm.weight", d));
            t.add(new TensorSpec("lm_head.weight", vocab, d, d));
            return t;
        }

        private static void swiglu(List<TensorSpec> t, String prefix, int d, int hidden) {
            t.add(new TensorSpec(prefix + "gate_proj.weight", hidden, d, d));
            t.add(new TensorSpec(prefix + "up_proj.weight", hidden, d, d));
            t.add(new TensorSpec(prefix + "down_proj.weight", d, hidden, hidden));
        }

        public long parameterCount() {
            return tensors().stream().mapToLong(TensorSpec::elements).sum();
        }
    }

    /**
     * One tensor: [rows, cols] (cols 0 for a vector of rows), N(0, 1/fanIn) or, with fanIn 0, every element
     * {@code constant}.
     */
    record TensorSpec(String name, int rows, int cols, int fanIn, float constant) {
        TensorSpec(String name, int rows, int cols, int fanIn) {
            this(name, rows, cols, fanIn, 0f);
        }

        static TensorSpec norm(String name, int size) {
            return new TensorSpec(name, size, 0, 0, 1f);
        }

        static TensorSpec zeros(String name, int size) {
            return new TensorSpec(name, size, 0, 0, 0f);
        }

        long elements() {
            return cols == 0 ? rows : (long) rows * cols;
        }

        String shapeJson() {
            return cols == 0 ? "[" + rows + "]" : "[" + rows + ", " + cols + "]";
        }
    }

    /**
     * Writes config.json, model.safetensors and, for the MoEs, tokenizer.json's added tokens into {@code directory}
     * (created if missing).
     */
    public static Path write(Spec spec, Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.writeString(directory.resolve("config.json"), configJson(spec), StandardCharsets.UTF_8);
        if (spec.family() == Family.LLADA_MOE || spec.family() == Family.LLADA2) {
            Files.writeString(directory.resolve("tokenizer.json"), addedTokensJson(spec), StandardCharsets.UTF_8);
        }
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

    /**
     * Every field the engine's config reader looks at, in the style of the family's Hugging Face config (LLaDA's as
     * the tiny-llada golden configs, the others' as the golden family configs).
     */
    static String configJson(Spec s) {
        Shape shape = s.shape();
        String dtype = "\"" + s.dtype() + "\"";
        List<String[]> f = new ArrayList<>();
        f.add(new String[] {"architectures", "[\n    \"" + s.family().architecture + "\"\n  ]"});
        switch (s.family()) {
            case LLADA -> {
                f.add(new String[] {"model_type", "\"llada\""});
                f.add(new String[] {"block_type", "\"llama\""});
                f.add(new String[] {"d_model", Integer.toString(shape.dModel())});
                f.add(new String[] {"n_layers", Integer.toString(shape.layers())});
                f.add(new String[] {"n_heads", Integer.toString(shape.heads())});
                f.add(new String[] {"n_kv_heads", Integer.toString(shape.heads())});
                f.add(new String[] {"mlp_hidden_size", Integer.toString(shape.mlp())});
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
                f.add(new String[] {"torch_dtype", dtype});
                return json(f);
            }
            case DREAM -> {
                f.add(new String[] {"model_type", "\"Dream\""});
                f.add(new String[] {"bos_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"eos_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"pad_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"mask_token_id", Integer.toString(s.maskId())});
                f.add(new String[] {"intermediate_size", Integer.toString(shape.mlp())});
                f.add(new String[] {"rms_norm_eps", "1e-06"});
                f.add(new String[] {"rope_theta", "1000000.0"});
                f.add(new String[] {"use_mrope", "false"});
                f.add(new String[] {"use_sliding_window", "false"});
                f.add(new String[] {"sliding_window", "null"});
            }
            case LLADA_MOE -> {
                f.add(new String[] {"model_type", "\"llada\""});
                f.add(new String[] {"eos_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"pad_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"dense_intermediate_size", Integer.toString(shape.mlp())});
                f.add(new String[] {"expert_intermediate_size", Integer.toString(shape.expertMlp())});
                f.add(new String[] {"shared_expert_intermediate_size", "null"});
                f.add(new String[] {"num_experts", Integer.toString(shape.experts())});
                f.add(new String[] {"num_experts_per_tok", Integer.toString(shape.expertsPerToken())});
                List<String> freq = new ArrayList<>();
                for (int i = 0; i < shape.layers(); i++) {
                    freq.add(shape.moe(i) ? "1" : "0");
                }
                f.add(new String[] {"moe_layer_freq", "[" + String.join(", ", freq) + "]"});
                f.add(new String[] {"moe_router_enable_expert_bias", "false"});
                f.add(new String[] {"moe_router_score_function", "\"softmax\""});
                f.add(new String[] {"norm_topk_prob", "false"});
                f.add(new String[] {"qk_layernorm", "true"});
                f.add(new String[] {"partial_rotary_factor", "1.0"});
                f.add(new String[] {"attention_bias", "false"});
                f.add(new String[] {"clip_qkv", "null"});
                f.add(new String[] {"rms_norm_eps", "1e-05"});
                f.add(new String[] {"rope_theta", "50000"});
            }
            case LLADA2 -> {
                f.add(new String[] {"model_type", "\"llada2_moe\""});
                f.add(new String[] {"pad_token_id", Integer.toString(s.eosId())});
                f.add(new String[] {"head_dim", Integer.toString(shape.headDim())});
                f.add(new String[] {"intermediate_size", Integer.toString(shape.mlp())});
                f.add(new String[] {"first_k_dense_replace", Integer.toString(shape.denseLayers())});
                f.add(new String[] {"moe_intermediate_size", Integer.toString(shape.expertMlp())});
                f.add(new String[] {"num_experts", Integer.toString(shape.experts())});
                f.add(new String[] {"num_experts_per_tok", Integer.toString(shape.expertsPerToken())});
                f.add(new String[] {"num_shared_experts", Integer.toString(shape.sharedMlp() / shape.expertMlp())});
                f.add(new String[] {"n_group", Integer.toString(Family.LLADA2_GROUPS)});
                f.add(new String[] {"topk_group", Integer.toString(Family.LLADA2_GROUPS_KEPT)});
                f.add(new String[] {"routed_scaling_factor", "2.5"});
                f.add(new String[] {"score_function", "\"sigmoid\""});
                f.add(new String[] {"moe_router_enable_expert_bias", "true"});
                f.add(new String[] {"use_qk_norm", "true"});
                f.add(new String[] {"use_qkv_bias", "false"});
                f.add(new String[] {"use_bias", "false"});
                f.add(new String[] {"partial_rotary_factor", "0.5"});
                f.add(new String[] {"rms_norm_eps", "1e-06"});
                f.add(new String[] {"rope_theta", "600000"});
            }
        }
        // Hugging Face's names of the trunk's sizes, shared by the three.
        f.add(new String[] {"hidden_size", Integer.toString(shape.dModel())});
        f.add(new String[] {"num_hidden_layers", Integer.toString(shape.layers())});
        f.add(new String[] {"num_attention_heads", Integer.toString(shape.heads())});
        f.add(new String[] {"num_key_value_heads", Integer.toString(shape.kvHeads())});
        f.add(new String[] {"vocab_size", Integer.toString(s.vocab())});
        f.add(new String[] {"max_position_embeddings", Integer.toString(s.maxSequenceLength())});
        f.add(new String[] {"hidden_act", "\"silu\""});
        f.add(new String[] {"rope_scaling", "null"});
        f.add(new String[] {"tie_word_embeddings", "false"});
        f.add(new String[] {"torch_dtype", dtype});
        return json(f);
    }

    /** tokenizer.json with only the added tokens the engine reads the MoEs' end-of-text and mask ids from. */
    static String addedTokensJson(Spec s) {
        String token = "    {\"id\": %d, \"content\": \"%s\", \"single_word\": false, \"lstrip\": false, "
                + "\"rstrip\": false, \"normalized\": false, \"special\": true}";
        return "{\n  \"added_tokens\": [\n" + String.format(Locale.ROOT, token, s.eosId(), "<|endoftext|>") + ",\n"
                + String.format(Locale.ROOT, token, s.maskId(), "<|mask|>") + "\n  ]\n}\n";
    }

    private static String json(List<String[]> fields) {
        StringBuilder json = new StringBuilder("{\n");
        for (int i = 0; i < fields.size(); i++) {
            json.append("  \"").append(fields.get(i)[0]).append("\": ").append(fields.get(i)[1])
                    .append(i + 1 < fields.size() ? ",\n" : "\n");
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
                        float v = t.fanIn() == 0 ? t.constant() : (float) (random.nextGaussian() * std);
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

    @Option(names = "--family", defaultValue = "llada",
            description = "llada, dream, lladamoe or llada2: the layout and config.json (default: ${DEFAULT-VALUE}).")
    String family;

    @Option(names = "--d-model", description = "Hidden size (default: the family's real one, as every size below: "
            + "LLaDA-8B, Dream 7B, LLaDA-MoE-7B-A1B, LLaDA2.0-mini).")
    Integer dModel;

    @Option(names = "--layers", description = "Transformer blocks.")
    Integer layers;

    @Option(names = "--heads", description = "Attention heads (d_model / heads must be even; the key/value heads "
            + "follow in the real model's proportion).")
    Integer heads;

    @Option(names = "--mlp", description = "Dense SwiGLU width (mlp_hidden_size, intermediate_size, "
            + "dense_intermediate_size).")
    Integer mlp;

    @Option(names = "--vocab", description = "Vocabulary size (126464 for LLaDA's).")
    Integer vocab;

    @Option(names = "--dtype", defaultValue = "float32", description = "float32 or bfloat16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--mask-id", description = "The mask id (default: the family's real one with its real "
            + "vocabulary, as 126336 for LLaDA's 126464, else vocab-1).")
    Integer maskId;

    @Option(names = "--eos-id", description = "The end-of-text id (default: the family's real one with its real "
            + "vocabulary, as 126081 for LLaDA's 126464, else vocab-2).")
    Integer eosId;

    @Option(names = "--max-length", description = "The maximum sequence length (default: the family's; 4096 for LLaDA).")
    Integer maxLength;

    @Override
    public Integer call() throws IOException {
        Family f = Family.parse(family);
        Shape real = f.real();
        int d = dModel != null ? dModel : real.dModel();
        int v = vocab != null ? vocab : f.vocab();
        // Other heads keep the real model's heads per key/value head.
        int h = heads != null ? heads : real.heads();
        Shape shape = new Shape(d, layers != null ? layers : real.layers(), h,
                Math.max(1, h * real.kvHeads() / real.heads()), mlp != null ? mlp : real.mlp(),
                real.experts(), real.expertsPerToken(), real.expertMlp(), real.sharedMlp(), real.denseLayers());
        Spec spec = new Spec(f, shape, v, maskId != null ? maskId : f.maskId(v), eosId != null ? eosId : f.eosId(v),
                maxLength != null ? maxLength : f.maxLength, dtype, seed);
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

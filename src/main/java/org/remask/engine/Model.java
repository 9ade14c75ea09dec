package org.remask.engine;

import static org.remask.ffi.remask_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.remask.ffi.remask_model_info;

/**
 * A checkpoint of one of the {@link Family families} loaded onto a device. Thread-safe: several threads may run forwards on one model,
 * each with its own buffers. Its device memory is freed by {@link #close()}, not by the garbage collector.
 */
public final class Model implements AutoCloseable {
    private final NativeHandle handle;
    private final ModelInfo info;

    private Model(MemorySegment handle, ModelInfo info) {
        this.handle = new NativeHandle("model", handle, h -> remask_model_free(h));
        this.info = info;
    }

    /** Loads DIR (config.json and safetensors weights); device is "cpu", "cuda" or "cuda:N". */
    public static Model load(Path directory, String device, DType dtype) {
        Native.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(remask_model_load(
                    arena.allocateFrom(directory.toAbsolutePath().toString()),
                    arena.allocateFrom(device),
                    arena.allocateFrom(dtype.nativeName()),
                    out));
            MemorySegment model = out.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment facts = remask_model_info.allocate(arena);
                Native.check(remask_model_info_get(model, facts));
                return new Model(model, toInfo(facts, device, dtype));
            } catch (RuntimeException e) {
                remask_model_free(model);
                throw e;
            }
        }
    }

    private static ModelInfo toInfo(MemorySegment s, String device, DType dtype) {
        return new ModelInfo(
                Family.ofNative(remask_model_info.family(s)),
                remask_model_info.vocab_size(s),
                remask_model_info.mask_token_id(s),
                remask_model_info.eos_token_id(s),
                remask_model_info.d_model(s),
                remask_model_info.n_layers(s),
                remask_model_info.n_heads(s),
                remask_model_info.n_kv_heads(s),
                remask_model_info.mlp_hidden_size(s),
                remask_model_info.max_sequence_length(s),
                remask_model_info.parameter_count(s),
                remask_model_info.weight_bytes(s),
                remask_model_info.n_experts(s),
                remask_model_info.experts_per_token(s),
                remask_model_info.int8_activation_bits(s),
                device,
                dtype);
    }

    /** "remask X; libtorch Y; cuda yes|no[; blas Z]" (remask.h's remask_version). */
    public static String nativeVersion() {
        Native.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(256);
            Native.check(remask_version(text, text.byteSize()));
            return text.getString(0);
        }
    }

    public ModelInfo info() {
        return info;
    }

    /** Token ids [rows, cols] on this model's device, all set to the mask id. */
    public TokenBuffer newTokens(int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(remask_tokens_new(handle.get(), rows, cols, out));
            return new TokenBuffer(out.get(ValueLayout.ADDRESS, 0), rows, cols);
        }
    }

    /** fp32 logits [rows, vocab] on this model's device. */
    public LogitsBuffer newLogits(int rows) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(remask_logits_new(handle.get(), rows, out));
            return new LogitsBuffer(out.get(ValueLayout.ADDRESS, 0), rows, Math.toIntExact(info.vocabSize()));
        }
    }

    /** Per-row sampling results (x0 and confidence) on this model's device. */
    public Samples newSamples(int rows) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(remask_samples_new(handle.get(), rows, out));
            return new Samples(out.get(ValueLayout.ADDRESS, 0), rows);
        }
    }

    /**
     * One forward pass over every row of tokens; the LM head runs only for positions rowBegin..rowEnd-1,
     * whose logits land in rows b * (rowEnd - rowBegin) + (i - rowBegin) of logits.
     */
    public void forward(TokenBuffer tokens, int rowBegin, int rowEnd, LogitsBuffer logits) {
        Native.check(remask_forward(handle.get(), tokens.segment(), rowBegin, rowEnd, logits.segment()));
    }

    /**
     * Several generations' forwards (plain or cached, sequences of any lengths) in one pass: each linear layer is
     * one product over all their computed positions, attention runs per generation over its own keys, and each
     * generation's logits go to its own buffer, equal to its own forward's up to the rounding of the larger
     * products. Not for block-causal families.
     */
    public void forward(ForwardBatch batch) {
        if (batch.size() == 0) {
            throw new IllegalArgumentException("the batch holds no generation");
        }
        Native.check(remask_forward_batch(handle.get(), batch.size(), batch.tokens(), batch.caches(), batch.begin(),
                batch.end(), batch.rowBegin(), batch.rowEnd(), batch.logits()));
    }

    /**
     * WINO's verify forward: the plain forward with a shadow copy of the block blockBegin..blockEnd-1 appended,
     * all masks at the block's positions, each seeing everything but its own original position. logits gets,
     * per sequence, the block's n rows and then the shadow's n rows (2n per sequence).
     */
    public void forwardShadow(TokenBuffer tokens, int blockBegin, int blockEnd, LogitsBuffer logits) {
        Native.check(remask_forward_shadow(handle.get(), tokens.segment(), blockBegin, blockEnd, logits.segment()));
    }

    /** Keys and values of every layer for [batch, length] positions (see {@link KvCache}). */
    public KvCache newCache(int batch, int length) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Native.check(remask_cache_new(handle.get(), batch, length, out));
            return new KvCache(out.get(ValueLayout.ADDRESS, 0), batch, length);
        }
    }

    /**
     * {@link #forward(TokenBuffer, int, int, LogitsBuffer)} computing only positions begin..end-1: their keys
     * and values replace the cache's, and every layer attends over all of the cache's positions. Over every
     * position (begin 0, end the sequence length) it is the plain forward and fills the cache.
     */
    public void forward(TokenBuffer tokens, KvCache cache, int begin, int end, int rowBegin, int rowEnd,
            LogitsBuffer logits) {
        Native.check(remask_forward_cached(handle.get(), tokens.segment(), cache.segment(), begin, end, rowBegin,
                rowEnd, logits.segment()));
    }

    /**
     * LLaDA2's block-causal forward: position p sees position j iff j / blockLength <= p / blockLength. Computes
     * positions begin..end-1 over keys 0..end-1; with a cache (or null) their keys and values replace the cache's
     * and the earlier positions' come from it; without one, begin is 0. Rows as in the plain forward.
     */
    public void forwardBlocks(TokenBuffer tokens, KvCache cache, int blockLength, int begin, int end, int rowBegin,
            int rowEnd, LogitsBuffer logits) {
        Native.check(remask_forward_blocks(handle.get(), tokens.segment(),
                cache == null ? MemorySegment.NULL : cache.segment(), blockLength, begin, end, rowBegin, rowEnd,
                logits.segment()));
    }

    @Override
    public void close() {
        handle.close();
    }
}

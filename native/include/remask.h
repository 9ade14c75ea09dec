/*
 * remask.h: the whole C ABI of the remask native shim.
 *
 * Plain C, fixed-width types, opaque handles. Every call returns a status (REMASK_OK on success);
 * on failure remask_last_error() gives this thread's message. No C++ exception crosses this boundary.
 * Freeing a handle twice, or using a freed handle, returns REMASK_ERR_CLOSED instead of crashing.
 */
#ifndef REMASK_H
#define REMASK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REMASK_OK 0
#define REMASK_ERR_INVALID_ARGUMENT 1 /* a bad value from the caller */
#define REMASK_ERR_CHECKPOINT 2       /* missing, malformed or unsupported checkpoint */
#define REMASK_ERR_CLOSED 3           /* a handle that was freed, or never was one */
#define REMASK_ERR_RUNTIME 4          /* anything else the library or libtorch raised */

/* Which masked positions win a step (remask_sample's rule): larger confidence commits first. */
#define REMASK_RULE_LOW_CONFIDENCE 0 /* softmax probability of x0 (LLaDA's default) */
#define REMASK_RULE_RANDOM 1         /* a uniform draw per position */
#define REMASK_RULE_MARGIN 2         /* p1 - p2 of the two most likely tokens */
#define REMASK_RULE_ENTROPY 3        /* sum p log p: larger is more certain */

/* remask_sample flags: LLaDA's options for Instruct models. */
#define REMASK_SAMPLE_EOS_LOGIT_OFF 1      /* EOS never sampled (its logit is -inf) */
#define REMASK_SAMPLE_EOS_CONFIDENCE_OFF 2 /* positions whose x0 is EOS or EoT commit last */

/* The model families (remask_model_info.family), by their published architecture names. */
#define REMASK_FAMILY_LLADA 0     /* LLaDAModelLM: LLaDA-8B, LLaDA 1.5 */
#define REMASK_FAMILY_DREAM 1     /* DreamModel: position i's distribution is the output at i - 1 */
#define REMASK_FAMILY_LLADA_MOE 2 /* LLaDAMoEModelLM */
#define REMASK_FAMILY_LLADA2 3    /* LLaDA2MoeModelLM: generates block by block, block-causally */

typedef struct remask_model remask_model;
typedef struct remask_buffer remask_buffer;

/* Facts about a loaded model, filled by remask_model_info. */
typedef struct remask_model_info {
    int64_t vocab_size;
    int64_t mask_token_id;
    int64_t eos_token_id;
    int64_t d_model;
    int64_t n_layers;
    int64_t n_heads;
    int64_t n_kv_heads;
    int64_t mlp_hidden_size;
    int64_t max_sequence_length;
    int64_t parameter_count;
    int64_t weight_bytes; /* bytes the weights occupy on the device, in the compute dtype (int8: 1 a linear weight) */
    int64_t family;       /* REMASK_FAMILY_* */
    int64_t n_experts;    /* routed experts per MoE layer; 0 for a dense model */
    int64_t experts_per_token;
    int64_t int8_activation_bits; /* int8 weights: the bits each product quantizes its input to, 8 on a cpu with VNNI,
                                     else 7 (without VNNI oneDNN's int16 sums of uint8 x int8 pairs saturate at 8);
                                     0 for dense weights */
} remask_model_info;

/* This thread's message for the last failed call; never NULL, valid until this thread's next call. */
const char *remask_last_error(void);

/* Writes "remask X; libtorch Y; cuda yes|no[; blas Z]" (Z: OpenBLAS's build configuration where libtorch runs on
 * OpenBLAS; NUL-terminated, truncated to capacity). */
int32_t remask_version(char *out, int64_t capacity);

/* libtorch's intra-op CPU threads, for the whole process (some builds default to 1). */
int32_t remask_threads_set(int32_t threads);
int32_t remask_threads_get(int32_t *out);

/* Number of CUDA devices libtorch sees (0 for a CPU build). */
int32_t remask_cuda_device_count(int32_t *out);

/* Loads a Hugging Face checkpoint directory of a family above (by config.json's architectures[0]).
 * device: "cpu" or "cuda:N"; dtype: "float32", "bfloat16", "float16" (cuda only) or "int8" (cpu only: the
 * linear layers' weights int8 per output channel, run by libtorch's oneDNN dynamic int8 GEMM; everything else,
 * logits included, in float32). The first cpu model makes glibc's malloc keep freed memory for reuse (blocks up to
 * 32 MiB from its arenas, no trimming), unless the environment sets a MALLOC_*_ variable or a glibc.malloc tunable:
 * the per-step temporaries were otherwise page-faulted in afresh at every step. */
int32_t remask_model_load(const char *directory, const char *device, const char *dtype,
                          remask_model **out);
int32_t remask_model_info_get(const remask_model *model, remask_model_info *out);
/* NULL is accepted; a second free of the same handle returns REMASK_ERR_CLOSED. */
int32_t remask_model_free(remask_model *model);

/* Device-resident token ids, int64 [rows, cols], on the model's device, initialised to the mask id.
 * Writes check every id against the model's vocabulary. */
int32_t remask_tokens_new(const remask_model *model, int64_t rows, int64_t cols, remask_buffer **out);
/* Copies count ids from host memory to element offset (row-major) of the buffer. */
int32_t remask_tokens_write(remask_buffer *tokens, int64_t offset, const int64_t *ids, int64_t count);
int32_t remask_tokens_read(const remask_buffer *tokens, int64_t offset, int64_t *ids, int64_t count);

/* Device-resident fp32 logits [rows, vocab] on the model's device. */
int32_t remask_logits_new(const remask_model *model, int64_t rows, remask_buffer **out);
int32_t remask_logits_read(const remask_buffer *logits, int64_t offset, float *out, int64_t count);

int32_t remask_logits_write(remask_buffer *logits, int64_t offset, const float *values, int64_t count);

/* Per-row sampling results on the model's device: x0 (int64) and its confidence (fp32), [rows]. */
int32_t remask_samples_new(const remask_model *model, int64_t rows, remask_buffer **out);
int32_t remask_samples_read(const remask_buffer *samples, int64_t rows, int64_t *x0, float *confidence);

/* NULL is accepted; a second free of the same handle returns REMASK_ERR_CLOSED. */
int32_t remask_buffer_free(remask_buffer *buffer);

/* One forward pass over every row of tokens ([batch, seq]). The LM head runs only for positions
 * row_begin .. row_end-1 of each sequence; their fp32 logits go to rows
 * b*(row_end-row_begin) + (i-row_begin) of logits, which must hold batch*(row_end-row_begin) rows. */
int32_t remask_forward(remask_model *model, const remask_buffer *tokens, int64_t row_begin,
                       int64_t row_end, remask_buffer *logits);

/* The forwards of count generations in one pass (not LLaDA2's block-causal ones): each linear layer is one product
 * over every generation's computed positions, attention runs per generation over its own keys. Generation i:
 * tokens[i] ([batch_i, seq_i], any lengths); with caches[i] (caches may be NULL, or hold NULL entries) positions
 * begin[i] .. end[i]-1 as remask_forward_cached computes them, without one the whole sequence (begin 0, end seq_i)
 * as remask_forward does; the LM head on row_begin[i] .. row_end[i]-1, into logits[i] as those calls write them.
 * Each generation's logits equal its own call's up to the rounding of the larger products. Checks every
 * generation before it computes anything. */
int32_t remask_forward_batch(remask_model *model, int64_t count, const remask_buffer *const *tokens,
                             remask_buffer *const *caches, const int64_t *begin, const int64_t *end,
                             const int64_t *row_begin, const int64_t *row_end, remask_buffer *const *logits);

/* Fast-dLLM's block cache: every layer's keys and values for [batch, length] positions on the model's
 * device, in its compute dtype; freed with remask_buffer_free. */
int32_t remask_cache_new(const remask_model *model, int64_t batch, int64_t length, remask_buffer **out);

/* remask_forward computing only positions begin..end-1 of each sequence: their keys and values replace
 * the cache's and every layer attends over all positions of the cache. With begin 0 and end the
 * sequence length it equals remask_forward and fills the cache, which a partial call needs first.
 * Prefix cache: end = sequence length; dual cache: end = the block's end. row_begin..row_end-1 (the LM
 * head's rows, as in remask_forward) lie within begin..end-1. */
int32_t remask_forward_cached(remask_model *model, const remask_buffer *tokens, remask_buffer *cache,
                              int64_t begin, int64_t end, int64_t row_begin, int64_t row_end,
                              remask_buffer *logits);

/* LLaDA2's block-causal forward: position p attends to position j iff j / block_length <= p / block_length.
 * Computes positions begin..end-1 of each sequence, attending over positions 0..end-1. With a cache (or
 * NULL), their keys and values replace the cache's and the earlier positions' come from it, which is exact
 * when those were computed after their blocks' last change; without one, begin is 0. Rows as in
 * remask_forward; row_begin..row_end-1 lie within begin..end-1. */
int32_t remask_forward_blocks(remask_model *model, const remask_buffer *tokens, remask_buffer *cache,
                              int64_t block_length, int64_t begin, int64_t end, int64_t row_begin,
                              int64_t row_end, remask_buffer *logits);

/* One fused pass over each of the first rows rows of logits: x0 and its confidence per row, written
 * to samples. guided != 0: rows rows..2*rows-1 hold the unconditional logits U and the rule works on
 * U + (cfg_scale + 1) * (C - U). temperature 0 takes the argmax; above 0, Gumbel-max sampling of
 * softmax(logits / temperature), with noise that depends only on (seed, step, row, token). The mask
 * id is never x0. Confidence follows rule over the un-noised distribution; flags as above; eot_id is
 * -1 when the model has no EoT token. */
int32_t remask_sample(const remask_buffer *logits, int64_t rows, int32_t guided, double cfg_scale,
                      double temperature, int32_t rule, int32_t flags, int64_t eot_id, uint64_t seed,
                      uint64_t step, remask_buffer *samples);

/* Dream's truncation before the confidence (generation_utils.py's top_p_logits, then top_k_logits) on each
 * of the first rows rows of logits, in place: top_p in (0, 1) keeps the most likely tokens until their
 * probability reaches top_p (and always the first); top_k >= 1 keeps the k largest logits (ties kept). The
 * rest get the lowest float, so their probability is 0. top_p >= 1 and top_k 0 turn either off. */
int32_t remask_logits_truncate(remask_buffer *logits, int64_t rows, double top_p, int64_t top_k);

/* Dream's alg_temp after remask_sample: each of the first rows rows' confidence c becomes c / alg_temp plus a
 * Gumbel draw (remask's noise at (seed, step, row, index vocab + 3)), so that remask_commit's top k are k
 * positions drawn as multinomial(softmax(c / alg_temp)) without replacement (the Gumbel-top-k trick).
 * alg_temp > 0. */
int32_t remask_samples_gumbel(remask_buffer *samples, int64_t rows, double alg_temp, uint64_t seed, uint64_t step);

/* Masked top-k commit into every row of tokens: among the positions block_begin..block_end-1 that
 * still hold the mask id (sample row i is position block_begin + i), commits x0 at the k most
 * confident, and more while their confidence >= threshold (pass +inf for none), never more than
 * are masked. k >= 0 (0: only those at or above the threshold). Writes the committed positions
 * (ascending) and tokens to host arrays of capacity elements, and their number to *count. */
int32_t remask_commit(remask_buffer *tokens, const remask_buffer *samples, int64_t block_begin,
                      int64_t block_end, int64_t k, double threshold, int64_t *positions,
                      int64_t *committed, int64_t capacity, int64_t *count);

/* Dream's `origin` step: every position of block_begin..block_end-1 that holds the mask id commits x0 with
 * probability p_transfer: when its uniform draw is below p_transfer. The draw of block position i is
 * uniforms[i] when uniforms is not NULL (replaying another engine's draws), else remask's counter-based noise
 * at (seed, step, i, index vocab + 2). Outputs as remask_commit's; the count may be 0. */
int32_t remask_commit_origin(remask_buffer *tokens, const remask_buffer *samples, int64_t block_begin,
                             int64_t block_end, double p_transfer, uint64_t seed, uint64_t step,
                             const float *uniforms, int64_t *positions, int64_t *committed, int64_t capacity,
                             int64_t *count);

/* remask_commit that can take tokens back: running-confidence remasking (RCR, autonomousvision/mdpo).
 * Every masked position of block_begin..block_end-1 takes its sample's confidence as its running
 * confidence; a committed position keeps the one it had when its token was predicted (samples keeps them
 * from step to step of a block). The block then holds tokens at its m positions of highest running
 * confidence (ties to the lower position), m being its committed positions plus those remask_commit would
 * commit (k, and more at or above threshold): masked ones among them take x0, committed ones outside them
 * get the mask id again, in every row. So each step adds m minus what it had, at least one token, and the
 * block finishes in as many steps as without revision. Writes the committed positions and tokens as
 * remask_commit does, and the re-masked positions (ascending) to remasked, with their number in
 * *remasked_count; every array holds capacity entries. */
int32_t remask_commit_rcr(remask_buffer *tokens, remask_buffer *samples, int64_t block_begin,
                          int64_t block_end, int64_t k, double threshold, int64_t *positions,
                          int64_t *committed, int64_t *remasked, int64_t capacity, int64_t *count,
                          int64_t *remasked_count);

/* remask_commit with token-to-token editing (LLaDA 2.1's T2T step; for a model trained to judge the tokens it
 * sees): first every position of block_begin..block_end-1 that holds a token (not the mask id) whose sample's
 * x0 differs from it, is not the mask id, and has confidence above edit_threshold, in [0, 1), takes x0 in every
 * row; then the masked positions commit as remask_commit would commit k (k 0 and threshold +inf: a step that
 * only edits). Writes every position that took a token (edited or committed, ascending) and its token as
 * remask_commit does, and the edited positions (ascending) to edited, with their number in *edited_count; every
 * array holds capacity entries. */
int32_t remask_commit_edit(remask_buffer *tokens, remask_buffer *samples, int64_t block_begin,
                           int64_t block_end, int64_t k, double threshold, double edit_threshold,
                           int64_t *positions, int64_t *committed, int64_t *edited, int64_t capacity,
                           int64_t *count, int64_t *edited_count);

/* ReMDM's step (kuleshov-group/remdm, diffusion.py) after remask_sample: remask_commit that first masks
 * committed positions of the block again at random. A committed position (its confidence c from when it
 * was committed, kept in samples) goes back with probability sigma_i: with weighted != 0 (remdm-conf),
 * softmax over the block's committed positions of -c, times min(sigma, (1 - alpha_s) / alpha_t) where
 * alpha_t and alpha_s are the block's unmasked fractions before and after the step's commits; with
 * weighted 0 (remdm-loop), sigma itself. The draw is remask's counter-based noise at (seed, step, block
 * position i, index vocab + 1), so it depends on nothing else. Then the masked positions (not those masked
 * again now) commit as remask_commit would commit k, plus one more per position masked again, so the
 * block's masked count follows the schedule. k >= 0 (0: a step that only revises). Outputs as
 * remask_commit_rcr's. */
int32_t remask_commit_remdm(remask_buffer *tokens, remask_buffer *samples, int64_t block_begin,
                            int64_t block_end, int64_t k, double threshold, int32_t weighted, double sigma,
                            uint64_t seed, uint64_t step, int64_t *positions, int64_t *committed,
                            int64_t *remasked, int64_t capacity, int64_t *count, int64_t *remasked_count);

/* WINO's verify forward (Feng-Hong/WINO-DLLM): remask_forward over tokens with a shadow copy of the block
 * block_begin..block_end-1 appended, all masks, each at its original RoPE position. A shadow position
 * attends to the whole sequence except its own original position, and to the shadow; the sequence does
 * not attend to the shadow. logits gets, per sequence, the block's n rows and then the shadow's n rows
 * (n = block_end - block_begin), so it must hold batch * 2n rows. */
int32_t remask_forward_shadow(remask_model *model, const remask_buffer *tokens, int64_t block_begin,
                              int64_t block_end, remask_buffer *logits);

/* WINO's wide-in, narrow-out step after remask_forward_shadow and remask_sample (of the block's rows) on
 * one sequence. Draft: masked positions whose confidence is above wide commit x0, at most
 * min(max(int(masked * 0.7), 5), 20) (the most confident) and at least the most confident one. Verify,
 * after a draft of more than one: committed positions whose shadow probability of their own token is
 * below narrow get the mask id again, or, when they are last_accept or more (last_accept: the previous
 * step's draft, 30 at a block's start), the last_accept - 1 least probable. Ties go to the lower
 * position. Outputs as remask_commit_rcr's. */
int32_t remask_commit_wino(remask_buffer *tokens, remask_buffer *samples, const remask_buffer *logits,
                           int64_t block_begin, int64_t block_end, double wide, double narrow,
                           int64_t last_accept, int64_t *positions, int64_t *committed, int64_t *remasked,
                           int64_t capacity, int64_t *count, int64_t *remasked_count);

#ifdef __cplusplus
}
#endif

#endif

// The two per-step kernels after the forward pass: fused sampling and the masked top-k commit.
// CPU loops here; CUDA kernels in native/cuda when the library is built with CUDA.
#pragma once

#include <torch/torch.h>

#include "sampling_math.h"

namespace remask {

// Per-row results of sample(), on the logits' device.
struct Samples {
  torch::Tensor x0;          // int64 [capacity]
  torch::Tensor confidence;  // fp32 [capacity]
  torch::Tensor running;     // fp32 [capacity]: RCR's confidence of each block position when its token was predicted
  torch::Tensor shadow;      // fp32 [capacity]: WINO's probability of each committed token with the token hidden
  torch::Tensor scratch;     // int64 [3 * capacity + 2]: the CUDA commits' results before they go to the host

  Samples(int64_t capacity, torch::Device device);
  int64_t capacity() const { return x0.size(0); }
};

// logits: fp32 [rows or 2*rows, vocab]; rows <= samples.capacity().
void sample(const torch::Tensor& logits, int64_t rows, const SampleParams& params, Samples& samples);

// tokens: int64 [B, T]. Commits into every row; candidates are the masked positions of row 0. Writes
// the committed positions (ascending) and tokens to host arrays of block_end - block_begin entries
// and returns their number.
int64_t commit(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin, int64_t block_end,
               int64_t k, double threshold, int64_t* positions, int64_t* committed);

// Dream's top_p_logits then top_k_logits on logits' first rows rows (fp32), in place, on their device.
void truncate(torch::Tensor& logits, int64_t rows, double top_p, int64_t top_k);

// Dream's alg_temp: the first rows confidences become c / alg_temp + position_gumbel (on the host: rows floats).
void gumbel_confidence(Samples& samples, int64_t rows, double alg_temp, uint64_t seed, uint64_t step, int64_t vocab);

// Dream's `origin` step: masked positions of the block whose draw (uniforms[i], or origin_uniform) is below
// p_transfer take x0 in every row. Host arrays as commit()'s; returns their count.
int64_t commit_origin(torch::Tensor& tokens, const Samples& samples, int64_t mask_id, int64_t vocab,
                      int64_t block_begin, int64_t block_end, double p_transfer, uint64_t seed, uint64_t step,
                      const float* uniforms, int64_t* positions, int64_t* committed);

// What one step of a revising commit did: positions that took a token, and committed ones masked again.
struct Revised {
  int64_t committed = 0;
  int64_t remasked = 0;
};

// Running-confidence remasking (RCR): masked positions of the block take their sample's confidence as
// their running confidence (committed ones keep theirs); the block then holds tokens at the positions
// of highest running confidence, as many as it had plus what commit() would add (k, and more at or above
// the threshold). Masked ones among them take x0; committed ones outside them get the mask id, in every
// row. Host arrays of block_end - block_begin entries get the committed positions and tokens and the
// re-masked positions, ascending.
Revised commit_running(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin,
                       int64_t block_end, int64_t k, double threshold, int64_t* positions, int64_t* committed,
                       int64_t* remasked);

// What one step of the editing commit did: positions that took a token (edits and fresh commits), and of
// those the edited ones.
struct Edited {
  int64_t committed = 0;
  int64_t edited = 0;
};

// Token-to-token editing (LLaDA 2.1's T2T step) beside the masked commit: first every position of the block
// that held a token before the step (not the mask id) whose x0 differs from it, is not the mask id, and has
// confidence above edit_threshold takes x0, in every row; then the masked positions commit as commit() would
// commit k (k 0 and threshold +inf: a step that only edits). Host arrays of block_end - block_begin entries get
// the positions that took a token and their tokens (ascending), and the edited positions (ascending).
Edited commit_edit(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin, int64_t block_end,
                   int64_t k, double threshold, double edit_threshold, int64_t* positions, int64_t* committed,
                   int64_t* edited);

// ReMDM's step (kuleshov-group/remdm): each committed position of the block (its confidence from when it
// was committed, kept in samples.running) is masked again when remdm_uniform < remdm_sigma; then as many
// masked positions as commit() would commit plus those re-masked take x0 (the most confident, never one
// masked again this step), so the block's masked count follows the schedule. k may be 0 (remdm-loop's
// holding steps). Host arrays as commit_running's.
Revised commit_remdm(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t vocab, int64_t block_begin,
                     int64_t block_end, int64_t k, double threshold, bool weighted, double sigma, uint64_t seed,
                     uint64_t step, int64_t* positions, int64_t* committed, int64_t* remasked);

// WINO's step (Feng-Hong/WINO-DLLM): tokens [1, T]; logits fp32 from forward_shadow, [2n, vocab] (the
// block's rows, then the shadow's). Draft: masked positions take x0 as wino_accepts says (by the samples'
// confidence against wide). Verify: committed positions whose shadow probability of their token is lowest,
// as wino_remasks says (against narrow, with last_accept the previous step's draft), get the mask id. Ties
// go to the lower position. Host arrays as commit_running's.
Revised commit_wino(torch::Tensor& tokens, Samples& samples, const torch::Tensor& logits, int64_t mask_id,
                    int64_t block_begin, int64_t block_end, double wide, double narrow, int64_t last_accept,
                    int64_t* positions, int64_t* committed, int64_t* remasked);

}  // namespace remask

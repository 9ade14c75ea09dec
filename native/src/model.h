// The masked-diffusion transformers: bidirectional attention (block-causal on request), rotate-half RoPE,
// RMSNorm, SwiGLU or routed SwiGLU experts, in the variants of each family (checkpoint.h's Config).
#pragma once

#include <torch/torch.h>

#include <utility>

#include <map>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "experts.h"
#include "linear.h"

namespace remask {

// Fast-dLLM's block cache: every layer's keys (RoPE applied) and values for [batch, length] positions,
// kept from one forward so later steps can recompute only some positions and attend to the rest.
struct KvCache {
  struct Layer {
    torch::Tensor keys, values;  // [batch, n_kv_heads, length, head_dim] in the compute dtype
  };
  std::vector<Layer> layers;
  bool filled = false;  // a forward over every position has run
};

// How the linear layers' weights are held: in the compute dtype, or int8 (linear.h; computes in float32, on the CPU).
enum class WeightFormat { Dense, Int8 };

class Model {
 public:
  // Loads DIR's checkpoint onto device in dtype (float32 for int8 weights).
  Model(const std::string& directory, torch::Device device, torch::ScalarType dtype,
        WeightFormat format = WeightFormat::Dense);
  // Runs these tensors as they are (names and shapes as load_weights returns them; device and dtype
  // are theirs): the trainer's leaf tensors that require grad, updated in place by its optimizer.
  Model(Config config, std::map<std::string, torch::Tensor> weights);

  const Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  int64_t parameter_count() const { return parameter_count_; }
  int64_t weight_bytes() const { return weight_bytes_; }
  WeightFormat weight_format() const { return format_; }
  // Every tensor by its checkpoint name; the forward pass shares their storage. With int8 weights the
  // quantized linears are not among them.
  const std::map<std::string, torch::Tensor>& weights() const { return weights_; }

  // tokens: int64 [B, T] on the device. Returns logits [B * (row_end - row_begin), vocab_size] in the
  // compute dtype for positions row_begin .. row_end-1 of every sequence: each row is the distribution of
  // its position's token (Dream's, read from the output one position earlier). Runs in inference mode.
  torch::Tensor forward(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const;
  // The same computation in the caller's grad mode, so the trainer can back-propagate through it.
  torch::Tensor forward_with_grad(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const;

  // WINO's verify forward: tokens [B, T] with a shadow copy of positions block_begin .. block_end-1 appended,
  // all masks at their original RoPE positions; a shadow row attends to the sequence except its own original
  // position and to the shadow, the sequence does not attend to the shadow. Returns logits [B * 2n, vocab]
  // (n = block_end - block_begin): per sequence the block's n rows, then the shadow's n rows.
  torch::Tensor forward_shadow(const torch::Tensor& tokens, int64_t block_begin, int64_t block_end) const;

  // One generation's share of forward_ragged: tokens [B, T]; positions begin .. end-1 computed, over the cache's
  // keys where there is one (forward_cached's rules), else over all T (begin 0, end T); the LM head on
  // row_begin .. row_end-1, which lie in begin .. end-1.
  struct Part {
    torch::Tensor tokens;
    KvCache* cache;
    int64_t begin, end, row_begin, row_end;
  };
  // Several generations' forwards in one pass: each linear layer is one product over every part's positions;
  // attention runs per part over its own keys. Returns logits [sum of the parts' rows, vocab_size], part by part,
  // each as forward() or forward_cached() gives it (up to the rounding of the larger products). Bidirectional
  // families only. Runs in inference mode.
  torch::Tensor forward_ragged(const std::vector<Part>& parts) const;

  // Zeroed keys and values for sequences of [batch, length].
  KvCache new_cache(int64_t batch, int64_t length) const;
  // forward() over positions begin .. end-1 only: their keys and values replace those in the cache and
  // every layer attends over all of the cache's positions. Over every position it is forward() exactly
  // (the fresh keys are attended to) and fills the cache; row_begin .. row_end-1 lie in begin .. end-1.
  torch::Tensor forward_cached(const torch::Tensor& tokens, KvCache& cache, int64_t begin, int64_t end,
                               int64_t row_begin, int64_t row_end) const;

  // LLaDA2's block-causal forward: position p attends to position j iff j / block_length <= p / block_length,
  // so nothing before a block depends on it. Computes positions begin .. end-1 over keys 0 .. end-1; with a
  // cache their keys and values replace the cache's and the earlier ones come from it (exact once their blocks
  // are final); without one, begin is 0. Rows as forward()'s.
  torch::Tensor forward_blocks(const torch::Tensor& tokens, KvCache* cache, int64_t block_length, int64_t begin,
                               int64_t end, int64_t row_begin, int64_t row_end) const;

 private:
  struct SwiGlu {
    Linear gate, up, down;  // [hidden, d], [hidden, d], [d, hidden]
    torch::Tensor operator()(const torch::Tensor& x) const { return down(torch::silu(gate(x)) * up(x)); }
  };
  struct Layer {
    // [q, d], [kv, d], [kv, d] or LLaDA2's fused [q + 2 kv, d]; [d, q]
    Linear q_proj, k_proj, v_proj, qkv_proj, attn_out;
    torch::Tensor attn_norm, ff_norm, q_bias, k_bias, v_bias, q_norm, k_norm;  // the last five undefined where absent
    SwiGlu mlp;      // dense layers
    Experts experts; // MoE layers: the routed experts
    SwiGlu shared;   // and the shared expert, where the family has one
  };
  // How the keys a query sees are limited: all of them, or block-causally.
  struct Attend {
    int64_t block_length = 0;  // 0: every key
    int64_t visible = -1;      // with a cache: its first `visible` positions are the keys (-1: all)
  };

  // Both constructors end here: keeps the tensors and picks out each layer's.
  void assign(std::map<std::string, torch::Tensor> weights);
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  struct Qkv {
    torch::Tensor q, k, v;  // [B, T, H, hd], [B, T, KV, hd], [B, T, KV, hd]
  };
  // The layer's query, key and value projections of the normed input xn [B, T, d].
  Qkv project(const Layer& layer, const torch::Tensor& xn) const;
  // Attention of positions begin .. begin+T-1 (q/k norms, RoPE, the cache, the softmax): [B, T, H * hd], before
  // the output projection. With kept, their keys and values go into it. allowed: bool [T, keys] (which key each
  // query may attend to), or undefined for all.
  torch::Tensor attend(const Layer& layer, Qkv qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                       KvCache::Layer* kept, int64_t begin, int64_t visible, const torch::Tensor& allowed) const;
  // The attention block: the norm, attend() and the output projection over x [B, T, d].
  torch::Tensor attention(const Layer& layer, const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin, KvCache::Layer* kept, int64_t begin, int64_t visible,
                          const torch::Tensor& allowed) const;
  // The layers over tokens [B, T] at RoPE positions (fp32 [T]) under the attention mask allowed; returns the
  // hidden states [B, T, d_model].
  torch::Tensor trunk(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& allowed,
                      KvCache* cache, int64_t begin, int64_t visible) const;
  // RoPE's cos and sin [T, rotary_dim] for fp32 positions [T]: fp32 for LLaDA, the compute dtype for the others.
  std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions) const;
  // The layer's feed-forward block with its residual over h [B, T, d]: SwiGLU, or the routed (and shared) experts.
  torch::Tensor feed_forward(const Layer& layer, const torch::Tensor& h) const;
  // The first position a forward computes from begin: earlier for Dream when row_begin's output is row_begin - 1.
  int64_t computed_from(int64_t begin, int64_t row_begin) const;
  // A cache's first forward must cover every position of tokens.
  static void require_filled(const KvCache& cache, const torch::Tensor& tokens, int64_t begin, int64_t end);
  // ln_f and the LM head over hidden states [B, R, d_model]: logits [B * R, vocab].
  torch::Tensor head(const torch::Tensor& rows) const;
  // The hidden states [B, R, d_model] that give positions row_begin .. row_end-1 their logits, from x [B, T, d]
  // covering positions 0 .. T-1 (Dream's row i is output i - 1, position 0's output 0).
  torch::Tensor head_rows(const torch::Tensor& x, int64_t row_begin, int64_t row_end) const;
  torch::Tensor run(const torch::Tensor& tokens, int64_t begin, int64_t end, int64_t row_begin, int64_t row_end,
                    KvCache* cache, Attend attend) const;

  Config config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  WeightFormat format_ = WeightFormat::Dense;
  std::map<std::string, torch::Tensor> weights_;
  torch::Tensor wte_, ln_f_, inv_freq_;
  Linear lm_head_;  // [vocab_size, d]
  std::vector<Layer> layers_;
  int64_t parameter_count_ = 0;
  int64_t weight_bytes_ = 0;
};

}  // namespace remask

#include "model.h"

#include <torch/version.h>

#include <cmath>
#include <utility>

#include "error.h"

namespace remask {
namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// q, k: [B, H, T, hd] in the compute dtype; cos, sin: [T, hd] in fp32. RoPE runs in fp32.
torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  torch::Tensor xf = x.to(torch::kFloat32);
  return (xf * cos + rotate_half(xf) * sin).to(x.scalar_type());
}

// allowed: bool [T, T] (query row may attend key column), or undefined for every pair.
torch::Tensor bidirectional_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& allowed) {
#if TORCH_VERSION_MAJOR >= 2
  return allowed.defined() ? at::scaled_dot_product_attention(q, k, v, allowed) : at::scaled_dot_product_attention(q, k, v);
#else
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -INFINITY);
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

// The embedding: a model built from tensors runs on its device in its dtype.
const torch::Tensor& embedding(const std::map<std::string, torch::Tensor>& weights) {
  auto it = weights.find("model.transformer.wte.weight");
  if (it == weights.end()) throw bad_checkpoint("missing tensor model.transformer.wte.weight");
  return it->second;
}

}  // namespace

Model::Model(const std::string& directory, torch::Device device, torch::ScalarType dtype)
    : config_(Config::read(directory)), device_(device), dtype_(dtype) {
  assign(load_weights(directory, config_, dtype, device));
}

Model::Model(Config config, std::map<std::string, torch::Tensor> weights)
    : config_(std::move(config)), device_(embedding(weights).device()), dtype_(embedding(weights).scalar_type()) {
  assign(std::move(weights));
}

void Model::assign(std::map<std::string, torch::Tensor> weights) {
  weights_ = std::move(weights);
  for (const auto& [name, tensor] : weights_) {
    parameter_count_ += tensor.numel();
    weight_bytes_ += tensor.numel() * static_cast<int64_t>(tensor.element_size());
  }
  auto take = [this](const std::string& name) {
    auto it = weights_.find(name);
    if (it == weights_.end()) throw bad_checkpoint("missing tensor " + name);
    return it->second;
  };
  wte_ = take("model.transformer.wte.weight");
  ln_f_ = take("model.transformer.ln_f.weight");
  // Rows past vocab_size are padding no tokenizer produces; the sampler never needs their logits.
  lm_head_ = (config_.weight_tying ? wte_ : take("model.transformer.ff_out.weight")).narrow(0, 0, config_.vocab_size);
  for (int64_t i = 0; i < config_.n_layers; ++i) {
    std::string p = "model.transformer.blocks." + std::to_string(i) + ".";
    layers_.push_back(Layer{take(p + "attn_norm.weight"), take(p + "q_proj.weight"), take(p + "k_proj.weight"),
                            take(p + "v_proj.weight"), take(p + "attn_out.weight"), take(p + "ff_norm.weight"),
                            take(p + "ff_proj.weight"), take(p + "up_proj.weight"), take(p + "ff_out.weight")});
  }
  int64_t hd = config_.head_dim();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  inv_freq_ = 1.0 / torch::pow(config_.rope_theta, torch::arange(0, hd, 2, f32) / static_cast<double>(hd));
}

// Up-cast, normalise, cast back, THEN scale by the weight in the compute dtype, as LLaDA does.
torch::Tensor Model::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  torch::Tensor xf = x.to(torch::kFloat32);
  torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps);
  return weight * normed.to(x.scalar_type());
}

torch::Tensor Model::attention(const Layer& layer, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin, KvCache::Layer* kept, int64_t begin,
                               const torch::Tensor& allowed) const {
  int64_t B = x.size(0), T = x.size(1), hd = config_.head_dim();
  torch::Tensor xn = rms_norm(x, layer.attn_norm);
  torch::Tensor q = torch::linear(xn, layer.q_proj).view({B, T, config_.n_heads, hd}).transpose(1, 2);
  torch::Tensor k = torch::linear(xn, layer.k_proj).view({B, T, config_.n_kv_heads, hd}).transpose(1, 2);
  torch::Tensor v = torch::linear(xn, layer.v_proj).view({B, T, config_.n_kv_heads, hd}).transpose(1, 2);
  q = rope(q, cos, sin);
  k = rope(k, cos, sin);
  if (kept != nullptr) {
    kept->keys.narrow(2, begin, T).copy_(k);
    kept->values.narrow(2, begin, T).copy_(v);
    if (T < kept->keys.size(2)) {  // a partial step attends to every position: the kept ones and its own
      k = kept->keys;
      v = kept->values;
    }
  }
  if (config_.n_kv_heads != config_.n_heads) {
    int64_t groups = config_.n_heads / config_.n_kv_heads;
    k = k.repeat_interleave(groups, 1);
    v = v.repeat_interleave(groups, 1);
  }
  torch::Tensor merged = bidirectional_attention(q, k, v, allowed).transpose(1, 2).contiguous().view({B, T, config_.d_model});
  return torch::linear(merged, layer.attn_out);
}

torch::Tensor Model::forward(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const {
  c10::InferenceMode inference;
  return run(tokens, 0, tokens.size(1), row_begin, row_end, nullptr);
}

torch::Tensor Model::forward_with_grad(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const {
  return run(tokens, 0, tokens.size(1), row_begin, row_end, nullptr);
}

KvCache Model::new_cache(int64_t batch, int64_t length) const {
  auto options = torch::TensorOptions().dtype(dtype_).device(device_);
  KvCache cache;
  for (size_t i = 0; i < layers_.size(); ++i) {
    cache.layers.push_back(KvCache::Layer{torch::zeros({batch, config_.n_kv_heads, length, config_.head_dim()}, options),
                                          torch::zeros({batch, config_.n_kv_heads, length, config_.head_dim()}, options)});
  }
  return cache;
}

torch::Tensor Model::forward_cached(const torch::Tensor& tokens, KvCache& cache, int64_t begin, int64_t end,
                                    int64_t row_begin, int64_t row_end) const {
  c10::InferenceMode inference;
  bool full = begin == 0 && end == tokens.size(1);
  if (!full && !cache.filled) throw invalid_argument("the cache holds nothing yet: its first forward must cover every position");
  torch::Tensor logits = run(tokens, begin, end, row_begin, row_end, &cache);
  cache.filled = true;
  return logits;
}

torch::Tensor Model::run(const torch::Tensor& tokens, int64_t begin, int64_t end, int64_t row_begin, int64_t row_end,
                         KvCache* cache) const {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  torch::Tensor x = trunk(tokens.narrow(1, begin, end - begin), torch::arange(begin, end, f32), torch::Tensor(), cache,
                          begin);
  return head(x.narrow(1, row_begin - begin, row_end - row_begin));
}

torch::Tensor Model::trunk(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& allowed,
                           KvCache* cache, int64_t begin) const {
  torch::Tensor angles = torch::outer(positions, inv_freq_);
  torch::Tensor emb = torch::cat({angles, angles}, -1);
  torch::Tensor cos = emb.cos(), sin = emb.sin();

  torch::Tensor x = torch::embedding(wte_, tokens);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    torch::Tensor h = x + attention(layer, x, cos, sin, cache ? &cache->layers[i] : nullptr, begin, allowed);
    torch::Tensor y = rms_norm(h, layer.ff_norm);
    x = h + torch::linear(torch::silu(torch::linear(y, layer.ff_proj)) * torch::linear(y, layer.up_proj),
                          layer.ff_out);
  }
  return x;
}

torch::Tensor Model::head(const torch::Tensor& rows) const {
  return torch::linear(rms_norm(rows, ln_f_), lm_head_).reshape({-1, config_.vocab_size});
}

torch::Tensor Model::forward_shadow(const torch::Tensor& tokens, int64_t block_begin, int64_t block_end) const {
  c10::InferenceMode inference;
  int64_t B = tokens.size(0), T = tokens.size(1), n = block_end - block_begin;
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  auto flag = torch::TensorOptions().dtype(torch::kBool).device(device_);
  torch::Tensor shadow = torch::full({B, n}, config_.mask_token_id, tokens.options());
  torch::Tensor positions = torch::cat({torch::arange(0, T, f32), torch::arange(block_begin, block_end, f32)});
  // [T + n, T + n]: the sequence never sees the shadow; a shadow row sees the shadow and the whole sequence
  // except its own position, so it predicts that position's token with the token hidden.
  torch::Tensor allowed = torch::ones({T + n, T + n}, flag);
  allowed.narrow(0, 0, T).narrow(1, T, n).fill_(false);
  allowed.narrow(0, T, n).narrow(1, block_begin, n).fill_diagonal_(false);
  torch::Tensor x = trunk(torch::cat({tokens, shadow}, 1), positions, allowed, nullptr, 0);
  return head(torch::cat({x.narrow(1, block_begin, n), x.narrow(1, T, n)}, 1));
}

}  // namespace remask

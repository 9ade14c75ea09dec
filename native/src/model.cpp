#include "model.h"

#include <torch/version.h>

#include <cmath>

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

torch::Tensor bidirectional_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#else
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  return torch::matmul(torch::softmax(scores, -1), v);
#endif
}

}  // namespace

Model::Model(const std::string& directory, torch::Device device, torch::ScalarType dtype)
    : config_(Config::read(directory)), device_(device), dtype_(dtype) {
  auto weights = load_weights(directory, config_, dtype, device);
  for (const auto& [name, tensor] : weights) {
    parameter_count_ += tensor.numel();
    weight_bytes_ += tensor.numel() * static_cast<int64_t>(tensor.element_size());
  }
  auto take = [&weights](const std::string& name) { return weights.at(name); };
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
                               const torch::Tensor& sin) const {
  int64_t B = x.size(0), T = x.size(1), hd = config_.head_dim();
  torch::Tensor xn = rms_norm(x, layer.attn_norm);
  torch::Tensor q = torch::linear(xn, layer.q_proj).view({B, T, config_.n_heads, hd}).transpose(1, 2);
  torch::Tensor k = torch::linear(xn, layer.k_proj).view({B, T, config_.n_kv_heads, hd}).transpose(1, 2);
  torch::Tensor v = torch::linear(xn, layer.v_proj).view({B, T, config_.n_kv_heads, hd}).transpose(1, 2);
  q = rope(q, cos, sin);
  k = rope(k, cos, sin);
  if (config_.n_kv_heads != config_.n_heads) {
    int64_t groups = config_.n_heads / config_.n_kv_heads;
    k = k.repeat_interleave(groups, 1);
    v = v.repeat_interleave(groups, 1);
  }
  torch::Tensor merged = bidirectional_attention(q, k, v).transpose(1, 2).contiguous().view({B, T, config_.d_model});
  return torch::linear(merged, layer.attn_out);
}

torch::Tensor Model::forward(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const {
  c10::InferenceMode inference;
  int64_t T = tokens.size(1);
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  torch::Tensor angles = torch::outer(torch::arange(T, f32), inv_freq_);
  torch::Tensor emb = torch::cat({angles, angles}, -1);
  torch::Tensor cos = emb.cos(), sin = emb.sin();

  torch::Tensor x = torch::embedding(wte_, tokens);
  for (const Layer& layer : layers_) {
    torch::Tensor h = x + attention(layer, x, cos, sin);
    torch::Tensor y = rms_norm(h, layer.ff_norm);
    x = h + torch::linear(torch::silu(torch::linear(y, layer.ff_proj)) * torch::linear(y, layer.up_proj),
                          layer.ff_out);
  }
  torch::Tensor rows = rms_norm(x.narrow(1, row_begin, row_end - row_begin), ln_f_);
  return torch::linear(rows, lm_head_).reshape({-1, config_.vocab_size});
}

}  // namespace remask

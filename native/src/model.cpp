#include "model.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "error.h"

namespace remask {
namespace {

torch::Tensor rotate_half(const torch::Tensor& x) {
  int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// q, k: [B, H, T, hd] in the compute dtype; cos, sin: [T, rotary_dim] in fp32 (LLaDA: RoPE runs in fp32) or
// in the compute dtype (the Hugging Face families round them and turn in it). Turns the first rotary_dim dims of
// each head (all but LLaDA2's).
torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  int64_t rd = cos.size(-1);
  torch::Tensor xf = x.narrow(-1, 0, rd).to(cos.scalar_type());
  torch::Tensor turned = (xf * cos + rotate_half(xf) * sin).to(x.scalar_type());
  return rd == x.size(-1) ? turned : torch::cat({turned, x.narrow(-1, rd, x.size(-1) - rd)}, -1);
}

// allowed: bool [T, keys] (query row may attend key column), or undefined for every pair. Without SDPA the
// softmax runs in the compute dtype (LLaDA's reference on libtorch 1.x), or with fp32_softmax in fp32, rounded
// after, as the Hugging Face families' eager attention does.
torch::Tensor bidirectional_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& allowed, bool fp32_softmax) {
#if TORCH_VERSION_MAJOR >= 2
  (void)fp32_softmax;  // SDPA picks its kernels and their precision itself
  return allowed.defined() ? at::scaled_dot_product_attention(q, k, v, allowed) : at::scaled_dot_product_attention(q, k, v);
#else
  double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -INFINITY);
  torch::Tensor weights = fp32_softmax ? torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type())
                                       : torch::softmax(scores, -1);
  return torch::matmul(weights, v);
#endif
}

// The embedding: a model built from tensors runs on its device in its dtype.
const torch::Tensor& embedding(const Config& config, const std::map<std::string, torch::Tensor>& weights) {
  const std::string& name = tensor_names(config.family).embedding;
  auto it = weights.find(name);
  if (it == weights.end()) throw bad_checkpoint("missing tensor " + name);
  return it->second;
}

}  // namespace

Model::Model(const std::string& directory, torch::Device device, torch::ScalarType dtype, WeightFormat format)
    : config_(Config::read(directory)), device_(device), dtype_(dtype), format_(format) {
  // api.cpp refuses int8 on cuda; Linear::int8 checks the device too.
  if (format == WeightFormat::Int8 && dtype != torch::kFloat32) throw invalid_argument("int8 weights compute in float32");
  // int8 loads the checkpoint as stored (mapped, not copied) and converts one tensor at a time in assign(), so an
  // 8B bfloat16 checkpoint never stands in float32 in memory whole.
  assign(load_weights(directory, config_, format == WeightFormat::Int8 ? std::nullopt : std::optional(dtype), device));
}

Model::Model(Config config, std::map<std::string, torch::Tensor> weights)
    : config_(std::move(config)),
      device_(embedding(config_, weights).device()),
      dtype_(embedding(config_, weights).scalar_type()) {
  assign(std::move(weights));
}

void Model::assign(std::map<std::string, torch::Tensor> weights) {
  weights_ = std::move(weights);
  auto take = [this](const std::string& name) {
    auto it = weights_.find(name);
    if (it == weights_.end()) throw bad_checkpoint("missing tensor " + name);
    if (it->second.scalar_type() != dtype_) it->second = it->second.to(dtype_);  // int8's: loaded as stored
    return it->second;
  };
  // int8 linears leave weights_ (their float copy is freed) and are counted here.
  int64_t linear_parameters = 0, linear_bytes = 0;
  auto int8 = [&](const torch::Tensor& weight) {
    Linear made = Linear::int8(weight);
    linear_parameters += made.parameters();
    linear_bytes += made.bytes();
    return made;
  };
  auto linear = [&](const std::string& name) {
    if (format_ == WeightFormat::Dense) return Linear(take(name));
    auto it = weights_.find(name);
    if (it == weights_.end()) throw bad_checkpoint("missing tensor " + name);
    Linear made = int8(it->second);
    weights_.erase(it);
    return made;
  };
  auto swiglu = [&](const std::string& gate, const std::string& up, const std::string& down) {
    return SwiGlu{linear(gate), linear(up), linear(down)};
  };
  auto maybe = [&take](bool present, const std::string& name) { return present ? take(name) : torch::Tensor(); };
  const TensorNames& n = tensor_names(config_.family);
  // [E, ...]: the experts' tensors stacked, and the map's entries made views of the stack so each is held once.
  auto stack = [this, &take, &n](int64_t layer, const std::string& which) {
    auto name = [&](int64_t e) { return n.layer(layer, n.experts + std::to_string(e) + "." + which); };
    std::vector<torch::Tensor> parts;
    for (int64_t e = 0; e < config_.n_experts; ++e) parts.push_back(take(name(e)));
    torch::Tensor stacked = torch::stack(parts);
    for (int64_t e = 0; e < config_.n_experts; ++e) weights_[name(e)] = stacked[e];
    return stacked;
  };
  // int8 keeps the embedding as stored (an 8B bfloat16 checkpoint's is 1 GB, 2 in float32); its rows are cast
  // when looked up.
  wte_ = format_ == WeightFormat::Int8 ? weights_.at(n.embedding) : take(n.embedding);
  ln_f_ = take(n.final_norm);
  // Rows past vocab_size are padding no tokenizer produces; the sampler never needs their logits.
  if (config_.weight_tying) {
    torch::Tensor rows = wte_.narrow(0, 0, config_.vocab_size);
    lm_head_ = format_ == WeightFormat::Int8 ? int8(rows) : Linear(rows);
  } else if (format_ == WeightFormat::Int8) {
    lm_head_ = int8(weights_.at(n.lm_head).narrow(0, 0, config_.vocab_size));
    weights_.erase(n.lm_head);
  } else {
    lm_head_ = Linear(take(n.lm_head).narrow(0, 0, config_.vocab_size));
  }
  for (int64_t i = 0; i < config_.n_layers; ++i) {
    auto at = [&n, i](const std::string& suffix) { return n.layer(i, suffix); };
    Layer layer;
    layer.attn_norm = take(at(n.attn_norm));
    layer.ff_norm = take(at(n.ff_norm));
    layer.attn_out = linear(at(n.attn_out));
    if (!n.qkv.empty()) {
      layer.qkv_proj = linear(at(n.qkv));
    } else {
      layer.q_proj = linear(at(n.q));
      layer.k_proj = linear(at(n.k));
      layer.v_proj = linear(at(n.v));
    }
    layer.q_bias = maybe(config_.qkv_bias, at(TensorNames::bias(n.q)));
    layer.k_bias = maybe(config_.qkv_bias, at(TensorNames::bias(n.k)));
    layer.v_bias = maybe(config_.qkv_bias, at(TensorNames::bias(n.v)));
    layer.q_norm = maybe(config_.qk_norm, at(n.q_norm));
    layer.k_norm = maybe(config_.qk_norm, at(n.k_norm));
    if (!config_.moe_layer(i)) {
      layer.mlp = swiglu(at(n.gate), at(n.up), at(n.down));
    } else {
      Experts& e = layer.experts;
      e.router = take(at(n.router));
      if (config_.router == Config::Router::GroupedSigmoid) e.router = e.router.to(torch::kFloat32);
      if (config_.expert_bias) e.bias = take(at(n.expert_bias)).to(torch::kFloat32);
      e.gate = stack(i, "gate_proj.weight");
      e.up = stack(i, "up_proj.weight");
      e.down = stack(i, "down_proj.weight");
      if (config_.shared_expert_hidden_size > 0) {
        std::string s = at(n.shared);
        layer.shared = swiglu(s + "gate_proj.weight", s + "up_proj.weight", s + "down_proj.weight");
      }
    }
    layers_.push_back(std::move(layer));
  }
  // What is left stands in the compute dtype (int8's norms, biases and experts too).
  for (auto& [name, tensor] : weights_) {
    if (tensor.scalar_type() != dtype_ && name != n.embedding) tensor = tensor.to(dtype_);
    parameter_count_ += tensor.numel();
    weight_bytes_ += tensor.numel() * static_cast<int64_t>(tensor.element_size());
  }
  parameter_count_ += linear_parameters;
  weight_bytes_ += linear_bytes;
  int64_t rd = config_.rotary_dim();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  inv_freq_ = 1.0 / torch::pow(config_.rope_theta, torch::arange(0, rd, 2, f32) / static_cast<double>(rd));
}

// Up-cast, normalise, cast back, THEN scale by the weight in the compute dtype, as every family does.
torch::Tensor Model::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  torch::Tensor xf = x.to(torch::kFloat32);
  torch::Tensor normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps);
  return weight * normed.to(x.scalar_type());
}

Model::Qkv Model::project(const Layer& layer, const torch::Tensor& xn) const {
  int64_t B = xn.size(0), T = xn.size(1), hd = config_.head_dim(), H = config_.n_heads, KV = config_.n_kv_heads;
  if (layer.qkv_proj.defined()) {
    torch::Tensor qkv = layer.qkv_proj(xn).view({B, T, H + 2 * KV, hd});
    return {qkv.narrow(2, 0, H), qkv.narrow(2, H, KV), qkv.narrow(2, H + KV, KV)};
  }
  return {layer.q_proj(xn, layer.q_bias).view({B, T, H, hd}), layer.k_proj(xn, layer.k_bias).view({B, T, KV, hd}),
          layer.v_proj(xn, layer.v_bias).view({B, T, KV, hd})};
}

torch::Tensor Model::attend(const Layer& layer, Qkv qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                            KvCache::Layer* kept, int64_t begin, int64_t visible, const torch::Tensor& allowed) const {
  int64_t B = qkv.q.size(0), T = qkv.q.size(1), hd = config_.head_dim(), H = config_.n_heads, KV = config_.n_kv_heads;
  torch::Tensor q = qkv.q, k = qkv.k, v = qkv.v;
  if (layer.q_norm.defined()) {
    q = rms_norm(q, layer.q_norm);
    k = rms_norm(k, layer.k_norm);
  }
  q = rope(q.transpose(1, 2), cos, sin);
  k = rope(k.transpose(1, 2), cos, sin);
  v = v.transpose(1, 2);
  if (kept != nullptr) {
    kept->keys.narrow(2, begin, T).copy_(k);
    kept->values.narrow(2, begin, T).copy_(v);
    int64_t keys = visible < 0 ? kept->keys.size(2) : visible;
    if (T < keys) {  // a partial step attends to the kept positions and its own
      k = kept->keys.narrow(2, 0, keys);
      v = kept->values.narrow(2, 0, keys);
    }
  }
  if (KV != H) {
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
  }
  return bidirectional_attention(q, k, v, allowed, config_.family != Family::Llada).transpose(1, 2).contiguous().view({B, T, H * hd});
}

torch::Tensor Model::attention(const Layer& layer, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin, KvCache::Layer* kept, int64_t begin, int64_t visible,
                               const torch::Tensor& allowed) const {
  return layer.attn_out(attend(layer, project(layer, rms_norm(x, layer.attn_norm)), cos, sin, kept, begin, visible, allowed));
}

torch::Tensor Model::forward(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const {
  c10::InferenceMode inference;
  return run(tokens, 0, tokens.size(1), row_begin, row_end, nullptr, Attend{});
}

torch::Tensor Model::forward_with_grad(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const {
  return run(tokens, 0, tokens.size(1), row_begin, row_end, nullptr, Attend{});
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
  require_filled(cache, tokens, begin, end);
  torch::Tensor logits = run(tokens, begin, end, row_begin, row_end, &cache, Attend{});
  cache.filled = true;
  return logits;
}

torch::Tensor Model::forward_blocks(const torch::Tensor& tokens, KvCache* cache, int64_t block_length, int64_t begin,
                                    int64_t end, int64_t row_begin, int64_t row_end) const {
  c10::InferenceMode inference;
  if (cache == nullptr && begin != 0) throw invalid_argument("without a cache a block-causal forward starts at 0");
  return run(tokens, begin, end, row_begin, row_end, cache, Attend{block_length, end});
}

torch::Tensor Model::run(const torch::Tensor& tokens, int64_t begin, int64_t end, int64_t row_begin, int64_t row_end,
                         KvCache* cache, Attend attend) const {
  begin = computed_from(begin, row_begin);
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  torch::Tensor allowed;
  if (attend.block_length > 0) {  // [end - begin, end]: query p sees key j iff j's block is not after p's
    torch::Tensor queries = torch::arange(begin, end, f32.dtype(torch::kLong)).div(attend.block_length, "floor");
    torch::Tensor keys = torch::arange(0, end, f32.dtype(torch::kLong)).div(attend.block_length, "floor");
    allowed = keys.unsqueeze(0) <= queries.unsqueeze(1);
    if (cache == nullptr) allowed = allowed.narrow(1, begin, end - begin);
  }
  torch::Tensor x = trunk(tokens.narrow(1, begin, end - begin), torch::arange(begin, end, f32), allowed, cache, begin,
                          attend.block_length > 0 ? attend.visible : -1);
  // x covers positions begin .. end-1; head_rows counts from position 0.
  return head(head_rows(x, row_begin - begin, row_end - begin));
}

torch::Tensor Model::head_rows(const torch::Tensor& x, int64_t row_begin, int64_t row_end) const {
  if (!config_.shifted_logits) return x.narrow(1, row_begin, row_end - row_begin);
  int64_t first = std::max<int64_t>(row_begin - 1, 0);
  torch::Tensor rows = x.narrow(1, first, row_end - 1 - first);
  return row_begin == 0 ? torch::cat({x.narrow(1, 0, 1), rows}, 1) : rows;
}

torch::Tensor Model::forward_ragged(const std::vector<Part>& parts) const {
  c10::InferenceMode inference;
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device_);
  // Each part's computed positions (widened as run() widens them for Dream's shifted rows) and RoPE tables.
  struct Span {
    int64_t begin, rows;  // positions begin .. begin + T - 1; rows = batch * T in the stacked activations
    torch::Tensor cos, sin;
  };
  std::vector<Span> spans;
  std::vector<torch::Tensor> embedded;  // [batch * T, d] per part
  for (const Part& p : parts) {
    if (p.cache != nullptr) require_filled(*p.cache, p.tokens, p.begin, p.end);
    int64_t begin = computed_from(p.begin, p.row_begin), T = p.end - begin;
    auto [cos, sin] = rope_tables(torch::arange(begin, p.end, f32));
    spans.push_back({begin, p.tokens.size(0) * T, cos, sin});
    embedded.push_back(torch::embedding(wte_, p.tokens.narrow(1, begin, T)).to(dtype_).reshape({-1, config_.d_model}));
  }
  // [1, R, d]: every part's positions stacked, so each linear layer is one product over all of them; attention
  // runs per part, over its own keys (and cache).
  torch::Tensor x = torch::cat(embedded).unsqueeze(0);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    Qkv all = project(layer, rms_norm(x, layer.attn_norm));
    std::vector<torch::Tensor> merged;
    int64_t at = 0;
    for (size_t j = 0; j < parts.size(); ++j) {
      const Span& s = spans[j];
      int64_t B = parts[j].tokens.size(0), T = s.rows / B;
      auto rows = [&](const torch::Tensor& t) { return t.narrow(1, at, s.rows).view({B, T, t.size(2), t.size(3)}); };
      KvCache* cache = parts[j].cache;
      merged.push_back(attend(layer, {rows(all.q), rows(all.k), rows(all.v)}, s.cos, s.sin,
                              cache ? &cache->layers[i] : nullptr, s.begin, -1, torch::Tensor())
                           .reshape({1, s.rows, -1}));
      at += s.rows;
    }
    x = feed_forward(layer, x + layer.attn_out(torch::cat(merged, 1)));
  }
  std::vector<torch::Tensor> heads;
  int64_t at = 0;
  for (size_t j = 0; j < parts.size(); ++j) {
    const Span& s = spans[j];
    int64_t B = parts[j].tokens.size(0);
    torch::Tensor part = x.narrow(1, at, s.rows).view({B, s.rows / B, config_.d_model});
    heads.push_back(head_rows(part, parts[j].row_begin - s.begin, parts[j].row_end - s.begin).reshape({1, -1, config_.d_model}));
    at += s.rows;
  }
  for (const Part& p : parts)
    if (p.cache != nullptr) p.cache->filled = true;
  return head(torch::cat(heads, 1));
}

torch::Tensor Model::trunk(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& allowed,
                           KvCache* cache, int64_t begin, int64_t visible) const {
  auto [cos, sin] = rope_tables(positions);
  torch::Tensor x = torch::embedding(wte_, tokens).to(dtype_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    x = feed_forward(layer, x + attention(layer, x, cos, sin, cache ? &cache->layers[i] : nullptr, begin, visible, allowed));
  }
  return x;
}

std::pair<torch::Tensor, torch::Tensor> Model::rope_tables(const torch::Tensor& positions) const {
  torch::Tensor angles = torch::outer(positions, inv_freq_);
  torch::Tensor emb = torch::cat({angles, angles}, -1);
  torch::Tensor cos = emb.cos(), sin = emb.sin();
  if (config_.family == Family::Llada) return {cos, sin};
  return {cos.to(dtype_), sin.to(dtype_)};
}

torch::Tensor Model::feed_forward(const Layer& layer, const torch::Tensor& h) const {
  torch::Tensor y = rms_norm(h, layer.ff_norm);
  if (!layer.experts.gate.defined()) return h + layer.mlp(y);
  torch::Tensor routed = route(config_, layer.experts, y.reshape({-1, y.size(-1)})).view_as(y);
  return h + (layer.shared.gate.defined() ? routed + layer.shared(y) : routed);
}

int64_t Model::computed_from(int64_t begin, int64_t row_begin) const {
  // Dream reads position i's distribution from output i - 1 (position 0's from output 0).
  int64_t first = config_.shifted_logits ? std::max<int64_t>(row_begin - 1, 0) : row_begin;
  return std::min(begin, first);
}

void Model::require_filled(const KvCache& cache, const torch::Tensor& tokens, int64_t begin, int64_t end) {
  if (!(begin == 0 && end == tokens.size(1)) && !cache.filled)
    throw invalid_argument("the cache holds nothing yet: its first forward must cover every position");
}

torch::Tensor Model::head(const torch::Tensor& rows) const {
  return lm_head_(rms_norm(rows, ln_f_)).reshape({-1, config_.vocab_size});
}

torch::Tensor Model::forward_shadow(const torch::Tensor& tokens, int64_t block_begin, int64_t block_end) const {
  c10::InferenceMode inference;
  if (config_.shifted_logits)
    throw invalid_argument("WINO's verify forward reads position i's token from output i; " +
                           std::string(architecture_name(config_.family)) + " reads it from output i - 1");
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
  torch::Tensor x = trunk(torch::cat({tokens, shadow}, 1), positions, allowed, nullptr, 0, -1);
  return head(torch::cat({x.narrow(1, block_begin, n), x.narrow(1, T, n)}, 1));
}

}  // namespace remask

// A checkpoint directory in Hugging Face's layout: config.json plus safetensors weights (one file or shards),
// of one of the families the forward pass runs.
#pragma once

#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace remask {

// The architectures remask runs, by config.json's architectures[0] (LLaDA-MoE reuses model_type "llada").
enum class Family { Llada, Dream, LladaMoe, Llada2 };

// The published name of a family's architecture: LLaDAModelLM, DreamModel, LLaDAMoEModelLM, LLaDA2MoeModelLM.
const char* architecture_name(Family family);

struct Config {
  Family family = Family::Llada;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_size = 0;       // 0: d_model / n_heads
  int64_t rotary_dims = 0;     // RoPE turns the first rotary_dims of each head (0: all of them)
  int64_t mlp_hidden_size = 0; // the dense SwiGLU's width
  int64_t vocab_size = 0;      // ids the tokenizer may produce
  int64_t embedding_size = 0;  // rows of the embedding and LM head (>= vocab_size)
  int64_t max_sequence_length = 0;
  int64_t mask_token_id = 0;
  int64_t eos_token_id = 0;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  bool weight_tying = false;
  bool qkv_bias = false;       // Dream: q, k and v projections carry a bias
  bool qk_norm = false;        // the MoEs: per-head RMSNorm of q and k before RoPE
  bool shifted_logits = false; // Dream: position i's distribution is the model's output at i - 1

  // Mixture of experts (n_experts 0: every layer is dense).
  enum class Router {
    Softmax,         // LLaDA-MoE: softmax, top-k, weights not renormalised
    GroupedSigmoid,  // LLaDA2: sigmoid + expert bias, group-limited top-k, renormalised and scaled
  };
  int64_t n_experts = 0;
  int64_t experts_per_token = 0;
  int64_t expert_hidden_size = 0;
  int64_t shared_expert_hidden_size = 0;  // 0: no shared expert
  std::vector<bool> moe_layers;           // per layer: routed experts (true) or the dense SwiGLU
  Router router = Router::Softmax;
  bool expert_bias = false;
  int64_t router_groups = 1;
  int64_t router_groups_kept = 1;
  double routed_scaling = 1.0;

  int64_t head_dim() const { return head_size > 0 ? head_size : d_model / n_heads; }
  int64_t rotary_dim() const { return rotary_dims > 0 ? rotary_dims : head_dim(); }
  bool moe_layer(int64_t layer) const { return n_experts > 0 && moe_layers[static_cast<size_t>(layer)]; }

  // Reads and checks DIR/config.json; refuses architecture switches the forward pass does not run.
  static Config read(const std::string& directory);
};

// The family's tensor names: whole-model ones, and per layer the suffixes after layer_prefix + index + "."
// ("" where the family has no such tensor). Experts and the shared expert take their SwiGLU's names
// ("gate_proj.weight", ...) after their prefix.
struct TensorNames {
  std::string embedding, final_norm, lm_head, layer_prefix;
  std::string attn_norm, q, k, v, qkv, q_norm, k_norm, attn_out, ff_norm;
  std::string gate, up, down;                         // the dense SwiGLU
  std::string router, expert_bias, experts, shared;   // experts: + index + "."
  std::string layer(int64_t index, const std::string& suffix) const {
    return layer_prefix + std::to_string(index) + "." + suffix;
  }
  // A bias beside a projection's weight: "x.weight" -> "x.bias".
  static std::string bias(const std::string& weight) { return weight.substr(0, weight.size() - 6) + "bias"; }
};
const TensorNames& tensor_names(Family family);

// Every tensor a checkpoint of this config holds, by name, with its shape.
std::map<std::string, std::vector<int64_t>> tensor_shapes(const Config& config);

// Loads every tensor of the checkpoint, checks names and shapes against the config, and returns
// them converted to dtype on device (no dtype: each as stored). Files are mapped, not read into memory.
std::map<std::string, torch::Tensor> load_weights(const std::string& directory, const Config& config,
                                                  std::optional<torch::ScalarType> dtype, torch::Device device);

}  // namespace remask

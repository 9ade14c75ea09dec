// A LLaDA checkpoint directory: config.json plus safetensors weights (one file or shards).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace remask {

struct Config {
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t mlp_hidden_size = 0;
  int64_t vocab_size = 0;      // ids the tokenizer may produce
  int64_t embedding_size = 0;  // rows of the embedding and LM head (>= vocab_size)
  int64_t max_sequence_length = 0;
  int64_t mask_token_id = 0;
  int64_t eos_token_id = 0;
  double rms_norm_eps = 0;
  double rope_theta = 0;
  bool weight_tying = false;

  int64_t head_dim() const { return d_model / n_heads; }

  // Reads and checks DIR/config.json; refuses architecture switches the forward pass does not run.
  static Config read(const std::string& directory);
};

// Every tensor a checkpoint of this config holds, by name, with its shape.
std::map<std::string, std::vector<int64_t>> tensor_shapes(const Config& config);

// Loads every tensor of the checkpoint, checks names and shapes against the config, and returns
// them converted to dtype on device. Files are mapped, not read into memory.
std::map<std::string, torch::Tensor> load_weights(const std::string& directory, const Config& config,
                                                  torch::ScalarType dtype, torch::Device device);

}  // namespace remask

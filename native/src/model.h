// The LLaDA transformer: bidirectional attention, rotate-half RoPE, RMSNorm, SwiGLU.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "checkpoint.h"

namespace remask {

class Model {
 public:
  Model(const std::string& directory, torch::Device device, torch::ScalarType dtype);

  const Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  int64_t parameter_count() const { return parameter_count_; }
  int64_t weight_bytes() const { return weight_bytes_; }

  // tokens: int64 [B, T] on the device. Returns logits [B * (row_end - row_begin), vocab_size] in the
  // compute dtype for positions row_begin .. row_end-1 of every sequence.
  torch::Tensor forward(const torch::Tensor& tokens, int64_t row_begin, int64_t row_end) const;

 private:
  struct Layer {
    torch::Tensor attn_norm, q_proj, k_proj, v_proj, attn_out, ff_norm, ff_proj, up_proj, ff_out;
  };

  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  torch::Tensor attention(const Layer& layer, const torch::Tensor& x, const torch::Tensor& cos,
                          const torch::Tensor& sin) const;

  Config config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::Tensor wte_, ln_f_, lm_head_, inv_freq_;
  std::vector<Layer> layers_;
  int64_t parameter_count_ = 0;
  int64_t weight_bytes_ = 0;
};

}  // namespace remask

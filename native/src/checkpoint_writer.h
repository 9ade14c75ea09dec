// Writes a checkpoint directory the engine (and Hugging Face's LLaDA code) loads: config.json and
// one float32 model.safetensors.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>

#include "checkpoint.h"

namespace remask {

// Writes DIR/config.json and DIR/model.safetensors (DIR must exist), each to a temporary file first
// and then renamed over the old one, so a crash leaves the previous file, never half of one.
// Tensors may live on any device in any dtype and require grad; they are written in dtype
// (float32, or bfloat16: half the file, rounded to nearest even).
void save_checkpoint(const std::string& directory, const Config& config,
                     const std::map<std::string, torch::Tensor>& weights, torch::ScalarType dtype);

}  // namespace remask

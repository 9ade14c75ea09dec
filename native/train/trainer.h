// Trains a LLaDA model (from scratch, or on from a checkpoint) on the CPU with the SFT objective (and, optionally,
// the editing one) and writes its checkpoint.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "examples.h"
#include "model.h"
#include "objective.h"

namespace remask {

struct TrainOptions {
  std::string out;  // checkpoint directory (exists); config.json and model.safetensors are written there
  int64_t vocab_size = 0;
  int64_t mask_id = 0;
  int64_t eos_id = 0;
  int64_t gen_length = 0;
  int64_t d_model = 256;
  int64_t layers = 6;
  int64_t heads = 8;
  int64_t mlp_hidden = 768;
  int64_t batch = 64;
  int64_t steps = 0;
  double lr = 1e-3;
  int64_t warmup = 200;
  double weight_decay = 0.1;
  uint64_t seed = 1;
  int threads = 0;  // 0: std::thread::hardware_concurrency
  double save_every_minutes = 10;
  torch::ScalarType save_dtype = torch::kFloat32;  // of the written checkpoint; training runs in float32
  std::string init;  // a checkpoint of the same shape to start from (continue a run); empty: random weights
  EditOptions edit;  // the editing objective beside LLaDA's; off by default
};

struct TrainResult {
  Model model;                // the trained weights, as written to options.out
  std::vector<double> losses;  // one per step
};

// The model config the options describe (checked as Config::read checks a config.json).
Config train_config(const TrainOptions& options);

// Runs options.steps optimizer steps on examples (answers already padded to gen_length), logging to
// log, saving a checkpoint every save_every_minutes and at the end. Deterministic given the seed
// and the thread count.
TrainResult train(const TrainOptions& options, const std::vector<Example>& examples, std::FILE* log);

}  // namespace remask

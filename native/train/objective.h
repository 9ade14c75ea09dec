// LLaDA's supervised fine-tuning objective: mask part of the answer, predict the masked tokens.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "examples.h"
#include "model.h"

namespace remask {

struct Batch {
  torch::Tensor tokens;  // int64 [B, T]: prompt ++ padded answer, right-padded with eos to the longest
  torch::Tensor answer;  // bool [B, T]: the answer region (answer and that padding); never the prompt
};

Batch make_batch(const std::vector<Example>& examples, const std::vector<size_t>& picks, int64_t eos_id);

// Draws t ~ U(eps, 1] per sequence and masks each answer-region token with probability t (torch's
// global generator), runs the forward pass on every position with grad, and returns
//   sum over masked positions of cross_entropy(logits, original token) / t
// divided by the number of answer-region tokens in the batch.
torch::Tensor sft_loss(const Model& model, const Batch& batch, int64_t mask_id);

}  // namespace remask

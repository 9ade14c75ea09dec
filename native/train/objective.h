// LLaDA's supervised fine-tuning objective: mask part of the answer, predict the masked tokens; and, optionally,
// the editing objective beside it: give some of the answer's visible tokens another token, and predict the clean
// token at every visible answer position, so that the model's output where a token stands judges that token.
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

// The editing objective's settings; fraction 0 is LLaDA's objective alone.
struct EditOptions {
  double fraction = 0;    // chance that a visible answer position gets another token
  double from_model = 0;  // share of those tokens drawn from the model's own prediction there (the rest uniform)
};

// One step's random draws (torch's global generator), kept apart from the loss so that a test can recompute it.
struct Draws {
  torch::Tensor t;            // float [B, 1]: the masking rate, U(eps, 1]
  torch::Tensor masked;       // bool [B, T]: answer positions shown as the mask
  torch::Tensor corrupted;    // bool [B, T]: visible answer positions shown with another token
  torch::Tensor input;        // int64 [B, T]: what the model reads
};

// Masks each answer position with probability t ~ U(eps, 1] (LLaDA). With edit.fraction > 0, each visible answer
// position is then corrupted with that chance: a uniform token other than the mask and the clean one, or, with
// chance edit.from_model, a token drawn from the model's prediction there given the masked sequence (without grad;
// a draw that equals the clean token leaves the position clean).
Draws draw(const Model& model, const Batch& batch, int64_t mask_id, const EditOptions& edit);

//   [ sum over masked positions of cross_entropy(logits, clean) / t
//     + (with edit.fraction > 0) sum over visible answer positions of cross_entropy(logits, clean) ]
//   / the number of answer-region tokens in the batch
// where the logits are the model's on draws.input, with grad.
torch::Tensor sft_loss(const Model& model, const Batch& batch, const Draws& draws, const EditOptions& edit);

// draw() then sft_loss().
torch::Tensor sft_loss(const Model& model, const Batch& batch, int64_t mask_id, const EditOptions& edit = {});

}  // namespace remask

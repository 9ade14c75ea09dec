#include "objective.h"

#include <algorithm>
#include <limits>

namespace remask {
namespace {

// LLaDA's lower bound on t: keeps 1/t finite and every sequence some chance of a mask.
constexpr double kEps = 1e-3;

}  // namespace

Batch make_batch(const std::vector<Example>& examples, const std::vector<size_t>& picks, int64_t eos_id) {
  int64_t B = static_cast<int64_t>(picks.size()), T = 0;
  for (size_t i : picks) T = std::max<int64_t>(T, examples[i].prompt.size() + examples[i].answer.size());
  Batch batch{torch::full({B, T}, eos_id, torch::kInt64), torch::ones({B, T}, torch::kBool)};
  auto tokens = batch.tokens.accessor<int64_t, 2>();
  auto answer = batch.answer.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const Example& e = examples[picks[b]];
    int64_t p = static_cast<int64_t>(e.prompt.size());
    for (int64_t j = 0; j < p; ++j) {
      tokens[b][j] = e.prompt[j];
      answer[b][j] = false;
    }
    for (size_t j = 0; j < e.answer.size(); ++j) tokens[b][p + static_cast<int64_t>(j)] = e.answer[j];
  }
  return batch;
}

Draws draw(const Model& model, const Batch& batch, int64_t mask_id, const EditOptions& edit) {
  int64_t B = batch.tokens.size(0), T = batch.tokens.size(1);
  Draws d;
  d.t = kEps + (1 - kEps) * (1 - torch::rand({B, 1}));  // (eps, 1]
  d.masked = (torch::rand({B, T}) < d.t).logical_and_(batch.answer);
  d.input = torch::where(d.masked, torch::full_like(batch.tokens, mask_id), batch.tokens);
  d.corrupted = torch::zeros_like(d.masked);
  if (edit.fraction <= 0) return d;
  torch::Tensor visible = batch.answer.logical_and(d.masked.logical_not());
  torch::Tensor chosen = (torch::rand({B, T}) < edit.fraction).logical_and_(visible);
  // Uniform: one of the V - 2 tokens that are neither the mask nor the clean one.
  int64_t V = model.config().vocab_size;
  torch::Tensor other = torch::randint(0, V - 2, {B, T}, torch::kInt64);
  torch::Tensor low = torch::minimum(batch.tokens, torch::full_like(batch.tokens, mask_id));
  torch::Tensor high = torch::maximum(batch.tokens, torch::full_like(batch.tokens, mask_id));
  other += (other >= low).to(torch::kInt64);
  other += (other >= high).to(torch::kInt64);
  torch::Tensor replacement = other;
  if (edit.from_model > 0) {
    torch::Tensor own = torch::rand({B, T}) < edit.from_model;
    torch::Tensor logits;
    {
      torch::NoGradGuard no_grad;
      logits = model.forward_with_grad(d.input, 0, T).detach();  // [B * T, V]
    }
    logits.index_fill_(1, torch::tensor({mask_id}), -std::numeric_limits<float>::infinity());
    torch::Tensor drawn = torch::multinomial(torch::softmax(logits, 1), 1).view({B, T});
    replacement = torch::where(own, drawn, other);
  }
  d.corrupted = chosen.logical_and(replacement != batch.tokens);
  d.input = torch::where(d.corrupted, replacement, d.input);
  return d;
}

torch::Tensor sft_loss(const Model& model, const Batch& batch, const Draws& draws, const EditOptions& edit) {
  int64_t B = batch.tokens.size(0), T = batch.tokens.size(1);
  torch::Tensor logits = model.forward_with_grad(draws.input, 0, T);  // [B * T, V]
  torch::Tensor clean = batch.tokens.view(-1);
  torch::Tensor weights = torch::where(draws.masked, 1 / draws.t.expand({B, T}), torch::zeros({B, T}));
  if (edit.fraction > 0) {
    torch::Tensor visible = batch.answer.logical_and(draws.masked.logical_not());
    weights = weights + visible.to(torch::kFloat32);
  }
  torch::Tensor rows = (weights.view(-1) > 0).nonzero().squeeze(1);
  torch::Tensor losses = torch::nn::functional::cross_entropy(
      logits.index_select(0, rows), clean.index_select(0, rows),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (losses * weights.view(-1).index_select(0, rows)).sum() / batch.answer.sum();
}

torch::Tensor sft_loss(const Model& model, const Batch& batch, int64_t mask_id, const EditOptions& edit) {
  return sft_loss(model, batch, draw(model, batch, mask_id, edit), edit);
}

}  // namespace remask

#include "objective.h"

#include <algorithm>

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

torch::Tensor sft_loss(const Model& model, const Batch& batch, int64_t mask_id) {
  int64_t B = batch.tokens.size(0), T = batch.tokens.size(1);
  torch::Tensor t = kEps + (1 - kEps) * (1 - torch::rand({B, 1}));  // (eps, 1]
  torch::Tensor masked = (torch::rand({B, T}) < t).logical_and_(batch.answer);
  torch::Tensor noisy = torch::where(masked, torch::full_like(batch.tokens, mask_id), batch.tokens);
  torch::Tensor logits = model.forward_with_grad(noisy, 0, T);  // [B * T, V]
  torch::Tensor rows = masked.view(-1).nonzero().squeeze(1);
  torch::Tensor losses = torch::nn::functional::cross_entropy(
      logits.index_select(0, rows), batch.tokens.view(-1).index_select(0, rows),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  torch::Tensor weights = (1 / t).expand({B, T}).reshape(-1).index_select(0, rows);
  return (losses * weights).sum() / batch.answer.sum();
}

}  // namespace remask

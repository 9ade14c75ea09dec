#include "experts.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace remask {
namespace {

// gate, up and down over a padded batch [B, capacity, d] of B experts' tokens: [B, capacity, d].
torch::Tensor products(const torch::Tensor& batch, const torch::Tensor& gate, const torch::Tensor& up,
                       const torch::Tensor& down) {
  torch::Tensor hidden = torch::silu(torch::bmm(batch, gate.transpose(1, 2))) * torch::bmm(batch, up.transpose(1, 2));
  return torch::bmm(hidden, down.transpose(1, 2));
}

}  // namespace

Routing choose_experts(const Config& c, const Experts& e, const torch::Tensor& x) {
  const int64_t N = x.size(0), E = c.n_experts, K = c.experts_per_token;
  Routing r;
  if (c.router == Config::Router::Softmax) {
    // LLaDA-MoE: softmax in fp32 (plus the optional bias), top-k, no renormalisation, weights in the compute dtype.
    torch::Tensor probs = torch::softmax(torch::linear(x, e.router), -1, torch::kFloat32);
    if (e.bias.defined()) probs = probs + e.bias;
    torch::Tensor weights, by_expert;
    std::tie(weights, r.chosen) = probs.topk(K);
    std::tie(r.chosen, by_expert) = r.chosen.sort(-1);
    r.weights = weights.gather(1, by_expert).to(x.scalar_type());
    return r;
  }
  // LLaDA2: fp32 sigmoid scores; the bias steers the choice only; the best topk_group groups (by the sum of their
  // two best scores) are the candidates; weights renormalised and scaled.
  const int64_t G = c.router_groups;
  torch::Tensor scores = torch::sigmoid(torch::linear(x.to(torch::kFloat32), e.router));  // [N, E]
  torch::Tensor biased = scores + e.bias;
  torch::Tensor group_scores = std::get<0>(biased.view({N, G, E / G}).topk(2, -1)).sum(-1);  // [N, G]
  torch::Tensor groups = std::get<1>(group_scores.topk(c.router_groups_kept, -1, true, false));
  torch::Tensor kept = torch::zeros_like(group_scores, torch::kBool).scatter_(1, groups, true);
  torch::Tensor candidates = kept.unsqueeze(-1).expand({N, G, E / G}).reshape({N, E});
  r.chosen = std::get<1>(biased.masked_fill(candidates.logical_not(), -INFINITY).topk(K));
  r.weights = scores.gather(1, r.chosen);
  if (K > 1) r.weights = r.weights / (r.weights.sum(-1, true) + 1e-20);
  r.weights = r.weights * c.routed_scaling;
  return r;
}

torch::Tensor route(const Config& c, const Experts& e, const torch::Tensor& x, RouteShape* shape) {
  const int64_t N = x.size(0), d = x.size(1), E = c.n_experts, K = c.experts_per_token;
  Routing routing = choose_experts(c, e, x);
  // The (token, expert) pairs sorted by expert; a pair's slot is its rank among its expert's pairs.
  torch::Tensor experts = routing.chosen.reshape({-1});
  torch::Tensor order = std::get<1>(experts.sort(/*stable=*/true, 0, false));
  torch::Tensor sorted = experts.index_select(0, order);
  torch::Tensor counts = torch::bincount(experts, {}, E);
  torch::Tensor slot = torch::arange(N * K, order.options()) - (counts.cumsum(0) - counts).index_select(0, sorted);
  torch::Tensor tokens = x.index_select(0, order.div(K, "floor"));  // [N * K, d], by expert
  torch::Tensor out = torch::empty_like(tokens);

  // Round one pads every expert to `capacity` pairs and runs them all as one batch; round two runs the rest of
  // each heavier expert's pairs (contiguous, since the pairs are sorted by expert) on its own. `capacity` is the
  // count that costs least, a product of its own weighing as much as kCall padded rows.
  constexpr int64_t kCall = 8;
  torch::Tensor host_counts = counts.to(torch::kCPU);
  std::vector<int64_t> count(host_counts.data_ptr<int64_t>(), host_counts.data_ptr<int64_t>() + E);
  std::vector<int64_t> ascending = count;
  std::sort(ascending.begin(), ascending.end());
  int64_t capacity = ascending.back(), least = E * capacity;
  for (int64_t i = 0; i < E; ++i) {
    int64_t rows = E * ascending[i];
    for (int64_t j = i + 1; j < E; ++j)
      if (ascending[j] > ascending[i]) rows += ascending[j] - ascending[i] + kCall;
    if (rows < least) least = rows, capacity = ascending[i];
  }
  if (capacity > 0) {
    torch::Tensor first = (slot < capacity).nonzero().select(1, 0);
    torch::Tensor rows = sorted.index_select(0, first) * capacity + slot.index_select(0, first);
    torch::Tensor batch = torch::zeros({E * capacity, d}, x.options());
    batch.index_copy_(0, rows, tokens.index_select(0, first));
    torch::Tensor done = products(batch.view({E, capacity, d}), e.gate, e.up, e.down).view({E * capacity, d});
    out.index_copy_(0, first, done.index_select(0, rows));
  }
  int64_t heavy = 0;
  for (int64_t i = 0, start = 0; i < E; start += count[i++]) {
    if (count[i] <= capacity) continue;
    ++heavy;
    torch::Tensor rest = tokens.narrow(0, start + capacity, count[i] - capacity);
    out.narrow(0, start + capacity, count[i] - capacity).copy_(
        torch::linear(torch::silu(torch::linear(rest, e.gate[i])) * torch::linear(rest, e.up[i]), e.down[i]));
  }
  if (shape != nullptr) *shape = RouteShape{capacity, heavy, ascending.back() - capacity};

  torch::Tensor pairs = torch::empty_like(out).index_copy_(0, order, out).view({N, K, d});
  if (c.router != Config::Router::Softmax)  // LLaDA2 sums them in fp32
    return (pairs.to(torch::kFloat32) * routing.weights.unsqueeze(-1)).sum(1).to(x.scalar_type());
  // LLaDA-MoE adds them one expert at a time, in ascending expert order, in the compute dtype.
  torch::Tensor y = pairs.select(1, 0) * routing.weights.narrow(1, 0, 1);
  for (int64_t j = 1; j < K; ++j) y = y + pairs.select(1, j) * routing.weights.narrow(1, j, 1);
  return y;
}

}  // namespace remask

// The routed experts of a MoE layer: which experts each token goes to, and their weighted outputs, as batched
// work on the device (no per-expert host loop).
#pragma once

#include <torch/torch.h>

#include "checkpoint.h"

namespace remask {

// One layer's routed experts, stacked.
struct Experts {
  torch::Tensor router;          // [E, d]; fp32 for LLaDA2's router, which runs in fp32
  torch::Tensor bias;            // [E] fp32, or undefined
  torch::Tensor gate, up, down;  // [E, hidden, d], [E, hidden, d], [E, d, hidden]
};

// Each token's experts, ascending for LLaDA-MoE (which adds their outputs in expert order), and their weights.
struct Routing {
  torch::Tensor chosen;   // int64 [N, K]
  torch::Tensor weights;  // [N, K]: fp32 for LLaDA2, the compute dtype for LLaDA-MoE
};

// How route() ran a call's (token, expert) pairs: every expert padded to `capacity` in one batch, then the rest of
// the `heavy` experts' that had more, each on its own (the busiest `overflow` more).
struct RouteShape {
  int64_t capacity = 0, heavy = 0, overflow = 0;
};

// The family's choice: LLaDA-MoE's softmax top-k (without renormalisation), LLaDA2's fp32 sigmoid with expert bias
// and group-limited top-k, renormalised and scaled. x: [N, d].
Routing choose_experts(const Config& config, const Experts& experts, const torch::Tensor& x);

// The routed experts' weighted sum over x [N, d]: [N, d] (no shared expert). The pairs, sorted by expert, run as
// one batched product per projection over every expert padded to a common count, then the rest of the few experts
// that had more (a batch of masks sends most of its pairs to the same few experts) each on its own, the count
// chosen to cost least; one host read of the experts' counts.
torch::Tensor route(const Config& config, const Experts& experts, const torch::Tensor& x,
                    RouteShape* shape = nullptr);

}  // namespace remask

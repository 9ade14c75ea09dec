#include "sampling.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.h"

#ifdef REMASK_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "../cuda/sampling_cuda.h"
#endif

namespace remask {
namespace {

void sample_cpu(const torch::Tensor& logits, int64_t rows, const SampleParams& p, Samples& samples) {
  const float* data = logits.data_ptr<float>();
  int64_t* out_x0 = samples.x0.data_ptr<int64_t>();
  float* out_conf = samples.confidence.data_ptr<float>();
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* cond = data + r * p.vocab;
      const float* uncond = p.guided ? data + (rows + r) * p.vocab : nullptr;
      RowState state;
      for (int64_t v = 0; v < p.vocab; ++v) state.visit(combined_logit(cond, uncond, v, p), v, r, p);
      if (state.best < 0) throw invalid_argument("row " + std::to_string(r) + " has no token that can be sampled");
      out_x0[r] = state.best;
      out_conf[r] = state.confidence(combined_logit(cond, uncond, state.best, p), r, p);
    }
  });
}

// The positions (indices into the block) that commit: top k by confidence, ties to the lower index,
// then any further ones at or above the threshold.
std::vector<int64_t> choose(const std::vector<int64_t>& candidates, const float* confidence, int64_t k,
                            double threshold) {
  auto key = [confidence](int64_t i) { return std::isnan(confidence[i]) ? -INFINITY : confidence[i]; };
  std::vector<int64_t> ranked = candidates;
  std::stable_sort(ranked.begin(), ranked.end(), [&key](int64_t a, int64_t b) { return key(a) > key(b); });
  size_t count = std::min(static_cast<size_t>(k), ranked.size());
  while (count < ranked.size() && key(ranked[count]) >= threshold) ++count;
  ranked.resize(count);
  std::sort(ranked.begin(), ranked.end());
  return ranked;
}

}  // namespace

Samples::Samples(int64_t capacity, torch::Device device) {
  auto options = torch::TensorOptions().device(device);
  x0 = torch::zeros({capacity}, options.dtype(torch::kInt64));
  confidence = torch::zeros({capacity}, options.dtype(torch::kFloat32));
  scratch = torch::zeros({2 * capacity + 1}, options.dtype(torch::kInt64));
}

void sample(const torch::Tensor& logits, int64_t rows, const SampleParams& params, Samples& samples) {
#ifdef REMASK_WITH_CUDA
  if (logits.is_cuda()) {
    c10::cuda::CUDAGuard guard(logits.device());
    cuda::sample(logits.data_ptr<float>(), rows, params, samples.x0.data_ptr<int64_t>(),
                 samples.confidence.data_ptr<float>(), c10::cuda::getCurrentCUDAStream().stream());
    return;
  }
#endif
  sample_cpu(logits, rows, params, samples);
}

int64_t commit(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin, int64_t block_end,
               int64_t k, double threshold, int64_t* positions, int64_t* committed) {
  int64_t n = block_end - block_begin;
  int64_t batch = tokens.size(0), length = tokens.size(1);
#ifdef REMASK_WITH_CUDA
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard guard(tokens.device());
    return cuda::commit(tokens.data_ptr<int64_t>(), batch, length, samples.x0.data_ptr<int64_t>(),
                        samples.confidence.data_ptr<float>(), mask_id, block_begin, n, k, threshold,
                        samples.scratch.data_ptr<int64_t>(), positions, committed,
                        c10::cuda::getCurrentCUDAStream().stream());
  }
#endif
  int64_t* t = tokens.data_ptr<int64_t>();
  const int64_t* sampled = samples.x0.data_ptr<int64_t>();
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i < n; ++i)
    if (t[block_begin + i] == mask_id) candidates.push_back(i);
  int64_t count = 0;
  for (int64_t i : choose(candidates, samples.confidence.data_ptr<float>(), k, threshold)) {
    for (int64_t b = 0; b < batch; ++b) t[b * length + block_begin + i] = sampled[i];
    positions[count] = block_begin + i;
    committed[count++] = sampled[i];
  }
  return count;
}

}  // namespace remask

#include "sampling.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "error.h"

#ifdef REMASK_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "../cuda/sampling_cuda.h"
#endif

namespace remask {
namespace {

constexpr int64_t kChunk = 1024;

// The two loops that touch every logit, with AVX2 where the processor has it (GCC does not
// vectorise them reliably by itself) and plain loops elsewhere.
const bool kAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");

__attribute__((target("avx2,fma"))) inline float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) inline double horizontal_sum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  double sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}

// e^x for x <= 0: Cephes' expf polynomial, within a few ulp; below -87 it gives about 1e-38, not 0.
__attribute__((target("avx2,fma"))) inline __m256 exp_nonpositive(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

// ln x for x > 0 normal: Cephes' logf polynomial, within a few ulp.
__attribute__((target("avx2,fma"))) inline __m256 log_positive(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)),
                                                 _mm256_set1_epi32(0x3F000000)));  // [0.5, 1)
  __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, one));
  m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), one);
  __m256 z = _mm256_mul_ps(m, m);
  __m256 y = _mm256_set1_ps(7.0376836292e-2f);
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.1514610310e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(1.1676998740e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.2420140846e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(1.4249322787e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-1.6668057665e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(2.0000714765e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(-2.4999993993e-1f));
  y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(3.3333331174e-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(m, y));
}

// keys[i] = x[i] / temperature + Gumbel noise of token begin + i.
__attribute__((target("avx2,fma"))) void gumbel_keys_avx2(const float* x, int64_t n, float inverse_temperature,
                                                           uint32_t key, int64_t begin, float* keys) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i index = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(begin + i)), lane);
    __m256i h = _mm256_xor_si256(_mm256_set1_epi32(static_cast<int32_t>(key)),
                                 _mm256_mullo_epi32(index, _mm256_set1_epi32(static_cast<int32_t>(0x9E3779B9u))));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32(0x7FEB352D));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 15));
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32(static_cast<int32_t>(0x846CA68Bu)));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    __m256 u = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(h, 8)), _mm256_set1_ps(0.5f)),
                             _mm256_set1_ps(1.0f / 16777216.0f));
    __m256 noise = _mm256_sub_ps(_mm256_setzero_ps(),
                                 log_positive(_mm256_sub_ps(_mm256_setzero_ps(), log_positive(u))));
    _mm256_storeu_ps(keys + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(inverse_temperature), noise));
  }
  for (; i < n; ++i) keys[i] = x[i] * inverse_temperature + gumbel(key, begin + i);
}

__attribute__((target("avx2,fma"))) float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  float result = horizontal_max(m);
  for (; i < n; ++i) result = x[i] > result ? x[i] : result;
  return result;
}

// Σ e^(x-m), and Σ e^(x-m)(x-m) when weighted is not null.
__attribute__((target("avx2,fma"))) void exp_sums_avx2(const float* x, int64_t n, float m, double* sum,
                                                        double* weighted) {
  __m256 s = _mm256_setzero_ps(), w = _mm256_setzero_ps(), shift = _mm256_set1_ps(m);
  __m256 floor = _mm256_set1_ps(-87.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), shift);
    __m256 e = exp_nonpositive(d);
    s = _mm256_add_ps(s, e);
    if (weighted != nullptr) w = _mm256_fmadd_ps(e, _mm256_max_ps(d, floor), w);
  }
  *sum = horizontal_sum(s);
  if (weighted != nullptr) *weighted = horizontal_sum(w);
  for (; i < n; ++i) {
    double d = static_cast<double>(x[i]) - m;
    double e = d == -INFINITY ? 0.0 : std::exp(d);
    *sum += e;
    if (weighted != nullptr && e > 0) *weighted += e * d;
  }
}

void gumbel_keys(const float* x, int64_t n, float inverse_temperature, uint32_t key, int64_t begin, float* keys) {
  if (kAvx2) return gumbel_keys_avx2(x, n, inverse_temperature, key, begin, keys);
  for (int64_t i = 0; i < n; ++i) keys[i] = x[i] * inverse_temperature + gumbel(key, begin + i);
}

float max_of(const float* x, int64_t n) {
  if (kAvx2) return max_avx2(x, n);
  float result = -INFINITY;
  for (int64_t i = 0; i < n; ++i) result = x[i] > result ? x[i] : result;
  return result;
}

// The first index holding the largest value, as torch.argmax picks it; -1 when every value is -inf.
int64_t first_argmax(const float* x, int64_t n) {
  float best = max_of(x, n);
  if (best == -INFINITY) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] == best) return i;
  return -1;
}

void exp_sums(const float* x, int64_t n, float m, double* sum, double* weighted) {
  if (kAvx2) return exp_sums_avx2(x, n, m, sum, weighted);
  *sum = 0;
  if (weighted != nullptr) *weighted = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(x[i]) - m;
    double e = d == -INFINITY ? 0.0 : std::exp(d);
    *sum += e;
    if (weighted != nullptr && e > 0) *weighted += e * d;
  }
}

// One chunk of a row, folded into a RowState. The chunk is copied to a small buffer first (combining
// the guided halves on the way), so every statistic is one pass over data in L1.
void fold_chunk(const float* cond, const float* uncond, int64_t begin, int64_t size, int64_t row,
                const SampleParams& p, RowState& state) {
  alignas(64) float buf[kChunk];
  const float scale = p.cfg_scale + 1.0f;
  for (int64_t i = 0; i < size; ++i)
    buf[i] = uncond != nullptr ? uncond[begin + i] + scale * (cond[begin + i] - uncond[begin + i]) : cond[begin + i];
  auto local = [begin, size](int64_t id) { return id >= begin && id < begin + size ? id - begin : -1; };
  if (p.eos_logit_off && local(p.eos_id) >= 0) buf[local(p.eos_id)] = -INFINITY;

  RowState chunk;
  float m = max_of(buf, size);
  if (m != -INFINITY) {
    chunk.max = m;
    exp_sums(buf, size, m, &chunk.sum, p.rule == kEntropy ? &chunk.weighted : nullptr);
  }

  if (local(p.mask_id) >= 0) buf[local(p.mask_id)] = -INFINITY;
  if (p.temperature > 0) {
    alignas(64) float keys[kChunk];
    gumbel_keys(buf, size, 1.0f / p.temperature, row_key(p.seed, p.step, row), begin, keys);
    int64_t i = first_argmax(keys, size);
    if (i >= 0) chunk.add_candidate(keys[i], begin + i);
  } else {
    int64_t i = first_argmax(buf, size);
    if (i >= 0) chunk.add_candidate(buf[i], begin + i);
  }
  if (p.rule == kMargin) {
    for (int64_t i = 0; i < size; ++i) chunk.add_top2(buf[i]);
  }
  state.merge(chunk);
}

void sample_cpu(const torch::Tensor& logits, int64_t rows, const SampleParams& p, Samples& samples) {
  const float* data = logits.data_ptr<float>();
  int64_t* out_x0 = samples.x0.data_ptr<int64_t>();
  float* out_conf = samples.confidence.data_ptr<float>();
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* cond = data + r * p.vocab;
      const float* uncond = p.guided ? data + (rows + r) * p.vocab : nullptr;
      RowState state;
      for (int64_t c = 0; c < p.vocab; c += kChunk) fold_chunk(cond, uncond, c, std::min(kChunk, p.vocab - c), r, p, state);
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
  auto before = [confidence](int64_t a, int64_t b) {
    return ranks_before(rank_key(confidence[a]), a, rank_key(confidence[b]), b);
  };
  std::vector<int64_t> ranked = candidates;
  std::sort(ranked.begin(), ranked.end(), before);
  int64_t above = std::count_if(ranked.begin(), ranked.end(),
                                [&](int64_t i) { return rank_key(confidence[i]) >= threshold; });
  ranked.resize(fresh_commits(k, static_cast<int64_t>(ranked.size()), above));
  std::sort(ranked.begin(), ranked.end());
  return ranked;
}

}  // namespace

Samples::Samples(int64_t capacity, torch::Device device) {
  auto options = torch::TensorOptions().device(device);
  x0 = torch::zeros({capacity}, options.dtype(torch::kInt64));
  confidence = torch::zeros({capacity}, options.dtype(torch::kFloat32));
  running = torch::zeros({capacity}, options.dtype(torch::kFloat32));
  shadow = torch::zeros({capacity}, options.dtype(torch::kFloat32));
  scratch = torch::zeros({3 * capacity + 2}, options.dtype(torch::kInt64));
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

void truncate(torch::Tensor& logits, int64_t rows, double top_p, int64_t top_k) {
  torch::Tensor x = logits.narrow(0, 0, rows);
  const float lowest = std::numeric_limits<float>::lowest();
  if (top_p < 1) {  // drop the tokens after the cumulative probability first exceeds top_p
    auto [sorted, order] = x.sort(-1, /*descending=*/true);
    torch::Tensor beyond = torch::softmax(sorted, -1).cumsum(-1) > top_p;
    torch::Tensor drop = torch::zeros_like(beyond);
    drop.narrow(-1, 1, drop.size(-1) - 1).copy_(beyond.narrow(-1, 0, beyond.size(-1) - 1));
    x.masked_fill_(torch::zeros_like(drop).scatter_(-1, order, drop), lowest);
  }
  if (top_k > 0 && top_k < x.size(-1)) {
    torch::Tensor kth = std::get<0>(x.topk(top_k, -1)).narrow(-1, top_k - 1, 1);
    x.masked_fill_(x < kth, lowest);
  }
}

void gumbel_confidence(Samples& samples, int64_t rows, double alg_temp, uint64_t seed, uint64_t step, int64_t vocab) {
  torch::Tensor confidence = samples.confidence.narrow(0, 0, rows);
  torch::Tensor host = confidence.to(torch::kCPU).contiguous();
  float* c = host.data_ptr<float>();
  for (int64_t i = 0; i < rows; ++i)
    c[i] = static_cast<float>(c[i] / alg_temp) + position_gumbel(seed, step, i, vocab);
  confidence.copy_(host);
}

int64_t commit_origin(torch::Tensor& tokens, const Samples& samples, int64_t mask_id, int64_t vocab,
                      int64_t block_begin, int64_t block_end, double p_transfer, uint64_t seed, uint64_t step,
                      const float* uniforms, int64_t* positions, int64_t* committed) {
  // The choice needs only the block's mask state and the draws: made on the host, then written on the device.
  int64_t n = block_end - block_begin;
  torch::Tensor block = tokens.select(0, 0).narrow(0, block_begin, n).to(torch::kCPU);
  const int64_t* held = block.data_ptr<int64_t>();
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < n; ++i) {
    if (held[i] != mask_id) continue;
    float u = uniforms != nullptr ? uniforms[i] : origin_uniform(seed, step, i, vocab);
    if (u < p_transfer) chosen.push_back(i);
  }
  if (chosen.empty()) return 0;
  auto count = static_cast<int64_t>(chosen.size());
  torch::Tensor index = torch::from_blob(chosen.data(), {count}, torch::kInt64).to(tokens.device());
  torch::Tensor x0 = samples.x0.index_select(0, index);
  tokens.narrow(1, block_begin, n).index_copy_(1, index, x0.unsqueeze(0).expand({tokens.size(0), count}).contiguous());
  torch::Tensor host = x0.to(torch::kCPU);
  for (int64_t j = 0; j < count; ++j) {
    positions[j] = block_begin + chosen[j];
    committed[j] = host.data_ptr<int64_t>()[j];
  }
  return count;
}

Edited commit_edit(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin, int64_t block_end,
                   int64_t k, double threshold, double edit_threshold, int64_t* positions, int64_t* committed,
                   int64_t* edited) {
  int64_t n = block_end - block_begin;
  int64_t batch = tokens.size(0), length = tokens.size(1);
  std::vector<int64_t> edit_tokens(n, -1);  // x0 where block position i is edited, else -1
#ifdef REMASK_WITH_CUDA
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard guard(tokens.device());
    cuda::edit(tokens.data_ptr<int64_t>(), batch, length, samples.x0.data_ptr<int64_t>(),
               samples.confidence.data_ptr<float>(), mask_id, block_begin, n, edit_threshold,
               samples.scratch.data_ptr<int64_t>(), edit_tokens.data(), c10::cuda::getCurrentCUDAStream().stream());
  } else
#endif
  {
    int64_t* t = tokens.data_ptr<int64_t>();
    const int64_t* x0 = samples.x0.data_ptr<int64_t>();
    const float* confidence = samples.confidence.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      int64_t held = t[block_begin + i];
      if (held != mask_id && x0[i] != held && x0[i] != mask_id && confidence[i] > edit_threshold) {
        edit_tokens[i] = x0[i];
        for (int64_t b = 0; b < batch; ++b) t[b * length + block_begin + i] = x0[i];
      }
    }
  }
  // The masked positions' commit (the edited ones hold tokens, so it cannot touch them), then both, ascending.
  std::vector<int64_t> fresh_positions(n), fresh_tokens(n);
  int64_t fresh = commit(tokens, samples, mask_id, block_begin, block_end, k, threshold, fresh_positions.data(),
                         fresh_tokens.data());
  Edited done;
  int64_t next_fresh = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (edit_tokens[i] >= 0) {
      edited[done.edited++] = block_begin + i;
      positions[done.committed] = block_begin + i;
      committed[done.committed++] = edit_tokens[i];
    } else if (next_fresh < fresh && fresh_positions[next_fresh] == block_begin + i) {
      positions[done.committed] = block_begin + i;
      committed[done.committed++] = fresh_tokens[next_fresh++];
    }
  }
  return done;
}

Revised commit_running(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t block_begin,
                       int64_t block_end, int64_t k, double threshold, int64_t* positions, int64_t* committed,
                       int64_t* remasked) {
  int64_t n = block_end - block_begin;
  int64_t batch = tokens.size(0), length = tokens.size(1);
#ifdef REMASK_WITH_CUDA
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard guard(tokens.device());
    auto counts = cuda::commit_running(tokens.data_ptr<int64_t>(), batch, length, samples.x0.data_ptr<int64_t>(),
                                       samples.confidence.data_ptr<float>(), samples.running.data_ptr<float>(),
                                       mask_id, block_begin, n, k, threshold, samples.scratch.data_ptr<int64_t>(),
                                       positions, committed, remasked, c10::cuda::getCurrentCUDAStream().stream());
    return Revised{counts.first, counts.second};
  }
#endif
  int64_t* t = tokens.data_ptr<int64_t>();
  const int64_t* sampled = samples.x0.data_ptr<int64_t>();
  const float* confidence = samples.confidence.data_ptr<float>();
  float* running = samples.running.data_ptr<float>();
  std::vector<int64_t> order(n);
  std::vector<char> masked(n);
  int64_t masked_count = 0, above = 0;
  for (int64_t i = 0; i < n; ++i) {
    order[i] = i;
    masked[i] = t[block_begin + i] == mask_id;
    if (!masked[i]) continue;
    running[i] = confidence[i];
    ++masked_count;
    above += rank_key(confidence[i]) >= threshold;
  }
  int64_t keep = (n - masked_count) + fresh_commits(k, masked_count, above);
  std::sort(order.begin(), order.end(), [running](int64_t a, int64_t b) {
    return ranks_before(rank_key(running[a]), a, rank_key(running[b]), b);
  });
  std::vector<char> kept(n, 0);
  for (int64_t r = 0; r < keep; ++r) kept[order[r]] = 1;
  Revised done;
  for (int64_t i = 0; i < n; ++i) {
    if (kept[i] == masked[i]) {  // a masked position that takes x0, or a committed one that is masked again
      int64_t token = masked[i] ? sampled[i] : mask_id;
      for (int64_t b = 0; b < batch; ++b) t[b * length + block_begin + i] = token;
      if (masked[i]) {
        positions[done.committed] = block_begin + i;
        committed[done.committed++] = token;
      } else {
        remasked[done.remasked++] = block_begin + i;
      }
    }
  }
  return done;
}

Revised commit_remdm(torch::Tensor& tokens, Samples& samples, int64_t mask_id, int64_t vocab, int64_t block_begin,
                     int64_t block_end, int64_t k, double threshold, bool weighted, double sigma, uint64_t seed,
                     uint64_t step, int64_t* positions, int64_t* committed, int64_t* remasked) {
  int64_t n = block_end - block_begin;
  int64_t batch = tokens.size(0), length = tokens.size(1);
#ifdef REMASK_WITH_CUDA
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard guard(tokens.device());
    auto counts = cuda::commit_remdm(tokens.data_ptr<int64_t>(), batch, length, samples.x0.data_ptr<int64_t>(),
                                     samples.confidence.data_ptr<float>(), samples.running.data_ptr<float>(), mask_id,
                                     vocab, block_begin, n, k, threshold, weighted, sigma, seed, step,
                                     samples.scratch.data_ptr<int64_t>(), positions, committed, remasked,
                                     c10::cuda::getCurrentCUDAStream().stream());
    return Revised{counts.first, counts.second};
  }
#endif
  int64_t* t = tokens.data_ptr<int64_t>();
  const int64_t* sampled = samples.x0.data_ptr<int64_t>();
  const float* confidence = samples.confidence.data_ptr<float>();
  float* running = samples.running.data_ptr<float>();
  std::vector<int64_t> masked, kept;
  int64_t above = 0;
  double shift = INFINITY;  // min of the committed confidences: softmax(-c) without overflow
  for (int64_t i = 0; i < n; ++i) {
    if (t[block_begin + i] == mask_id) {
      masked.push_back(i);
      above += rank_key(confidence[i]) >= threshold;
    } else {
      kept.push_back(i);
      shift = std::min(shift, static_cast<double>(running[i]));
    }
  }
  int64_t fresh = k == 0 ? 0 : fresh_commits(k, static_cast<int64_t>(masked.size()), above);
  double t_now = static_cast<double>(masked.size()) / n, s_next = static_cast<double>(masked.size() - fresh) / n;
  double total = 0;
  for (int64_t i : kept) total += std::exp(-(running[i] - shift));
  Revised done;
  for (int64_t i : kept) {
    double p = remdm_sigma(weighted, sigma, std::exp(-(running[i] - shift)) / total, t_now, s_next);
    if (remdm_uniform(seed, step, i, vocab) < p) {
      for (int64_t b = 0; b < batch; ++b) t[b * length + block_begin + i] = mask_id;
      remasked[done.remasked++] = block_begin + i;
    }
  }
  std::vector<int64_t> chosen = choose(masked, confidence, std::max<int64_t>(fresh + done.remasked, 1), INFINITY);
  if (fresh + done.remasked == 0) chosen.clear();  // a holding step of remdm-loop that masked nothing
  for (int64_t i : chosen) {
    for (int64_t b = 0; b < batch; ++b) t[b * length + block_begin + i] = sampled[i];
    running[i] = confidence[i];
    positions[done.committed] = block_begin + i;
    committed[done.committed++] = sampled[i];
  }
  return done;
}

Revised commit_wino(torch::Tensor& tokens, Samples& samples, const torch::Tensor& logits, int64_t mask_id,
                    int64_t block_begin, int64_t block_end, double wide, double narrow, int64_t last_accept,
                    int64_t* positions, int64_t* committed, int64_t* remasked) {
  int64_t n = block_end - block_begin, vocab = logits.size(1);
#ifdef REMASK_WITH_CUDA
  if (tokens.is_cuda()) {
    c10::cuda::CUDAGuard guard(tokens.device());
    auto counts = cuda::commit_wino(tokens.data_ptr<int64_t>(), logits.data_ptr<float>(), vocab,
                                    samples.x0.data_ptr<int64_t>(), samples.confidence.data_ptr<float>(),
                                    samples.shadow.data_ptr<float>(), mask_id, block_begin, n, wide, narrow,
                                    last_accept, samples.scratch.data_ptr<int64_t>(), positions, committed, remasked,
                                    c10::cuda::getCurrentCUDAStream().stream());
    return Revised{counts.first, counts.second};
  }
#endif
  int64_t* t = tokens.data_ptr<int64_t>() + block_begin;
  const int64_t* sampled = samples.x0.data_ptr<int64_t>();
  const float* confidence = samples.confidence.data_ptr<float>();
  float* shadow = samples.shadow.data_ptr<float>();
  const float* shadow_logits = logits.data_ptr<float>() + n * vocab;
  std::vector<int64_t> masked, kept;
  int64_t above = 0, below = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == mask_id) {
      masked.push_back(i);
      above += rank_key(confidence[i]) > wide;
      continue;
    }
    const float* row = shadow_logits + i * vocab;
    RowState state;
    state.max = max_of(row, vocab);
    exp_sums(row, vocab, state.max, &state.sum, nullptr);
    shadow[i] = state.probability(row[t[i]]);
    kept.push_back(i);
    below += shadow[i] < narrow;
  }
  int64_t accepted = wino_accepts(static_cast<int64_t>(masked.size()), above);
  int64_t dropped = wino_remasks(accepted, below, last_accept);
  std::sort(masked.begin(), masked.end(), [confidence](int64_t a, int64_t b) {
    return ranks_before(rank_key(confidence[a]), a, rank_key(confidence[b]), b);
  });
  std::sort(kept.begin(), kept.end(), [shadow](int64_t a, int64_t b) {  // the least confident first
    return ranks_before(-rank_key(shadow[a]), a, -rank_key(shadow[b]), b);
  });
  masked.resize(std::min<size_t>(masked.size(), static_cast<size_t>(accepted)));
  kept.resize(static_cast<size_t>(dropped));
  std::sort(masked.begin(), masked.end());
  std::sort(kept.begin(), kept.end());
  Revised done;
  for (int64_t i : masked) {
    t[i] = sampled[i];
    positions[done.committed] = block_begin + i;
    committed[done.committed++] = sampled[i];
  }
  for (int64_t i : kept) {
    t[i] = mask_id;
    remasked[done.remasked++] = block_begin + i;
  }
  return done;
}

}  // namespace remask

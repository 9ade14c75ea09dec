// The per-token arithmetic of the fused sampler, shared by the CPU loop and the CUDA kernel so both
// draw the same noise and keep the same running statistics. Plain C++ (no libtorch).
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define REMASK_HD __host__ __device__ __forceinline__
#else
#define REMASK_HD inline
#endif

namespace remask {

enum SampleRule : int32_t { kLowConfidence = 0, kRandom = 1, kMargin = 2, kEntropy = 3 };

struct SampleParams {
  int64_t vocab;
  int64_t mask_id;
  int64_t eos_id;
  int64_t eot_id;  // -1: none
  float cfg_scale;
  bool guided;
  float temperature;
  int32_t rule;
  bool eos_logit_off;
  bool eos_confidence_off;
  uint64_t seed;
  uint64_t step;
};

// splitmix64's finaliser: a counter-based generator, so noise depends on its coordinates only.
REMASK_HD uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The noise of one row: a 32-bit key from (seed, step, row), then a 32-bit hash per token, which
// vector units compute as cheaply as the scalar code (lowbias32 by C. Wellons).
REMASK_HD uint32_t row_key(uint64_t seed, uint64_t step, int64_t row) {
  return static_cast<uint32_t>(mix64(mix64(seed ^ mix64(step)) + static_cast<uint64_t>(row) * 0xD1B54A32D192ED03ull));
}

REMASK_HD uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

// Uniform in (0, 1), never 0 or 1, from 24 random bits.
REMASK_HD float uniform(uint32_t key, int64_t index) {
  uint32_t h = hash32(key ^ (static_cast<uint32_t>(index) * 0x9E3779B9u));
  return (static_cast<float>(h >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

REMASK_HD float gumbel(uint32_t key, int64_t index) { return -logf(-logf(uniform(key, index))); }

// The logit the rule sees: the guided combination U + (s + 1)(C - U), in LLaDA's order of operations.
REMASK_HD float combined_logit(const float* cond, const float* uncond, int64_t v, const SampleParams& p) {
  return p.guided ? uncond[v] + (p.cfg_scale + 1.0f) * (cond[v] - uncond[v]) : cond[v];
}

// The commit order of a block's positions: larger confidence first, NaN as -inf, ties to the lower
// index (as a stable sort of torch.topk's inputs gives).
REMASK_HD float rank_key(float confidence) { return confidence != confidence ? -INFINITY : confidence; }
REMASK_HD bool ranks_before(float a, int64_t i, float b, int64_t j) { return a > b || (a == b && i < j); }

// How many masked positions a step commits: k (and every further one at or above the threshold), at
// most as many as are masked.
REMASK_HD int64_t fresh_commits(int64_t k, int64_t masked, int64_t above_threshold) {
  int64_t wanted = k > above_threshold ? k : above_threshold;
  return wanted < masked ? wanted : masked;
}

// WINO's draft (Feng-Hong/WINO-DLLM, LLaDA/decoding.py): the masked positions whose confidence is above
// the wide threshold, capped at min(max(int(masked * 0.7), 5), 20) (the most confident), and at least the
// most confident one.
REMASK_HD int64_t wino_accepts(int64_t masked, int64_t above_wide) {
  int64_t cap = static_cast<int64_t>(static_cast<double>(masked) * 0.7);
  cap = cap < 5 ? 5 : cap > 20 ? 20 : cap;
  return above_wide > cap ? cap : above_wide > 0 ? above_wide : 1;
}

// WINO's verify: how many committed positions go back to the mask. Only after a draft of more than one;
// those below the narrow threshold, or, when they are last_accept or more (the previous step's draft),
// the last_accept - 1 least confident.
REMASK_HD int64_t wino_remasks(int64_t accepted, int64_t below_narrow, int64_t last_accept) {
  if (accepted <= 1) return 0;
  return below_narrow >= last_accept ? last_accept - 1 : below_narrow;
}

// ReMDM's re-masking probability of committed position i (kuleshov-group/remdm, diffusion.py): with weighted
// (remdm-conf), softmax over the block's committed positions of minus their confidence, times sigma_max =
// min(cap, (1 - alpha_s) / alpha_t) for the step's masked fractions before (t) and after (s), alpha = 1 -
// fraction; otherwise (remdm-loop) cap itself. weight = exp(-c_i - shift) / total, computed by the caller.
REMASK_HD double remdm_sigma(bool weighted, double cap, double weight, double t, double s) {
  if (!weighted) return cap;
  double alpha_t = 1 - t, alpha_s = 1 - s;
  double sigma_max = alpha_t > 0 ? (1 - alpha_s) / alpha_t : cap;
  return weight * (sigma_max < cap ? sigma_max : cap);
}

// The uniform draw that decides whether ReMDM masks block position i again at a step: the sampler's noise
// with its own index (vocab + 1), so it is independent of the token draws of the same row.
REMASK_HD float remdm_uniform(uint64_t seed, uint64_t step, int64_t i, int64_t vocab) {
  return uniform(row_key(seed, step, i), vocab + 1);
}

// Dream's `origin` draw for block position i: whether it commits at a step (below p_transfer), on its own index.
REMASK_HD float origin_uniform(uint64_t seed, uint64_t step, int64_t i, int64_t vocab) {
  return uniform(row_key(seed, step, i), vocab + 2);
}

// Dream's alg_temp draw for block position i: the Gumbel noise added to its tempered confidence.
REMASK_HD float position_gumbel(uint64_t seed, uint64_t step, int64_t i, int64_t vocab) {
  return gumbel(row_key(seed, step, i), vocab + 3);
}

// Running statistics of one row, mergeable in any order (the CUDA kernel reduces them in a tree).
// max/sum/weighted give softmax and entropy in one pass: sum = Σ e^(l-max), weighted = Σ e^(l-max)(l-max).
struct RowState {
  float max = -INFINITY;
  double sum = 0;
  double weighted = 0;
  float best_key = -INFINITY;  // noised logit of the candidate x0
  int64_t best = -1;
  float top1 = -INFINITY;  // two largest un-noised logits, for the margin rule
  float top2 = -INFINITY;

  REMASK_HD void add_to_softmax(float l) {
    if (l == -INFINITY) return;
    if (l > max) {
      double scale = sum == 0 ? 0.0 : exp(static_cast<double>(max) - l);
      weighted = sum == 0 ? 0.0 : scale * (weighted + (static_cast<double>(max) - l) * sum);
      sum *= scale;
      max = l;
    }
    double d = static_cast<double>(l) - max;
    double e = exp(d);
    sum += e;
    weighted += e * d;
  }

  // The largest key wins; ties go to the lower index, as torch.argmax does.
  REMASK_HD void add_candidate(float key, int64_t v) {
    if (best < 0 || key > best_key || (key == best_key && v < best)) {
      best_key = key;
      best = v;
    }
  }

  REMASK_HD void add_top2(float l) {
    if (l > top1) {
      top2 = top1;
      top1 = l;
    } else if (l > top2) {
      top2 = l;
    }
  }

  REMASK_HD void merge(const RowState& o) {
    if (o.sum != 0) {
      if (sum == 0) {
        max = o.max;
        sum = o.sum;
        weighted = o.weighted;
      } else {
        float m = max > o.max ? max : o.max;
        double a = exp(static_cast<double>(max) - m), b = exp(static_cast<double>(o.max) - m);
        weighted = a * (weighted + (static_cast<double>(max) - m) * sum) +
                   b * (o.weighted + (static_cast<double>(o.max) - m) * o.sum);
        sum = a * sum + b * o.sum;
        max = m;
      }
    }
    if (o.best >= 0) add_candidate(o.best_key, o.best);
    add_top2(o.top1);
    add_top2(o.top2);
  }

  REMASK_HD void visit(float l, int64_t v, int64_t row, const SampleParams& p) {
    if (p.eos_logit_off && v == p.eos_id) return;
    add_to_softmax(l);
    if (v == p.mask_id || !(l > -INFINITY)) return;  // the mask id, -inf and NaN are never x0
    float key = p.temperature > 0 ? l * (1.0f / p.temperature) + gumbel(row_key(p.seed, p.step, row), v) : l;
    add_candidate(key, v);
    if (p.rule == kMargin) add_top2(l);
  }

  // Softmax probability of a token given its logit (the row's statistics over its whole vocabulary).
  REMASK_HD float probability(float logit) const {
    return sum == 0 ? 0.0f : static_cast<float>(exp(static_cast<double>(logit) - max) / sum);
  }

  // Confidence of x0 given its un-noised logit, by the rule.
  REMASK_HD float confidence(float x0_logit, int64_t row, const SampleParams& p) const {
    float c;
    switch (p.rule) {
      case kRandom:
        c = uniform(row_key(p.seed, p.step, row), p.vocab);
        break;
      case kMargin:
        c = static_cast<float>((exp(static_cast<double>(top1) - max) -
                                (top2 == -INFINITY ? 0.0 : exp(static_cast<double>(top2) - max))) / sum);
        break;
      case kEntropy:
        c = static_cast<float>(weighted / sum - log(sum));
        break;
      default:
        c = static_cast<float>(exp(static_cast<double>(x0_logit) - max) / sum);
    }
    if (p.eos_confidence_off && (best == p.eos_id || best == p.eot_id)) c = -INFINITY;
    return c;
  }
};

}  // namespace remask

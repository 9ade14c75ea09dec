#include <stdexcept>
#include <string>

#include "sampling_cuda.h"

namespace remask {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxCommitThreads = 1024;

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// One thread block per row: each thread folds a strided slice of the vocabulary into a RowState,
// then the states merge in a tree. One read of the logits; no softmax tensor.
__global__ void sample_kernel(const float* logits, int64_t rows, SampleParams p, int64_t* x0, float* confidence) {
  __shared__ RowState states[kThreads];
  int64_t row = blockIdx.x;
  const float* cond = logits + row * p.vocab;
  const float* uncond = p.guided ? logits + (rows + row) * p.vocab : nullptr;
  RowState state;
  for (int64_t v = threadIdx.x; v < p.vocab; v += blockDim.x) state.visit(combined_logit(cond, uncond, v, p), v, row, p);
  states[threadIdx.x] = state;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) states[threadIdx.x].merge(states[threadIdx.x + stride]);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const RowState& total = states[0];
    int64_t best = total.best < 0 ? p.mask_id : total.best;
    x0[row] = best;
    confidence[row] = total.best < 0 ? -INFINITY : total.confidence(combined_logit(cond, uncond, best, p), row, p);
  }
}

// One thread block for the whole block of positions. A candidate's rank is the number of candidates
// ahead of it (higher confidence, or equal and lower index); rank < take commits. Block lengths are
// small (tens to a few thousand), so quadratic ranks cost less than a sort's launches.
__global__ void commit_kernel(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                              const float* confidence, int64_t mask_id, int64_t block_begin, int64_t n,
                              int64_t k, double threshold, int64_t* positions, int64_t* committed,
                              int64_t* count) {
  extern __shared__ unsigned char selected[];
  __shared__ unsigned long long candidates;
  __shared__ unsigned long long above;
  if (threadIdx.x == 0) candidates = above = 0;
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (tokens[block_begin + i] != mask_id) continue;
    atomicAdd(&candidates, 1ull);
    if (rank_key(confidence[i]) >= threshold) atomicAdd(&above, 1ull);
  }
  __syncthreads();
  int64_t take = fresh_commits(k, static_cast<int64_t>(candidates), static_cast<int64_t>(above));
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    selected[i] = 0;
    if (tokens[block_begin + i] != mask_id) continue;
    float mine = rank_key(confidence[i]);
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i || tokens[block_begin + j] != mask_id) continue;
      float other = rank_key(confidence[j]);
      if (ranks_before(other, j, mine, i)) ++rank;
    }
    selected[i] = rank < take;
  }
  __syncthreads();
  // Output slots in position order: a chosen position's slot is the number chosen before it.
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (!selected[i]) continue;
    int64_t slot = 0;
    for (int64_t j = 0; j < i; ++j) slot += selected[j];
    positions[slot] = block_begin + i;
    committed[slot] = x0[i];
  }
  __syncthreads();  // every read of tokens above happens before the writes below
  for (int64_t i = threadIdx.x; i < take; i += blockDim.x)
    for (int64_t b = 0; b < batch; ++b) tokens[b * length + positions[i]] = committed[i];
  if (threadIdx.x == 0) *count = take;
}

// commit_edit's edits: one thread per block position, each on its own position only.
__global__ void edit_kernel(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence,
                            int64_t mask_id, int64_t block_begin, int64_t block_length, double edit_threshold,
                            int64_t* edit_tokens) {
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= block_length) return;
  int64_t held = tokens[block_begin + i];
  bool edit = held != mask_id && x0[i] != held && x0[i] != mask_id && confidence[i] > edit_threshold;
  edit_tokens[i] = edit ? x0[i] : -1;
  if (edit) {
    for (int64_t b = 0; b < batch; ++b) tokens[b * length + block_begin + i] = x0[i];
  }
}

// RCR's commit (sampling.h's commit_running), as commit_kernel: one thread block, quadratic ranks.
// flags[i]: bit 0 the position was masked at the step's start, bit 1 it is kept.
__global__ void commit_running_kernel(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                                      const float* confidence, float* running, int64_t mask_id,
                                      int64_t block_begin, int64_t n, int64_t k, double threshold,
                                      int64_t* positions, int64_t* committed, int64_t* remasked, int64_t* counts) {
  extern __shared__ unsigned char flags[];
  __shared__ unsigned long long masked_count;
  __shared__ unsigned long long above;
  if (threadIdx.x == 0) masked_count = above = 0;
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    flags[i] = tokens[block_begin + i] == mask_id;
    if (!flags[i]) continue;
    running[i] = confidence[i];
    atomicAdd(&masked_count, 1ull);
    if (rank_key(confidence[i]) >= threshold) atomicAdd(&above, 1ull);
  }
  __syncthreads();
  int64_t masked = static_cast<int64_t>(masked_count);
  int64_t keep = (n - masked) + fresh_commits(k, masked, static_cast<int64_t>(above));
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    float mine = rank_key(running[i]);
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j) rank += ranks_before(rank_key(running[j]), j, mine, i);
    if (rank < keep) flags[i] |= 2;
  }
  __syncthreads();
  // A position changes when kept == masked: it takes x0 (kept, was masked) or the mask (dropped, was not).
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    bool was_masked = flags[i] & 1, kept = flags[i] & 2;
    if (kept != was_masked) continue;
    int64_t slot = 0;
    for (int64_t j = 0; j < i; ++j) slot += (flags[j] & 1) == was_masked && ((flags[j] & 2) != 0) == kept;
    if (was_masked) {
      positions[slot] = block_begin + i;
      committed[slot] = x0[i];
    } else {
      remasked[slot] = block_begin + i;
    }
    for (int64_t b = 0; b < batch; ++b) tokens[b * length + block_begin + i] = was_masked ? x0[i] : mask_id;
  }
  if (threadIdx.x == 0) {
    int64_t added = 0, dropped = 0;
    for (int64_t j = 0; j < n; ++j) {
      bool was_masked = flags[j] & 1, kept = flags[j] & 2;
      added += was_masked && kept;
      dropped += !was_masked && !kept;
    }
    counts[0] = added;
    counts[1] = dropped;
  }
}

// ReMDM's step (sampling.h's commit_remdm), one thread block. flags[i]: bit 0 masked at the step's start,
// bit 1 masked again now, bit 2 takes x0. The block-wide sums run on thread 0 (blocks are short).
__global__ void remdm_kernel(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence,
                             float* running, int64_t mask_id, int64_t vocab, int64_t block_begin, int64_t n, int64_t k,
                             double threshold, bool weighted, double sigma, uint64_t seed, uint64_t step,
                             int64_t* positions, int64_t* committed, int64_t* remasked, int64_t* counts) {
  extern __shared__ unsigned char flags[];
  __shared__ double shift, total;
  __shared__ int64_t masked, fresh, take;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) flags[i] = tokens[block_begin + i] == mask_id;
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t above = 0;
    masked = 0;
    shift = INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      if (flags[i] & 1) {
        ++masked;
        above += rank_key(confidence[i]) >= threshold;
      } else if (running[i] < shift) {
        shift = running[i];
      }
    }
    total = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!(flags[i] & 1)) total += exp(-(running[i] - shift));
    fresh = k == 0 ? 0 : fresh_commits(k, masked, above);
  }
  __syncthreads();
  double t_now = static_cast<double>(masked) / n, s_next = static_cast<double>(masked - fresh) / n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (flags[i] & 1) continue;
    double p = remdm_sigma(weighted, sigma, exp(-(running[i] - shift)) / total, t_now, s_next);
    if (remdm_uniform(seed, step, i, vocab) < p) flags[i] |= 2;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; ++i) dropped += (flags[i] & 2) != 0;
    int64_t wanted = fresh + dropped;
    take = wanted == 0 ? 0 : wanted < masked ? wanted : masked;
    counts[1] = dropped;
    counts[0] = take;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (!(flags[i] & 1)) continue;
    float mine = rank_key(confidence[i]);
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j)
      if (flags[j] & 1) rank += ranks_before(rank_key(confidence[j]), j, mine, i);
    if (rank < take) flags[i] |= 4;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    bool added = flags[i] & 4, dropped = flags[i] & 2;
    if (!added && !dropped) continue;
    int64_t slot = 0;
    for (int64_t j = 0; j < i; ++j) slot += added ? (flags[j] & 4) != 0 : (flags[j] & 2) != 0;
    if (added) {
      positions[slot] = block_begin + i;
      committed[slot] = x0[i];
      running[i] = confidence[i];
    } else {
      remasked[slot] = block_begin + i;
    }
    for (int64_t b = 0; b < batch; ++b) tokens[b * length + block_begin + i] = added ? x0[i] : mask_id;
  }
}

// WINO's verify probabilities: one thread block per position of the block; a committed position's row of
// the shadow logits gives the probability of its token (a masked one's is not needed).
__global__ void shadow_kernel(const int64_t* tokens, const float* shadow_logits, int64_t vocab, int64_t mask_id,
                              float* shadow) {
  __shared__ RowState states[kThreads];
  int64_t i = blockIdx.x;
  int64_t token = tokens[i];
  if (token == mask_id) return;  // the whole thread block leaves together
  const float* row = shadow_logits + i * vocab;
  RowState state;
  for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) state.add_to_softmax(row[v]);
  states[threadIdx.x] = state;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) states[threadIdx.x].merge(states[threadIdx.x + stride]);
    __syncthreads();
  }
  if (threadIdx.x == 0) shadow[i] = states[0].probability(row[token]);
}

// WINO's draft and verify (sampling.h's commit_wino), as commit_running_kernel: one thread block,
// quadratic ranks; flags[i]: bit 0 masked at the step's start, bit 1 it changes.
__global__ void wino_kernel(int64_t* tokens, const int64_t* x0, const float* confidence, const float* shadow,
                            int64_t mask_id, int64_t n, double wide, double narrow, int64_t last_accept,
                            int64_t block_begin, int64_t* positions, int64_t* committed, int64_t* remasked,
                            int64_t* counts) {
  extern __shared__ unsigned char flags[];
  __shared__ unsigned long long masked_count, above, below;
  if (threadIdx.x == 0) masked_count = above = below = 0;
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    flags[i] = tokens[i] == mask_id;
    if (flags[i]) {
      atomicAdd(&masked_count, 1ull);
      if (rank_key(confidence[i]) > wide) atomicAdd(&above, 1ull);
    } else if (shadow[i] < narrow) {
      atomicAdd(&below, 1ull);
    }
  }
  __syncthreads();
  int64_t accepted = wino_accepts(static_cast<int64_t>(masked_count), static_cast<int64_t>(above));
  int64_t dropped = wino_remasks(accepted, static_cast<int64_t>(below), last_accept);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    bool was_masked = flags[i] & 1;
    float mine = was_masked ? rank_key(confidence[i]) : -rank_key(shadow[i]);
    int64_t rank = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (static_cast<bool>(flags[j] & 1) != was_masked) continue;
      rank += ranks_before(was_masked ? rank_key(confidence[j]) : -rank_key(shadow[j]), j, mine, i);
    }
    if (rank < (was_masked ? accepted : dropped)) flags[i] |= 2;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (!(flags[i] & 2)) continue;
    bool was_masked = flags[i] & 1;
    int64_t slot = 0;
    for (int64_t j = 0; j < i; ++j) slot += (flags[j] & 2) && static_cast<bool>(flags[j] & 1) == was_masked;
    if (was_masked) {
      positions[slot] = block_begin + i;
      committed[slot] = x0[i];
    } else {
      remasked[slot] = block_begin + i;
    }
    tokens[i] = was_masked ? x0[i] : mask_id;
  }
  if (threadIdx.x == 0) {
    counts[0] = accepted < static_cast<int64_t>(masked_count) ? accepted : static_cast<int64_t>(masked_count);
    counts[1] = dropped;
  }
}

// The counts (two int64 at scratch + 3 * n), then the positions and tokens, device to host.
std::pair<int64_t, int64_t> copy_revised(const int64_t* scratch, int64_t n, int64_t* positions, int64_t* committed,
                                         int64_t* remasked, cudaStream_t stream) {
  int64_t host[2] = {0, 0};
  check(cudaMemcpyAsync(host, scratch + 3 * n, sizeof host, cudaMemcpyDeviceToHost, stream), "revising commit counts");
  check(cudaStreamSynchronize(stream), "revising commit");
  if (host[0] > 0) {
    check(cudaMemcpyAsync(positions, scratch, sizeof(int64_t) * host[0], cudaMemcpyDeviceToHost, stream),
          "revising commit positions");
    check(cudaMemcpyAsync(committed, scratch + n, sizeof(int64_t) * host[0], cudaMemcpyDeviceToHost, stream),
          "revising commit tokens");
  }
  if (host[1] > 0) {
    check(cudaMemcpyAsync(remasked, scratch + 2 * n, sizeof(int64_t) * host[1], cudaMemcpyDeviceToHost, stream),
          "revising commit re-masked positions");
  }
  check(cudaStreamSynchronize(stream), "revising commit");
  return {host[0], host[1]};
}

}  // namespace

void sample(const float* logits, int64_t rows, const SampleParams& params, int64_t* x0, float* confidence,
            cudaStream_t stream) {
  if (rows == 0) return;
  sample_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, rows, params, x0, confidence);
  check(cudaGetLastError(), "sample kernel launch");
}

int64_t commit(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence,
               int64_t mask_id, int64_t block_begin, int64_t block_length, int64_t k, double threshold,
               int64_t* scratch, int64_t* positions, int64_t* committed, cudaStream_t stream) {
  int threads = block_length < kMaxCommitThreads ? static_cast<int>(block_length) : kMaxCommitThreads;
  threads = (threads + 31) / 32 * 32;
  commit_kernel<<<1, threads, static_cast<size_t>(block_length), stream>>>(
      tokens, batch, length, x0, confidence, mask_id, block_begin, block_length, k, threshold, scratch,
      scratch + block_length, scratch + 2 * block_length);
  check(cudaGetLastError(), "commit kernel launch");
  // The count first, then only as many positions and tokens as were committed.
  int64_t count = 0;
  check(cudaMemcpyAsync(&count, scratch + 2 * block_length, sizeof(int64_t), cudaMemcpyDeviceToHost, stream),
        "commit count");
  check(cudaStreamSynchronize(stream), "commit");
  if (count > 0) {
    check(cudaMemcpyAsync(positions, scratch, sizeof(int64_t) * count, cudaMemcpyDeviceToHost, stream),
          "commit positions");
    check(cudaMemcpyAsync(committed, scratch + block_length, sizeof(int64_t) * count, cudaMemcpyDeviceToHost,
                          stream),
          "commit tokens");
    check(cudaStreamSynchronize(stream), "commit");
  }
  return count;
}

void edit(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence, int64_t mask_id,
          int64_t block_begin, int64_t block_length, double edit_threshold, int64_t* scratch, int64_t* edit_tokens,
          cudaStream_t stream) {
  unsigned blocks = static_cast<unsigned>((block_length + kThreads - 1) / kThreads);
  edit_kernel<<<blocks, kThreads, 0, stream>>>(tokens, batch, length, x0, confidence, mask_id, block_begin,
                                               block_length, edit_threshold, scratch);
  check(cudaGetLastError(), "edit kernel launch");
  check(cudaMemcpyAsync(edit_tokens, scratch, sizeof(int64_t) * block_length, cudaMemcpyDeviceToHost, stream),
        "edited tokens");
  check(cudaStreamSynchronize(stream), "edit");
}

std::pair<int64_t, int64_t> commit_running(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                                           const float* confidence, float* running, int64_t mask_id,
                                           int64_t block_begin, int64_t block_length, int64_t k, double threshold,
                                           int64_t* scratch, int64_t* positions, int64_t* committed,
                                           int64_t* remasked, cudaStream_t stream) {
  int threads = block_length < kMaxCommitThreads ? static_cast<int>(block_length) : kMaxCommitThreads;
  threads = (threads + 31) / 32 * 32;
  commit_running_kernel<<<1, threads, static_cast<size_t>(block_length), stream>>>(
      tokens, batch, length, x0, confidence, running, mask_id, block_begin, block_length, k, threshold, scratch,
      scratch + block_length, scratch + 2 * block_length, scratch + 3 * block_length);
  check(cudaGetLastError(), "revising commit kernel launch");
  return copy_revised(scratch, block_length, positions, committed, remasked, stream);
}

std::pair<int64_t, int64_t> commit_remdm(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                                         const float* confidence, float* running, int64_t mask_id, int64_t vocab,
                                         int64_t block_begin, int64_t block_length, int64_t k, double threshold,
                                         bool weighted, double sigma, uint64_t seed, uint64_t step, int64_t* scratch,
                                         int64_t* positions, int64_t* committed, int64_t* remasked,
                                         cudaStream_t stream) {
  int threads = block_length < kMaxCommitThreads ? static_cast<int>(block_length) : kMaxCommitThreads;
  threads = (threads + 31) / 32 * 32;
  remdm_kernel<<<1, threads, static_cast<size_t>(block_length), stream>>>(
      tokens, batch, length, x0, confidence, running, mask_id, vocab, block_begin, block_length, k, threshold,
      weighted, sigma, seed, step, scratch, scratch + block_length, scratch + 2 * block_length,
      scratch + 3 * block_length);
  check(cudaGetLastError(), "remdm kernel launch");
  return copy_revised(scratch, block_length, positions, committed, remasked, stream);
}

std::pair<int64_t, int64_t> commit_wino(int64_t* tokens, const float* logits, int64_t vocab, const int64_t* x0,
                                        const float* confidence, float* shadow, int64_t mask_id, int64_t block_begin,
                                        int64_t block_length, double wide, double narrow, int64_t last_accept,
                                        int64_t* scratch, int64_t* positions, int64_t* committed, int64_t* remasked,
                                        cudaStream_t stream) {
  shadow_kernel<<<static_cast<unsigned>(block_length), kThreads, 0, stream>>>(
      tokens + block_begin, logits + block_length * vocab, vocab, mask_id, shadow);
  check(cudaGetLastError(), "shadow kernel launch");
  int threads = block_length < kMaxCommitThreads ? static_cast<int>(block_length) : kMaxCommitThreads;
  threads = (threads + 31) / 32 * 32;
  wino_kernel<<<1, threads, static_cast<size_t>(block_length), stream>>>(
      tokens + block_begin, x0, confidence, shadow, mask_id, block_length, wide, narrow, last_accept, block_begin,
      scratch, scratch + block_length, scratch + 2 * block_length, scratch + 3 * block_length);
  check(cudaGetLastError(), "wino kernel launch");
  return copy_revised(scratch, block_length, positions, committed, remasked, stream);
}

}  // namespace cuda
}  // namespace remask

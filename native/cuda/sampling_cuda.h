// CUDA versions of the fused sampler and the masked commit. Plain pointers and a stream, no libtorch,
// so nvcc compiles them without a CUDA libtorch; src/sampling.cpp calls them for CUDA tensors.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "../src/sampling_math.h"

namespace remask {
namespace cuda {

// logits: [rows or 2*rows, vocab] fp32 on the device; x0, confidence: [rows] on the device.
void sample(const float* logits, int64_t rows, const SampleParams& params, int64_t* x0, float* confidence,
            cudaStream_t stream);

// tokens: int64 [batch, length] on the device; scratch: 2 * block_length + 1 int64 (or more) on the device.
// Host arrays positions/committed hold block_length entries. Returns the number committed; waits
// for the stream.
int64_t commit(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence,
               int64_t mask_id, int64_t block_begin, int64_t block_length, int64_t k, double threshold,
               int64_t* scratch, int64_t* positions, int64_t* committed, cudaStream_t stream);

// The edits of sampling.h's commit_edit: every block position holding a token whose x0 differs from it (and is
// not the mask id) with confidence above edit_threshold takes x0 in every row. scratch: block_length int64 on the
// device; the host array edit_tokens (block_length entries) gets x0 where a position was edited, else -1. Waits
// for the stream.
void edit(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0, const float* confidence, int64_t mask_id,
          int64_t block_begin, int64_t block_length, double edit_threshold, int64_t* scratch, int64_t* edit_tokens,
          cudaStream_t stream);

// RCR's commit (sampling.h's commit_running); running: fp32 [block_length] on the device; scratch: 3 *
// block_length + 2 int64 on the device; host arrays of block_length entries. Returns (committed,
// re-masked); waits for the stream.
std::pair<int64_t, int64_t> commit_running(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                                           const float* confidence, float* running, int64_t mask_id,
                                           int64_t block_begin, int64_t block_length, int64_t k, double threshold,
                                           int64_t* scratch, int64_t* positions, int64_t* committed,
                                           int64_t* remasked, cudaStream_t stream);

// ReMDM's step (sampling.h's commit_remdm); arguments as commit_running's. Returns (committed, re-masked).
std::pair<int64_t, int64_t> commit_remdm(int64_t* tokens, int64_t batch, int64_t length, const int64_t* x0,
                                         const float* confidence, float* running, int64_t mask_id, int64_t vocab,
                                         int64_t block_begin, int64_t block_length, int64_t k, double threshold,
                                         bool weighted, double sigma, uint64_t seed, uint64_t step, int64_t* scratch,
                                         int64_t* positions, int64_t* committed, int64_t* remasked,
                                         cudaStream_t stream);

// WINO's step (sampling.h's commit_wino): tokens [1, length] on the device; logits [2 * block_length, vocab]
// (the block's rows, then the shadow's); shadow: fp32 [block_length] on the device; scratch and host arrays
// as commit_running's. Returns (committed, re-masked); waits for the stream.
std::pair<int64_t, int64_t> commit_wino(int64_t* tokens, const float* logits, int64_t vocab, const int64_t* x0,
                                        const float* confidence, float* shadow, int64_t mask_id, int64_t block_begin,
                                        int64_t block_length, double wide, double narrow, int64_t last_accept,
                                        int64_t* scratch, int64_t* positions, int64_t* committed, int64_t* remasked,
                                        cudaStream_t stream);

}  // namespace cuda
}  // namespace remask

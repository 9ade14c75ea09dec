// A linear layer's weight W [out, in], applied as x W^T (+ bias): dense in the compute dtype, or int8.
#pragma once

#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

namespace remask {

class Linear {
 public:
  Linear() = default;
  // Dense: torch::linear in the weight's dtype.
  explicit Linear(torch::Tensor weight) : weight_(std::move(weight)) {}
  // int8 weights, symmetric per output channel (scale = max |W_row| / 127), run by libtorch's dynamic int8 GEMM
  // on oneDNN: float32 in and out, the input quantized per call (per tensor, asymmetric, in int8_activation_bits()
  // bits). CPU only. weight: float32 [out, in] on the CPU.
  static Linear int8(const torch::Tensor& weight);
  // The bits int8 products quantize their input to on this CPU: 8 with VNNI (AVX512-VNNI or AVX-VNNI), else 7.
  // Without VNNI oneDNN multiplies uint8 by int8 with vpmaddubsw, whose int16 sum of two products saturates
  // beyond 32767: 8-bit inputs overflow it (3x the error on the golden model), 7-bit ones (127 * 127 * 2) cannot.
  static int int8_activation_bits();

  bool defined() const { return weight_.defined() || packed_; }
  // x: [..., in] in the compute dtype (float32 for int8); bias: [out] or undefined.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& bias = {}) const;
  // Whether operator()(x) runs on oneDNN's sgemm: an AVX-512 CPU, dense float32 weights, at least 192 rows of x
  // (linear.cpp), no gradient to record. False where libremask was built without oneDNN's header.
  bool on_onednn(const torch::Tensor& x) const;
  // Parameters and the bytes they occupy (int8: 1 a weight, plus a float64 scale per output channel).
  int64_t parameters() const;
  int64_t bytes() const;

 private:
  torch::Tensor weight_;                                 // dense: [out, in]
  c10::intrusive_ptr<LinearPackedParamsBase> packed_;    // int8
  int64_t out_ = 0, in_ = 0;                             // int8's shape
};

}  // namespace remask

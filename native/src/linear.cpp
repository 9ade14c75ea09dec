#include "linear.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <cstring>

#include "error.h"

namespace remask {

Linear Linear::int8(const torch::Tensor& weight) {
  if (!weight.device().is_cpu()) throw invalid_argument("int8 weights run on the cpu only (libtorch's oneDNN int8 GEMM)");
  // oneDNN's engine: Debian's libtorch has no fbgemm, and qnnpack's kernels are written for ARM.
  if (at::globalContext().qEngine() != at::QEngine::ONEDNN) at::globalContext().setQEngine(at::QEngine::ONEDNN);
  torch::Tensor w = weight.to(torch::kFloat32).contiguous();
  // An all-zero row keeps scale 1: any scale quantizes it to zeros.
  torch::Tensor max = w.abs().amax(1);
  torch::Tensor scales = torch::where(max > 0, max / 127.0, torch::ones_like(max)).to(torch::kFloat64);
  torch::Tensor zeros = torch::zeros({w.size(0)}, torch::kInt64);
  torch::Tensor quantized = at::quantize_per_channel(w, scales, zeros, 0, torch::kQInt8);
  static auto prepack = c10::Dispatcher::singleton()
                            .findSchemaOrThrow("quantized::linear_prepack", "")
                            .typed<c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>)>();
  Linear linear;
  linear.packed_ = prepack.call(quantized, c10::nullopt);
  // libtorch's PackedLinearWeightsOnednn keeps the int8 tensor it packed (for unpack(), which remask never calls)
  // beside oneDNN's reordered copy: freeing its storage makes a weight cost 1 byte instead of 2. Checked, not
  // assumed: the int8 values are zeroed first and a probe product must not change, as it would if the packed
  // weights were that tensor.
  torch::Tensor probe = torch::randn({1, w.size(1)});
  torch::Tensor before = linear.packed_->apply_dynamic(probe, /*reduce_range=*/false);
  std::memset(quantized.data_ptr(), 0, static_cast<size_t>(quantized.numel()));
  if (!torch::equal(before, linear.packed_->apply_dynamic(probe, /*reduce_range=*/false)))
    throw Error(REMASK_ERR_RUNTIME, "oneDNN's packed int8 weights share the quantized tensor's memory; "
                                    "this libtorch's int8 layout is not the one remask was built for");
  quantized.storage().unsafeGetStorageImpl()->reset();
  linear.out_ = w.size(0);
  linear.in_ = w.size(1);
  return linear;
}

torch::Tensor Linear::operator()(const torch::Tensor& x, const torch::Tensor& bias) const {
  if (!packed_) return torch::linear(x, weight_, bias);
  torch::Tensor y = packed_->apply_dynamic(x, /*reduce_range=*/false);
  return bias.defined() ? y + bias : y;
}

int64_t Linear::parameters() const { return packed_ ? out_ * in_ : weight_.numel(); }

int64_t Linear::bytes() const {
  if (!packed_) return weight_.numel() * static_cast<int64_t>(weight_.element_size());
  return out_ * in_ + out_ * static_cast<int64_t>(sizeof(double));  // oneDNN's packed int8 and the scales
}

}  // namespace remask

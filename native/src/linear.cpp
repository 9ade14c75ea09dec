#include "linear.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include "error.h"

namespace remask {

Linear Linear::int8(const torch::Tensor& weight) {
  if (!weight.device().is_cpu()) throw invalid_argument("int8 weights run on the cpu only (libtorch's oneDNN int8 GEMM)");
  // oneDNN's engine: Debian's libtorch has no fbgemm; qnnpack's int8 GEMM ran 30x slower here.
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
  return 2 * out_ * in_ + out_ * static_cast<int64_t>(sizeof(double));
}

}  // namespace remask

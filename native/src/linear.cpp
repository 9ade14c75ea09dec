#include "linear.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <cstring>
#ifdef REMASK_WITH_ONEDNN
#include <dnnl.h>
#endif

#include "error.h"

namespace remask {

int Linear::int8_activation_bits() {
  static const int bits = __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni") ? 8 : 7;
  return bits;
}

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
  torch::Tensor before = linear.packed_->apply_dynamic(probe, /*reduce_range=*/int8_activation_bits() == 7);
  std::memset(quantized.data_ptr(), 0, static_cast<size_t>(quantized.numel()));
  if (!torch::equal(before, linear.packed_->apply_dynamic(probe, /*reduce_range=*/int8_activation_bits() == 7)))
    throw Error(REMASK_ERR_RUNTIME, "oneDNN's packed int8 weights share the quantized tensor's memory; "
                                    "this libtorch's int8 layout is not the one remask was built for");
  quantized.storage().unsafeGetStorageImpl()->reset();
  linear.out_ = w.size(0);
  linear.in_ = w.size(1);
  return linear;
}

#ifdef REMASK_WITH_ONEDNN
namespace {

// From this many rows on, and on a CPU with AVX-512, a float32 product runs on oneDNN's sgemm (libdnnl, which
// libtorch itself loads) instead of libtorch's BLAS (OpenBLAS). At the trunk's shapes, 2 threads
// (bench/sgemm_onednn.py): on an AVX-512 EPYC oneDNN is 1.25-1.4x faster at 256-288 rows, about even at 160-192
// and slower below (2.3x at 32 rows); on an AVX2-only EPYC it is 0.8-1.07x OpenBLAS's rate at 288 rows.
constexpr int64_t kOnednnMinRows = 192;
const bool kAvx512 = __builtin_cpu_supports("avx512f");

// x W^T with x [rows, in] and W [out, in], both contiguous float32 on the CPU, into a new [rows, out].
torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& weight) {
  const int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  torch::Tensor y = torch::empty({rows, out}, x.options());
  dnnl_status_t status = dnnl_sgemm('N', 'T', rows, out, in, 1.0f, x.data_ptr<float>(), in, weight.data_ptr<float>(),
                                    in, 0.0f, y.data_ptr<float>(), out);
  if (status != dnnl_success) throw Error(REMASK_ERR_RUNTIME, "oneDNN's sgemm failed with status " + std::to_string(status));
  return y;
}

}  // namespace
#endif

bool Linear::on_onednn(const torch::Tensor& x) const {
#ifdef REMASK_WITH_ONEDNN
  // Inference only: the trainer's forward needs autograd through torch::linear.
  return kAvx512 && weight_.defined() && weight_.scalar_type() == torch::kFloat32 && weight_.device().is_cpu() &&
         weight_.is_contiguous() && x.scalar_type() == torch::kFloat32 && x.device().is_cpu() && x.size(-1) > 0 &&
         x.numel() / x.size(-1) >= kOnednnMinRows && !(at::GradMode::is_enabled() && (x.requires_grad() || weight_.requires_grad()));
#else
  (void)x;
  return false;
#endif
}

torch::Tensor Linear::operator()(const torch::Tensor& x, const torch::Tensor& bias) const {
#ifdef REMASK_WITH_ONEDNN
  if (on_onednn(x)) {
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = weight_.size(0);
    torch::Tensor y = onednn_linear(x.reshape({-1, x.size(-1)}).contiguous(), weight_).view(shape);
    return bias.defined() ? y.add_(bias) : y;
  }
#endif
  if (!packed_) return torch::linear(x, weight_, bias);
  torch::Tensor y = packed_->apply_dynamic(x, /*reduce_range=*/int8_activation_bits() == 7);
  return bias.defined() ? y + bias : y;
}

int64_t Linear::parameters() const { return packed_ ? out_ * in_ : weight_.numel(); }

int64_t Linear::bytes() const {
  if (!packed_) return weight_.numel() * static_cast<int64_t>(weight_.element_size());
  return out_ * in_ + out_ * static_cast<int64_t>(sizeof(double));  // oneDNN's packed int8 and the scales
}

}  // namespace remask

// The only place C meets C++: handles, argument checks, and every exception turned into a status.
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "error.h"
#include "model.h"
#include "remask.h"
#include "sampling.h"

namespace remask {
namespace {

thread_local std::string last_error = "no error";

int32_t fail(int32_t status, const char* message) {
  last_error = message;
  return status;
}

// libtorch allocates each step's CPU temporaries afresh (MBs each), and glibc's malloc by default gives such blocks
// back to the OS when freed (munmap, trimming an arena's top, unmapping a thread arena's heap once all free), so
// every step page-faulted them in again: from the JVM, a float32 generation of the d_model 1024 trunk took 12.7-15.8 s
// against 6.5-7.1 s with memory kept (540k-950k page faults against 43k; bench/results/cpu-2026-12-01/malloc.txt).
// Blocks up to glibc's 32 MiB ceiling now come from the arenas and freed memory stays for the next step (the process
// keeps its peak, as jemalloc or tcmalloc would). A MALLOC_*_ variable or a glibc.malloc tunable in the environment
// means the user chose: then nothing changes.
void keep_freed_memory() {
#ifdef __GLIBC__
  static std::once_flag once;
  std::call_once(once, [] {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_") ||
        (tunables && std::strstr(tunables, "glibc.malloc.")))
      return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    mallopt(M_TOP_PAD, 64 << 20);  // what keeps a thread arena's free heaps mapped
  });
#endif
}

// What buffers need to know of the model they were made for.
struct Vocabulary {
  int64_t size;
  int64_t mask_id;
  int64_t eos_id;
};

// Device-resident data handed out through the ABI.
struct Buffer {
  enum class Kind { Tokens, Logits, Samples, Cache };
  Kind kind;
  torch::Tensor tensor;               // tokens: int64 [rows, cols]; logits: fp32 [rows, vocab]
  std::shared_ptr<Samples> samples;  // samples only
  Vocabulary vocab;
  std::shared_ptr<KvCache> cache;    // cache only
  uintptr_t owner = 0;               // cache only: the handle of the model whose keys and values it holds
};

Vocabulary vocabulary_of(const Model& model) {
  const Config& c = model.config();
  return Vocabulary{c.vocab_size, c.mask_token_id, c.eos_token_id};
}

// Handles are never-reused numbers, not pointers: a stale or doubled handle finds nothing, and a
// call in flight keeps its object alive through the shared_ptr even if another thread frees it.
template <typename T>
class Registry {
 public:
  template <typename Handle>
  Handle* add(std::shared_ptr<T> object) {
    std::lock_guard<std::mutex> lock(mutex_);
    uintptr_t id = next_++;
    objects_.emplace(id, std::move(object));
    return reinterpret_cast<Handle*>(id);
  }

  std::shared_ptr<T> get(const void* handle, const char* what) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = objects_.find(reinterpret_cast<uintptr_t>(handle));
    if (it == objects_.end()) throw Error(REMASK_ERR_CLOSED, std::string(what) + " is closed or not a valid handle");
    return it->second;
  }

  void remove(const void* handle, const char* what) {
    std::shared_ptr<T> released;  // destroyed after the lock is let go
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = objects_.find(reinterpret_cast<uintptr_t>(handle));
    if (it == objects_.end()) throw Error(REMASK_ERR_CLOSED, std::string(what) + " was already freed or is not a valid handle");
    released = std::move(it->second);
    objects_.erase(it);
  }

 private:
  std::mutex mutex_;
  uintptr_t next_ = 1;
  std::unordered_map<uintptr_t, std::shared_ptr<T>> objects_;
};

Registry<Model>& models() {
  static Registry<Model> registry;
  return registry;
}

Registry<Buffer>& buffers() {
  static Registry<Buffer> registry;
  return registry;
}

void require(bool condition, const std::string& message) {
  if (!condition) throw invalid_argument(message);
}

std::string text_argument(const char* value, const char* name) {
  require(value != nullptr, std::string(name) + " is NULL");
  return value;
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  std::string index;
  if (name == "cuda") index = "0";
  else if (name.rfind("cuda:", 0) == 0) index = name.substr(5);
  else throw invalid_argument("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
  require(!index.empty() && index.size() < 4 && index.find_first_not_of("0123456789") == std::string::npos,
          "unknown device '" + name + "' (use cpu, cuda or cuda:N)");
  int64_t ordinal = std::stoll(index);
  int64_t available = static_cast<int64_t>(torch::cuda::device_count());
  if (available == 0) throw invalid_argument("device " + name + " requested, but no CUDA device is available to this libtorch");
  require(ordinal < available, "device " + name + " requested, but only " + std::to_string(available) + " CUDA device(s) exist");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(ordinal));
}

// The compute dtype and how the linears' weights are held: "int8" is int8 weights computing in float32.
std::pair<torch::ScalarType, WeightFormat> parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "f32") return {torch::kFloat32, WeightFormat::Dense};
  if (name == "bfloat16" || name == "bf16") return {torch::kBFloat16, WeightFormat::Dense};
  if (name == "float16" || name == "fp16" || name == "half") return {torch::kFloat16, WeightFormat::Dense};
  if (name == "int8") return {torch::kFloat32, WeightFormat::Int8};
  throw invalid_argument("unknown dtype '" + name + "' (use float32, bfloat16, float16 or int8)");
}

void check_range(const Buffer& buffer, int64_t offset, int64_t count, const void* host) {
  int64_t size = buffer.tensor.numel();
  require(offset >= 0 && count >= 0 && offset <= size && count <= size - offset,
          "range [" + std::to_string(offset) + ", " + std::to_string(offset + count) +
              ") is outside a buffer of " + std::to_string(size) + " elements");
  require(count == 0 || host != nullptr, "host pointer is NULL");
}

std::shared_ptr<Buffer> buffer_of(const void* handle, Buffer::Kind kind) {
  static const char* names[] = {"token", "logits", "samples", "cache"};
  std::shared_ptr<Buffer> buffer = buffers().get(handle, "buffer");
  require(buffer->kind == kind, std::string("expected a ") + names[static_cast<int>(kind)] + " buffer");
  return buffer;
}

void read_to_host(const torch::Tensor& tensor, int64_t offset, int64_t count, void* out) {
  if (count == 0) return;
  torch::Tensor slice = tensor.view(-1).narrow(0, offset, count).to(torch::kCPU).contiguous();
  std::memcpy(out, slice.data_ptr(), static_cast<size_t>(count) * slice.element_size());
}

// A forward's model and buffers, checked against each other; rows = logits rows it writes.
struct Forward {
  std::shared_ptr<Model> model;
  std::shared_ptr<Buffer> tokens, logits;
  int64_t rows;
};

Forward forward_of(const void* model, const void* tokens, const void* logits, int64_t row_begin, int64_t row_end) {
  Forward f{models().get(model, "model"), buffer_of(tokens, Buffer::Kind::Tokens), buffer_of(logits, Buffer::Kind::Logits), 0};
  const Config& c = f.model->config();
  int64_t batch = f.tokens->tensor.size(0), length = f.tokens->tensor.size(1);
  require(f.tokens->tensor.device() == f.model->device() && f.logits->tensor.device() == f.model->device(),
          "buffers live on another device than the model");
  require(f.tokens->vocab.size == c.vocab_size && f.logits->vocab.size == c.vocab_size,
          "buffers were made for a model with another vocabulary");
  require(length <= c.max_sequence_length, "sequence length " + std::to_string(length) +
                                               " exceeds the model's maximum of " +
                                               std::to_string(c.max_sequence_length));
  require(0 <= row_begin && row_begin < row_end && row_end <= length,
          "rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
              ") are not a non-empty range of a sequence of " + std::to_string(length));
  f.rows = batch * (row_end - row_begin);
  require(f.logits->tensor.size(0) >= f.rows, "logits buffer holds " + std::to_string(f.logits->tensor.size(0)) +
                                                  " rows; this forward needs " + std::to_string(f.rows));
  return f;
}

// The checks every commit shares; returns the tokens and samples buffers.
std::pair<std::shared_ptr<Buffer>, std::shared_ptr<Buffer>> commit_buffers(const remask_buffer* tokens,
                                                                             const remask_buffer* samples,
                                                                             int64_t block_begin, int64_t block_end,
                                                                             int64_t k, double threshold,
                                                                             int64_t capacity, int64_t min_k = 1) {
  std::shared_ptr<Buffer> t = buffer_of(tokens, Buffer::Kind::Tokens);
  std::shared_ptr<Buffer> s = buffer_of(samples, Buffer::Kind::Samples);
  int64_t length = t->tensor.size(1);
  require(0 <= block_begin && block_begin < block_end && block_end <= length,
          "block [" + std::to_string(block_begin) + ", " + std::to_string(block_end) +
              ") is not a non-empty range of a sequence of " + std::to_string(length));
  int64_t n = block_end - block_begin;
  require(n <= s->samples->capacity(), "samples buffer holds " + std::to_string(s->samples->capacity()) +
                                           " rows; the block has " + std::to_string(n));
  require(capacity >= n, "output arrays hold " + std::to_string(capacity) + " entries; the block has " +
                             std::to_string(n));
  require(k >= min_k, "a step commits at least " + std::string(min_k == 1 ? "one token" : "no token") + " (k = " +
                         std::to_string(k) + ")");
  require(!std::isnan(threshold), "threshold is NaN");
  require(t->tensor.device() == s->samples->x0.device(), "buffers live on different devices");
  return {t, s};
}

// The outputs of a revising commit (committed positions and tokens, re-masked positions, both counts):
// checked, and the counts zeroed, before any work, so that a failed call reports nothing.
void revision_outputs(const int64_t* positions, const int64_t* committed, const int64_t* remasked, int64_t* count,
                      int64_t* remasked_count) {
  require(count != nullptr && remasked_count != nullptr && positions != nullptr && committed != nullptr &&
              remasked != nullptr,
          "output pointer is NULL");
  *count = *remasked_count = 0;
}

// The cache buffer, checked against the model and the tokens it is to hold.
std::shared_ptr<Buffer> cache_for(const Forward& f, const void* model, const remask_buffer* cache) {
  std::shared_ptr<Buffer> c = buffer_of(cache, Buffer::Kind::Cache);
  require(c->owner == reinterpret_cast<uintptr_t>(model), "the cache was made for another model");
  const torch::Tensor& kept = c->cache->layers.front().keys;
  require(kept.size(0) == f.tokens->tensor.size(0) && kept.size(2) == f.tokens->tensor.size(1),
          "the cache holds [" + std::to_string(kept.size(0)) + ", " + std::to_string(kept.size(2)) +
              "] positions, the tokens are [" + std::to_string(f.tokens->tensor.size(0)) + ", " +
              std::to_string(f.tokens->tensor.size(1)) + "]");
  return c;
}

void require_computed(const Forward& f, int64_t begin, int64_t end, int64_t row_begin, int64_t row_end) {
  require(0 <= begin && begin <= row_begin && row_end <= end && end <= f.tokens->tensor.size(1),
          "positions [" + std::to_string(begin) + ", " + std::to_string(end) + ") must lie in the sequence and hold rows [" +
              std::to_string(row_begin) + ", " + std::to_string(row_end) + ")");
}

}  // namespace
}  // namespace remask

using namespace remask;

// Every entry point's body runs inside these; nothing thrown escapes to the C caller.
#define API_BEGIN() try {
#define API_END()                                                   \
  }                                                                 \
  catch (const remask::Error& e) {                                  \
    return fail(e.status(), e.what());                              \
  }                                                                 \
  catch (const c10::Error& e) {                                     \
    return fail(REMASK_ERR_RUNTIME, e.what_without_backtrace());    \
  }                                                                 \
  catch (const std::bad_alloc&) {                                   \
    return fail(REMASK_ERR_RUNTIME, "out of memory");               \
  }                                                                 \
  catch (const std::exception& e) {                                 \
    return fail(REMASK_ERR_RUNTIME, e.what());                      \
  }                                                                 \
  catch (...) {                                                     \
    return fail(REMASK_ERR_RUNTIME, "unknown native error");        \
  }                                                                 \
  return REMASK_OK;

extern "C" {

const char* remask_last_error(void) { return last_error.c_str(); }

int32_t remask_version(char* out, int64_t capacity) {
  API_BEGIN()
  require(out != nullptr && capacity > 0, "output buffer is NULL or empty");
  std::string text = std::string("remask ") + REMASK_VERSION + "; libtorch " + TORCH_VERSION +
                     "; cuda " + (torch::cuda::is_available() ? "yes" : "no");
  // Which OpenBLAS build libtorch's float32 GEMMs run on (CMakeLists.txt's RPATH picks the OpenMP one).
  using Text = char* (*)();
  if (auto config = reinterpret_cast<Text>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) text += "; blas " + std::string(config());
  size_t n = std::min(text.size(), static_cast<size_t>(capacity - 1));
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
  API_END()
}

int32_t remask_threads_set(int32_t threads) {
  API_BEGIN()
  require(threads >= 1, "threads must be at least 1, not " + std::to_string(threads));
  at::set_num_threads(threads);
  API_END()
}

int32_t remask_threads_get(int32_t* out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = static_cast<int32_t>(at::get_num_threads());
  API_END()
}

int32_t remask_cuda_device_count(int32_t* out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = static_cast<int32_t>(torch::cuda::device_count());
  API_END()
}

int32_t remask_model_load(const char* directory, const char* device, const char* dtype, remask_model** out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = nullptr;
  std::string dir = text_argument(directory, "directory");
  torch::Device where = parse_device(text_argument(device, "device"));
  auto [type, format] = parse_dtype(text_argument(dtype, "dtype"));
  // libtorch's CPU kernels lack float16 matmuls, and its int8 GEMM is the CPU's: refused here rather than at the
  // first forward.
  require(!(where.is_cpu() && type == torch::kFloat16), "float16 runs on cuda only; on the cpu use float32 or bfloat16");
  require(!(where.is_cuda() && format == WeightFormat::Int8),
          "int8 runs on the cpu only (libtorch's oneDNN int8 GEMM); on cuda use bfloat16");
  if (where.is_cpu()) keep_freed_memory();
  *out = models().add<remask_model>(std::make_shared<Model>(dir, where, type, format));
  API_END()
}

int32_t remask_model_info_get(const remask_model* model, remask_model_info* out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  std::shared_ptr<Model> m = models().get(model, "model");
  const Config& c = m->config();
  *out = remask_model_info{c.vocab_size,      c.mask_token_id,          c.eos_token_id,         c.d_model,
                           c.n_layers,        c.n_heads,                c.n_kv_heads,           c.mlp_hidden_size,
                           c.max_sequence_length, m->parameter_count(), m->weight_bytes(),
                           static_cast<int64_t>(c.family), c.n_experts, c.experts_per_token,
                           m->weight_format() == WeightFormat::Int8 ? Linear::int8_activation_bits() : 0};
  API_END()
}

int32_t remask_model_free(remask_model* model) {
  API_BEGIN()
  if (model != nullptr) models().remove(model, "model");
  API_END()
}

int32_t remask_tokens_new(const remask_model* model, int64_t rows, int64_t cols, remask_buffer** out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = nullptr;
  std::shared_ptr<Model> m = models().get(model, "model");
  const Config& c = m->config();
  require(rows > 0 && cols > 0, "a token buffer needs at least one row and one column");
  require(cols <= c.max_sequence_length, "sequence length " + std::to_string(cols) +
                                             " exceeds the model's maximum of " +
                                             std::to_string(c.max_sequence_length));
  auto options = torch::TensorOptions().dtype(torch::kInt64).device(m->device());
  auto buffer = std::make_shared<Buffer>(
      Buffer{Buffer::Kind::Tokens, torch::full({rows, cols}, c.mask_token_id, options), nullptr, vocabulary_of(*m),
             nullptr, 0});
  *out = buffers().add<remask_buffer>(std::move(buffer));
  API_END()
}

int32_t remask_tokens_write(remask_buffer* tokens, int64_t offset, const int64_t* ids, int64_t count) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(tokens, Buffer::Kind::Tokens);
  check_range(*b, offset, count, ids);
  for (int64_t i = 0; i < count; ++i)
    require(ids[i] >= 0 && ids[i] < b->vocab.size, "token id " + std::to_string(ids[i]) + " at index " +
                                                       std::to_string(i) + " is outside the vocabulary [0, " +
                                                       std::to_string(b->vocab.size) + ")");
  if (count == 0) return REMASK_OK;
  torch::Tensor host = torch::from_blob(const_cast<int64_t*>(ids), {count}, torch::kInt64);
  b->tensor.view(-1).narrow(0, offset, count).copy_(host);
  API_END()
}

int32_t remask_tokens_read(const remask_buffer* tokens, int64_t offset, int64_t* ids, int64_t count) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(tokens, Buffer::Kind::Tokens);
  check_range(*b, offset, count, ids);
  read_to_host(b->tensor, offset, count, ids);
  API_END()
}

int32_t remask_logits_new(const remask_model* model, int64_t rows, remask_buffer** out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = nullptr;
  std::shared_ptr<Model> m = models().get(model, "model");
  require(rows > 0, "a logits buffer needs at least one row");
  int64_t vocab = m->config().vocab_size;
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(m->device());
  auto buffer =
      std::make_shared<Buffer>(Buffer{Buffer::Kind::Logits, torch::zeros({rows, vocab}, options), nullptr,
                                      vocabulary_of(*m), nullptr, 0});
  *out = buffers().add<remask_buffer>(std::move(buffer));
  API_END()
}

int32_t remask_logits_read(const remask_buffer* logits, int64_t offset, float* out, int64_t count) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(logits, Buffer::Kind::Logits);
  check_range(*b, offset, count, out);
  read_to_host(b->tensor, offset, count, out);
  API_END()
}

int32_t remask_logits_write(remask_buffer* logits, int64_t offset, const float* values, int64_t count) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(logits, Buffer::Kind::Logits);
  check_range(*b, offset, count, values);
  if (count == 0) return REMASK_OK;
  torch::Tensor host = torch::from_blob(const_cast<float*>(values), {count}, torch::kFloat32);
  b->tensor.view(-1).narrow(0, offset, count).copy_(host);
  API_END()
}

int32_t remask_samples_new(const remask_model* model, int64_t rows, remask_buffer** out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = nullptr;
  std::shared_ptr<Model> m = models().get(model, "model");
  require(rows > 0, "a samples buffer needs at least one row");
  auto buffer = std::make_shared<Buffer>(
      Buffer{Buffer::Kind::Samples, torch::Tensor(), std::make_shared<Samples>(rows, m->device()), vocabulary_of(*m),
             nullptr, 0});
  *out = buffers().add<remask_buffer>(std::move(buffer));
  API_END()
}

int32_t remask_samples_read(const remask_buffer* samples, int64_t rows, int64_t* x0, float* confidence) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(samples, Buffer::Kind::Samples);
  require(rows >= 0 && rows <= b->samples->capacity(),
          "cannot read " + std::to_string(rows) + " rows of a samples buffer of " +
              std::to_string(b->samples->capacity()));
  require(rows == 0 || (x0 != nullptr && confidence != nullptr), "host pointer is NULL");
  read_to_host(b->samples->x0, 0, rows, x0);
  read_to_host(b->samples->confidence, 0, rows, confidence);
  API_END()
}

int32_t remask_sample(const remask_buffer* logits, int64_t rows, int32_t guided, double cfg_scale,
                      double temperature, int32_t rule, int32_t flags, int64_t eot_id, uint64_t seed, uint64_t step,
                      remask_buffer* samples) {
  API_BEGIN()
  std::shared_ptr<Buffer> l = buffer_of(logits, Buffer::Kind::Logits);
  std::shared_ptr<Buffer> s = buffer_of(samples, Buffer::Kind::Samples);
  int64_t needed = guided ? 2 * rows : rows;
  require(rows > 0 && needed <= l->tensor.size(0),
          "cannot sample " + std::to_string(rows) + (guided ? " guided rows" : " rows") + " from a logits buffer of " +
              std::to_string(l->tensor.size(0)));
  require(rows <= s->samples->capacity(), "samples buffer holds " + std::to_string(s->samples->capacity()) +
                                              " rows; this step needs " + std::to_string(rows));
  require(l->tensor.device() == s->samples->x0.device(), "buffers live on different devices");
  require(std::isfinite(temperature) && temperature >= 0, "temperature must be a finite number >= 0");
  require(std::isfinite(cfg_scale) && cfg_scale >= 0, "cfg scale must be a finite number >= 0");
  require(rule >= REMASK_RULE_LOW_CONFIDENCE && rule <= REMASK_RULE_ENTROPY, "unknown remasking rule " + std::to_string(rule));
  require((flags & ~(REMASK_SAMPLE_EOS_LOGIT_OFF | REMASK_SAMPLE_EOS_CONFIDENCE_OFF)) == 0,
          "unknown sample flags " + std::to_string(flags));
  require(eot_id >= -1 && eot_id < l->vocab.size, "EoT id " + std::to_string(eot_id) + " is outside the vocabulary");
  SampleParams params{l->vocab.size,
                      l->vocab.mask_id,
                      l->vocab.eos_id,
                      eot_id,
                      static_cast<float>(cfg_scale),
                      guided != 0,
                      static_cast<float>(temperature),
                      rule,
                      (flags & REMASK_SAMPLE_EOS_LOGIT_OFF) != 0,
                      (flags & REMASK_SAMPLE_EOS_CONFIDENCE_OFF) != 0,
                      seed,
                      step};
  sample(l->tensor, rows, params, *s->samples);
  API_END()
}

int32_t remask_commit(remask_buffer* tokens, const remask_buffer* samples, int64_t block_begin, int64_t block_end,
                      int64_t k, double threshold, int64_t* positions, int64_t* committed, int64_t capacity,
                      int64_t* count) {
  API_BEGIN()
  require(count != nullptr && positions != nullptr && committed != nullptr, "output pointer is NULL");
  *count = 0;
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, k, threshold, capacity, 0);
  *count = commit(t->tensor, *s->samples, t->vocab.mask_id, block_begin, block_end, k, threshold, positions, committed);
  API_END()
}

int32_t remask_commit_origin(remask_buffer* tokens, const remask_buffer* samples, int64_t block_begin,
                             int64_t block_end, double p_transfer, uint64_t seed, uint64_t step, const float* uniforms,
                             int64_t* positions, int64_t* committed, int64_t capacity, int64_t* count) {
  API_BEGIN()
  require(count != nullptr && positions != nullptr && committed != nullptr, "output pointer is NULL");
  *count = 0;
  require(p_transfer >= 0 && p_transfer <= 1, "p_transfer must lie in [0, 1], not " + std::to_string(p_transfer));
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, 0, INFINITY, capacity, 0);
  *count = commit_origin(t->tensor, *s->samples, t->vocab.mask_id, t->vocab.size, block_begin, block_end, p_transfer,
                         seed, step, uniforms, positions, committed);
  API_END()
}

int32_t remask_samples_gumbel(remask_buffer* samples, int64_t rows, double alg_temp, uint64_t seed, uint64_t step) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(samples, Buffer::Kind::Samples);
  require(rows >= 1 && rows <= b->samples->capacity(),
          "rows " + std::to_string(rows) + " outside a samples buffer of " + std::to_string(b->samples->capacity()));
  require(alg_temp > 0 && std::isfinite(alg_temp), "alg_temp must be above 0, not " + std::to_string(alg_temp));
  gumbel_confidence(*b->samples, rows, alg_temp, seed, step, b->vocab.size);
  API_END()
}

int32_t remask_logits_truncate(remask_buffer* logits, int64_t rows, double top_p, int64_t top_k) {
  API_BEGIN()
  std::shared_ptr<Buffer> b = buffer_of(logits, Buffer::Kind::Logits);
  require(rows >= 1 && rows <= b->tensor.size(0), "rows " + std::to_string(rows) + " outside a logits buffer of " +
                                                       std::to_string(b->tensor.size(0)));
  require(top_p > 0 && !std::isnan(top_p), "top_p must be above 0, not " + std::to_string(top_p));
  require(top_k >= 0, "top_k must be 0 (off) or at least 1, not " + std::to_string(top_k));
  truncate(b->tensor, rows, top_p, top_k);
  API_END()
}

int32_t remask_commit_rcr(remask_buffer* tokens, remask_buffer* samples, int64_t block_begin, int64_t block_end,
                          int64_t k, double threshold, int64_t* positions, int64_t* committed, int64_t* remasked,
                          int64_t capacity, int64_t* count, int64_t* remasked_count) {
  API_BEGIN()
  revision_outputs(positions, committed, remasked, count, remasked_count);
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, k, threshold, capacity);
  Revised done = commit_running(t->tensor, *s->samples, t->vocab.mask_id, block_begin, block_end, k, threshold,
                                positions, committed, remasked);
  *count = done.committed;
  *remasked_count = done.remasked;
  API_END()
}

int32_t remask_commit_edit(remask_buffer* tokens, remask_buffer* samples, int64_t block_begin, int64_t block_end,
                           int64_t k, double threshold, double edit_threshold, int64_t* positions, int64_t* committed,
                           int64_t* edited, int64_t capacity, int64_t* count, int64_t* edited_count) {
  API_BEGIN()
  revision_outputs(positions, committed, edited, count, edited_count);
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, k, threshold, capacity, 0);
  require(edit_threshold >= 0 && edit_threshold < 1, "edit_threshold must lie in [0, 1), not " +
                                                         std::to_string(edit_threshold));
  Edited done = commit_edit(t->tensor, *s->samples, t->vocab.mask_id, block_begin, block_end, k, threshold,
                            edit_threshold, positions, committed, edited);
  *count = done.committed;
  *edited_count = done.edited;
  API_END()
}

int32_t remask_commit_remdm(remask_buffer* tokens, remask_buffer* samples, int64_t block_begin, int64_t block_end,
                            int64_t k, double threshold, int32_t weighted, double sigma, uint64_t seed, uint64_t step,
                            int64_t* positions, int64_t* committed, int64_t* remasked, int64_t capacity, int64_t* count,
                            int64_t* remasked_count) {
  API_BEGIN()
  revision_outputs(positions, committed, remasked, count, remasked_count);
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, k, threshold, capacity, 0);
  require(sigma >= 0 && !std::isinf(sigma), "sigma must be a finite number >= 0, not " + std::to_string(sigma));
  Revised done = commit_remdm(t->tensor, *s->samples, t->vocab.mask_id, t->vocab.size, block_begin, block_end, k,
                              threshold, weighted != 0, sigma, seed, step, positions, committed, remasked);
  *count = done.committed;
  *remasked_count = done.remasked;
  API_END()
}

int32_t remask_commit_wino(remask_buffer* tokens, remask_buffer* samples, const remask_buffer* logits,
                           int64_t block_begin, int64_t block_end, double wide, double narrow, int64_t last_accept,
                           int64_t* positions, int64_t* committed, int64_t* remasked, int64_t capacity, int64_t* count,
                           int64_t* remasked_count) {
  API_BEGIN()
  revision_outputs(positions, committed, remasked, count, remasked_count);
  auto [t, s] = commit_buffers(tokens, samples, block_begin, block_end, 1, INFINITY, capacity);
  std::shared_ptr<Buffer> l = buffer_of(logits, Buffer::Kind::Logits);
  int64_t n = block_end - block_begin;
  require(t->tensor.size(0) == 1, "a shadow step works on one sequence, not " + std::to_string(t->tensor.size(0)));
  require(l->tensor.size(0) >= 2 * n, "logits buffer holds " + std::to_string(l->tensor.size(0)) +
                                          " rows; a shadow step reads " + std::to_string(2 * n));
  require(l->tensor.device() == t->tensor.device(), "buffers live on different devices");
  require(wide >= 0 && wide <= 1 && narrow >= 0 && narrow <= 1, "thresholds must lie in [0, 1]");
  require(last_accept >= 1, "the previous step's draft is at least one token");
  Revised done = commit_wino(t->tensor, *s->samples, l->tensor, t->vocab.mask_id, block_begin, block_end, wide,
                             narrow, last_accept, positions, committed, remasked);
  *count = done.committed;
  *remasked_count = done.remasked;
  API_END()
}

int32_t remask_buffer_free(remask_buffer* buffer) {
  API_BEGIN()
  if (buffer != nullptr) buffers().remove(buffer, "buffer");
  API_END()
}

int32_t remask_forward(remask_model* model, const remask_buffer* tokens, int64_t row_begin, int64_t row_end,
                       remask_buffer* logits) {
  API_BEGIN()
  Forward f = forward_of(model, tokens, logits, row_begin, row_end);
  f.logits->tensor.narrow(0, 0, f.rows).copy_(f.model->forward(f.tokens->tensor, row_begin, row_end));
  API_END()
}

int32_t remask_forward_batch(remask_model* model, int64_t count, const remask_buffer* const* tokens,
                             remask_buffer* const* caches, const int64_t* begin, const int64_t* end,
                             const int64_t* row_begin, const int64_t* row_end, remask_buffer* const* logits) {
  API_BEGIN()
  require(count > 0, "a batch needs at least one generation, not " + std::to_string(count));
  require(tokens != nullptr && begin != nullptr && end != nullptr && row_begin != nullptr && row_end != nullptr &&
              logits != nullptr,
          "a batch's arrays must not be NULL (caches may be)");
  std::vector<Forward> forwards;
  std::vector<std::shared_ptr<Buffer>> kept;  // holds the caches while the forward runs
  std::vector<Model::Part> parts;
  for (int64_t i = 0; i < count; ++i) {
    Forward f = forward_of(model, tokens[i], logits[i], row_begin[i], row_end[i]);
    require(f.model->config().family != Family::Llada2, std::string(architecture_name(f.model->config().family)) +
                                                   " runs block-causally: its forwards are not batched");
    require_computed(f, begin[i], end[i], row_begin[i], row_end[i]);
    KvCache* cache = nullptr;
    if (caches != nullptr && caches[i] != nullptr) {
      kept.push_back(cache_for(f, model, caches[i]));
      cache = kept.back()->cache.get();
    } else {
      require(begin[i] == 0 && end[i] == f.tokens->tensor.size(1),
              "without a cache a generation's forward covers its whole sequence");
    }
    parts.push_back({f.tokens->tensor, cache, begin[i], end[i], row_begin[i], row_end[i]});
    forwards.push_back(std::move(f));
  }
  torch::Tensor out = forwards.front().model->forward_ragged(parts);
  int64_t at = 0;
  for (Forward& f : forwards) {
    f.logits->tensor.narrow(0, 0, f.rows).copy_(out.narrow(0, at, f.rows));
    at += f.rows;
  }
  API_END()
}

int32_t remask_forward_shadow(remask_model* model, const remask_buffer* tokens, int64_t block_begin,
                              int64_t block_end, remask_buffer* logits) {
  API_BEGIN()
  Forward f = forward_of(model, tokens, logits, block_begin, block_end);
  f.rows *= 2;
  require(f.logits->tensor.size(0) >= f.rows, "logits buffer holds " + std::to_string(f.logits->tensor.size(0)) +
                                                  " rows; a shadow forward needs " + std::to_string(f.rows));
  f.logits->tensor.narrow(0, 0, f.rows).copy_(f.model->forward_shadow(f.tokens->tensor, block_begin, block_end));
  API_END()
}

int32_t remask_cache_new(const remask_model* model, int64_t batch, int64_t length, remask_buffer** out) {
  API_BEGIN()
  require(out != nullptr, "output pointer is NULL");
  *out = nullptr;
  std::shared_ptr<Model> m = models().get(model, "model");
  require(batch > 0 && length > 0, "a cache needs at least one sequence of one position");
  require(length <= m->config().max_sequence_length, "sequence length " + std::to_string(length) +
                                                         " exceeds the model's maximum of " +
                                                         std::to_string(m->config().max_sequence_length));
  auto buffer = std::make_shared<Buffer>(Buffer{Buffer::Kind::Cache, torch::Tensor(), nullptr, vocabulary_of(*m),
                                                std::make_shared<KvCache>(m->new_cache(batch, length)),
                                                reinterpret_cast<uintptr_t>(model)});
  *out = buffers().add<remask_buffer>(std::move(buffer));
  API_END()
}

int32_t remask_forward_cached(remask_model* model, const remask_buffer* tokens, remask_buffer* cache, int64_t begin,
                              int64_t end, int64_t row_begin, int64_t row_end, remask_buffer* logits) {
  API_BEGIN()
  Forward f = forward_of(model, tokens, logits, row_begin, row_end);
  std::shared_ptr<Buffer> c = cache_for(f, model, cache);
  require_computed(f, begin, end, row_begin, row_end);
  f.logits->tensor.narrow(0, 0, f.rows)
      .copy_(f.model->forward_cached(f.tokens->tensor, *c->cache, begin, end, row_begin, row_end));
  API_END()
}

int32_t remask_forward_blocks(remask_model* model, const remask_buffer* tokens, remask_buffer* cache,
                              int64_t block_length, int64_t begin, int64_t end, int64_t row_begin, int64_t row_end,
                              remask_buffer* logits) {
  API_BEGIN()
  Forward f = forward_of(model, tokens, logits, row_begin, row_end);
  std::shared_ptr<Buffer> c = cache == nullptr ? nullptr : cache_for(f, model, cache);
  require(block_length >= 1, "block length must be at least 1, not " + std::to_string(block_length));
  require_computed(f, begin, end, row_begin, row_end);
  require(c != nullptr || begin == 0, "without a cache a block-causal forward computes from position 0");
  f.logits->tensor.narrow(0, 0, f.rows)
      .copy_(f.model->forward_blocks(f.tokens->tensor, c ? c->cache.get() : nullptr, block_length, begin, end,
                                     row_begin, row_end));
  API_END()
}

}  // extern "C"

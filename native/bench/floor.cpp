// remask_floor: how close a forward pass comes to this machine's own matrix-multiply rate.
//
//   remask_floor DIR [--tokens T] [--rows R] [--dtype float32|bfloat16] [--threads N]
//                    [--device cpu|cuda:N] [--runs N] [--iters N] [--warmup N] [--step] [--no-model]
//
// 1. The GEMM floor: every matrix product a forward of DIR's shape makes (the trunk's linears at T
//    tokens, attention's two batched products, the LM head on R rows) is timed alone through libtorch
//    (torch::linear / torch::matmul, as model.cpp calls them), best of --runs runs, in GFLOP/s.
//    floor ms = sum over the forward's products of FLOPs / measured rate of that shape: what a forward
//    would take if its products ran at their isolated rates and everything else were free.
// 2. The model: DIR is loaded through the C ABI (remask.h) and forwards of one sequence of T tokens
//    are timed (--warmup untimed, then --iters timed), LM head on the last R positions.
//    FLOPs are counted from DIR/config.json:
//      trunk     2 * T * (2 d^2 + 2 d kv + 3 d mlp) * layers     (kv = n_kv_heads * head_dim)
//      attention 4 * T^2 * d * layers                            (Q K^T and P V)
//      LM head   2 * R * d * vocab
//    MFU = floor ms / forward ms (= achieved GFLOP/s / the floor's GFLOP/s).
// 3. --step: one NFE as the engine runs it: forward + remask_sample (greedy, low confidence) + remask_commit
//    (k = 1) on the block of R rows, and the sampler calls alone.
//
// The thread count libtorch uses is set from --threads (default: std::thread::hardware_concurrency) and
// printed, with the BLAS library's own thread count where it is OpenBLAS.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "json.h"
#include "remask.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  int64_t tokens = 512;
  int64_t rows = -1;  // -1: every token
  std::string dtype = "float32";
  int threads = 0;    // 0: hardware concurrency
  std::string device = "cpu";
  int runs = 5;
  int iters = 5;
  int warmup = 2;
  bool step = false;
  bool no_model = false;
};

[[noreturn]] void usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "remask_floor: %s\n", problem.c_str());
  std::fprintf(stderr,
               "usage: remask_floor DIR [--tokens T] [--rows R] [--dtype float32|bfloat16] [--threads N]\n"
               "                        [--device cpu|cuda:N] [--runs N] [--iters N] [--warmup N] [--step] [--no-model]\n");
  std::exit(2);
}

int64_t positive(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || v < 1) usage(flag + " needs a positive integer, not '" + value + "'");
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--tokens") o.tokens = positive(a, value());
    else if (a == "--rows") o.rows = positive(a, value());
    else if (a == "--dtype") o.dtype = value();
    else if (a == "--threads") o.threads = static_cast<int>(positive(a, value()));
    else if (a == "--device") o.device = value();
    else if (a == "--runs") o.runs = static_cast<int>(positive(a, value()));
    else if (a == "--iters") o.iters = static_cast<int>(positive(a, value()));
    else if (a == "--warmup") o.warmup = static_cast<int>(std::strtol(value().c_str(), nullptr, 10));
    else if (a == "--step") o.step = true;
    else if (a == "--no-model") o.no_model = true;
    else if (a == "-h" || a == "--help") usage("");
    else if (!a.empty() && a[0] == '-') usage("unknown option " + a);
    else if (o.dir.empty()) o.dir = a;
    else usage("one checkpoint directory, not two ('" + o.dir + "', '" + a + "')");
  }
  if (o.dir.empty()) usage("no checkpoint directory given");
  if (o.rows < 0) o.rows = o.tokens;
  if (o.rows > o.tokens) usage("--rows cannot exceed --tokens");
  if (o.dtype == "bf16") o.dtype = "bfloat16";
  if (o.dtype == "fp32" || o.dtype == "f32") o.dtype = "float32";
  if (o.dtype != "float32" && o.dtype != "bfloat16") usage("--dtype is float32 or bfloat16");
  if (o.device == "cuda") o.device = "cuda:0";
  if (o.warmup < 0) o.warmup = 0;
  return o;
}

// The shape facts of config.json the FLOP count needs.
struct Shape {
  int64_t d = 0, layers = 0, heads = 0, kv_heads = 0, mlp = 0, vocab = 0;
  int64_t head_dim() const { return d / heads; }
};

Shape read_config(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  if (!in) usage("cannot read " + dir + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  remask::Json c = remask::Json::parse(text.str());
  auto integer = [&](const char* key, int64_t fallback) -> int64_t {
    const remask::Json* v = c.find(key);
    if (v == nullptr || !v->is_number()) {
      if (fallback >= 0) return fallback;
      usage(std::string("config.json has no numeric ") + key);
    }
    return v->as_int();
  };
  Shape s;
  s.d = integer("d_model", -1);
  s.layers = integer("n_layers", -1);
  s.heads = integer("n_heads", -1);
  s.kv_heads = integer("n_kv_heads", s.heads);
  s.mlp = integer("mlp_hidden_size", -1);
  s.vocab = integer("vocab_size", -1);
  return s;
}

bool is_cuda(const Options& o) { return o.device.rfind("cuda", 0) == 0; }

void sync(const Options& o) {
  if (is_cuda(o)) torch::cuda::synchronize();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One matrix product of the forward: count of them per forward, FLOPs of one, and the op that runs it.
struct Product {
  std::string name;
  double flops_each;
  int64_t per_forward;
  std::function<torch::Tensor()> op;
  double best_s = 0;  // measured: best time of one product
};

// Best of runs; each run repeats the op until it has taken about target seconds, and counts per op.
double best_time(const Options& o, const std::function<torch::Tensor()>& op, double target) {
  op();
  sync(o);
  auto t0 = Clock::now();
  op();
  sync(o);
  double one = std::max(seconds_since(t0), 1e-7);
  int reps = static_cast<int>(std::clamp(std::ceil(target / one), 1.0, 10000.0));
  double best = 1e300;
  for (int r = 0; r < o.runs; ++r) {
    sync(o);
    auto start = Clock::now();
    for (int i = 0; i < reps; ++i) op();
    sync(o);
    best = std::min(best, seconds_since(start) / reps);
  }
  return best;
}

void print_threads(const Options& o) {
  std::printf("threads: at::get_num_threads() = %d (set from --threads %d; hardware_concurrency %u), "
              "interop %d\n",
              at::get_num_threads(), o.threads, std::thread::hardware_concurrency(), at::get_num_interop_threads());
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const char* oblas = std::getenv("OPENBLAS_NUM_THREADS");
  std::printf("env: OMP_NUM_THREADS=%s OPENBLAS_NUM_THREADS=%s\n", omp ? omp : "(unset)", oblas ? oblas : "(unset)");
  using GetInt = int (*)();
  using GetText = char* (*)();
  auto get_threads = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto get_config = reinterpret_cast<GetText>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (get_threads != nullptr) {
    std::printf("blas: %s; openblas_get_num_threads() = %d\n", get_config ? get_config() : "OpenBLAS",
                get_threads());
  } else {
    std::printf("blas: no OpenBLAS symbols in the process\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.threads == 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(o.threads);

  char version[256];
  remask_version(version, sizeof version);
  std::printf("%s\n", version);
  if (is_cuda(o)) {
    if (!torch::cuda::is_available()) usage("--device " + o.device + " but this libtorch sees no CUDA device");
  }
  std::printf("device %s, dtype %s, %lld tokens, LM head on %lld rows\n", o.device.c_str(), o.dtype.c_str(),
              static_cast<long long>(o.tokens), static_cast<long long>(o.rows));
  print_threads(o);

  Shape s = read_config(o.dir);
  const int64_t T = o.tokens, R = o.rows, d = s.d, hd = s.head_dim(), kv = s.kv_heads * hd;
  std::printf("config.json: d_model %lld, layers %lld, heads %lld (kv %lld, head_dim %lld), mlp %lld, vocab %lld\n",
              (long long)d, (long long)s.layers, (long long)s.heads, (long long)s.kv_heads, (long long)hd,
              (long long)s.mlp, (long long)s.vocab);

  // FLOPs of one forward, from config.json.
  const double L = static_cast<double>(s.layers);
  const double trunk = 2.0 * T * (2.0 * d * d + 2.0 * d * kv + 3.0 * d * s.mlp) * L;
  const double attention = 4.0 * double(T) * T * d * L;
  const double head = 2.0 * double(R) * d * s.vocab;
  const double total = trunk + attention + head;
  std::printf("FLOPs per forward: trunk %.3f G + attention %.3f G + LM head %.3f G = %.3f GFLOP\n", trunk / 1e9,
              attention / 1e9, head / 1e9, total / 1e9);

  // 1. The GEMM floor.
  torch::Device device(o.device);
  torch::ScalarType dtype = o.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  double floor_s = 0, peak = 0;
  {
    c10::InferenceMode inference;  // the GEMM section only: the model's buffers are made as the engine makes them
    torch::manual_seed(1);
    torch::Tensor x_d = torch::randn({1, T, d}, opts);
    torch::Tensor x_mlp = torch::randn({1, T, s.mlp}, opts);
    torch::Tensor x_rows = torch::randn({R, d}, opts);
    torch::Tensor w_dd = torch::randn({d, d}, opts) * (1.0 / std::sqrt(double(d)));
    torch::Tensor w_kv = torch::randn({kv, d}, opts) * (1.0 / std::sqrt(double(d)));
    torch::Tensor w_up = torch::randn({s.mlp, d}, opts) * (1.0 / std::sqrt(double(d)));
    torch::Tensor w_down = torch::randn({d, s.mlp}, opts) * (1.0 / std::sqrt(double(s.mlp)));
    torch::Tensor w_head = torch::randn({s.vocab, d}, opts) * (1.0 / std::sqrt(double(d)));
    torch::Tensor q = torch::randn({1, s.heads, T, hd}, opts);
    torch::Tensor k = torch::randn({1, s.heads, T, hd}, opts);
    torch::Tensor p = torch::softmax(torch::randn({1, s.heads, T, T}, opts), -1);

    auto dims = [](int64_t m, int64_t kk, int64_t n) {
      return "[" + std::to_string(m) + "x" + std::to_string(kk) + "]x[" + std::to_string(kk) + "x" + std::to_string(n) + "]";
    };
    std::vector<Product> products;
    products.push_back({"q, attn_out " + dims(T, d, d), 2.0 * T * d * d, 2 * s.layers,
                        [&] { return torch::linear(x_d, w_dd); }});
    if (kv == d) {
      products.back().name = "q, k, v, attn_out " + dims(T, d, d);
      products.back().per_forward = 4 * s.layers;
    } else {
      products.push_back({"k, v " + dims(T, d, kv), 2.0 * T * d * kv, 2 * s.layers,
                          [&] { return torch::linear(x_d, w_kv); }});
    }
    products.push_back({"ff_proj, up_proj " + dims(T, d, s.mlp), 2.0 * T * d * s.mlp, 2 * s.layers,
                        [&] { return torch::linear(x_d, w_up); }});
    products.push_back({"ff_out " + dims(T, s.mlp, d), 2.0 * T * s.mlp * d, s.layers,
                        [&] { return torch::linear(x_mlp, w_down); }});
    products.push_back({"scores " + std::to_string(s.heads) + " x " + dims(T, hd, T), 2.0 * s.heads * T * hd * T,
                        s.layers, [&] { return torch::matmul(q, k.transpose(-2, -1)); }});
    products.push_back({"P V " + std::to_string(s.heads) + " x " + dims(T, T, hd), 2.0 * s.heads * T * T * hd,
                        s.layers, [&] { return torch::matmul(p, k); }});
    products.push_back({"LM head " + dims(R, d, s.vocab), 2.0 * R * d * s.vocab, 1,
                        [&] { return torch::linear(x_rows, w_head); }});

    const double target = is_cuda(o) ? 0.02 : 0.1;
    std::printf("\nGEMM rates through libtorch (%s, %s, best of %d runs of >= %.0f ms each)\n", o.dtype.c_str(),
                o.device.c_str(), o.runs, target * 1e3);
    std::printf("  %-48s %8s %10s %10s %6s\n", "product", "GFLOP", "best ms", "GFLOP/s", "count");
    for (Product& pr : products) {
      pr.best_s = best_time(o, pr.op, target);
      double rate = pr.flops_each / pr.best_s / 1e9;
      peak = std::max(peak, rate);
      floor_s += pr.best_s * pr.per_forward;
      std::printf("  %-48s %8.3f %10.3f %10.1f %6lld\n", pr.name.c_str(), pr.flops_each / 1e9, pr.best_s * 1e3, rate,
                  static_cast<long long>(pr.per_forward));
    }
  }
  double floor_rate = total / floor_s / 1e9;
  std::printf("GEMM floor of one forward: %.3f ms (%.1f GFLOP/s over its products); best single shape %.1f GFLOP/s\n",
              floor_s * 1e3, floor_rate, peak);
  // The GEMM operands went out of scope before the model comes in.
  sync(o);
  if (o.no_model) return 0;

  // 2. The model through the C ABI.
  auto check = [](int32_t status, const char* what) {
    if (status != REMASK_OK) {
      std::fprintf(stderr, "remask_floor: %s failed: %s\n", what, remask_last_error());
      std::exit(1);
    }
  };
  remask_model* model = nullptr;
  auto load0 = Clock::now();
  check(remask_model_load(o.dir.c_str(), o.device.c_str(), o.dtype.c_str(), &model), "remask_model_load");
  sync(o);
  double load_s = seconds_since(load0);
  remask_model_info info{};
  check(remask_model_info_get(model, &info), "remask_model_info_get");
  std::printf("\nmodel: %.1f M parameters, %.3f GB of weights, loaded in %.2f s\n", info.parameter_count / 1e6,
              info.weight_bytes / 1e9, load_s);
  if (T > info.max_sequence_length) usage("--tokens exceeds the model's max_sequence_length");

  remask_buffer *tokens = nullptr, *logits = nullptr, *samples = nullptr;
  check(remask_tokens_new(model, 1, T, &tokens), "remask_tokens_new");
  check(remask_logits_new(model, R, &logits), "remask_logits_new");
  check(remask_samples_new(model, R, &samples), "remask_samples_new");
  std::vector<int64_t> ids(static_cast<size_t>(T));
  std::mt19937_64 rng(7);
  for (auto& id : ids) {
    do id = static_cast<int64_t>(rng() % static_cast<uint64_t>(info.vocab_size));
    while (id == info.mask_token_id);
  }
  check(remask_tokens_write(tokens, 0, ids.data(), T), "remask_tokens_write");
  const int64_t begin = T - R;

  for (int i = 0; i < o.warmup; ++i) check(remask_forward(model, tokens, begin, T, logits), "remask_forward");
  sync(o);
  std::vector<double> times;
  for (int i = 0; i < o.iters; ++i) {
    auto t0 = Clock::now();
    check(remask_forward(model, tokens, begin, T, logits), "remask_forward");
    sync(o);
    times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  double best = times.front(), median = times[times.size() / 2];
  std::printf("forward (%d warm-up, %d timed): best %.2f ms, median %.2f ms, worst %.2f ms\n", o.warmup, o.iters,
              best * 1e3, median * 1e3, times.back() * 1e3);
  std::printf("\n  %-8s %10s %10s %12s\n", "", "ms", "GFLOP/s", "of floor");
  std::printf("  %-8s %10.2f %10.1f %11.1f%%\n", "floor", floor_s * 1e3, floor_rate, 100.0);
  std::printf("  %-8s %10.2f %10.1f %11.1f%%\n", "best", best * 1e3, total / best / 1e9, 100.0 * floor_s / best);
  std::printf("  %-8s %10.2f %10.1f %11.1f%%\n", "median", median * 1e3, total / median / 1e9,
              100.0 * floor_s / median);
  std::printf("MFU (median forward vs GEMM floor): %.1f %%; vs the best single GEMM shape: %.1f %%\n",
              100.0 * floor_s / median, 100.0 * (total / median / 1e9) / peak);

  // 3. One NFE: forward + fused sample + masked commit, on a block of R masked rows.
  if (o.step) {
    std::vector<int64_t> masks(static_cast<size_t>(R), info.mask_token_id);
    std::vector<int64_t> positions(static_cast<size_t>(R)), committed(static_cast<size_t>(R));
    int64_t count = 0;
    const double inf = std::numeric_limits<double>::infinity();
    auto sample = [&](uint64_t step) {
      check(remask_sample(logits, R, 0, 0.0, 0.0, REMASK_RULE_LOW_CONFIDENCE, 0, -1, 1, step, samples),
            "remask_sample");
    };
    auto commit = [&] {
      check(remask_commit(tokens, samples, begin, T, 1, inf, positions.data(), committed.data(), R, &count),
            "remask_commit");
    };
    auto remask_block = [&] { check(remask_tokens_write(tokens, begin, masks.data(), R), "remask_tokens_write"); };
    std::vector<double> nfe, sample_t, commit_t;
    for (int i = 0; i < o.warmup + o.iters; ++i) {
      remask_block();
      sync(o);
      auto t0 = Clock::now();
      check(remask_forward(model, tokens, begin, T, logits), "remask_forward");
      sample(static_cast<uint64_t>(i));
      commit();
      sync(o);
      if (i >= o.warmup) nfe.push_back(seconds_since(t0));
    }
    // The sampler alone, on the logits of the last forward. Each call is timed on its own, synchronised
    // (what one step pays), and remask_sample also back to back (one sync after reps calls: device time).
    std::vector<double> pair_t;
    const int reps = std::max(50, o.iters);
    for (int i = 0; i < reps + 5; ++i) {
      sync(o);
      auto t0 = Clock::now();
      sample(static_cast<uint64_t>(i));
      sync(o);
      if (i >= 5) sample_t.push_back(seconds_since(t0));
      remask_block();
      sync(o);
      t0 = Clock::now();
      commit();
      sync(o);
      if (i >= 5) commit_t.push_back(seconds_since(t0));
      remask_block();
      sync(o);
      t0 = Clock::now();
      sample(static_cast<uint64_t>(i));
      commit();
      sync(o);
      if (i >= 5) pair_t.push_back(seconds_since(t0));
    }
    sync(o);
    auto b2b0 = Clock::now();
    for (int i = 0; i < reps; ++i) sample(static_cast<uint64_t>(i));
    sync(o);
    double back_to_back = seconds_since(b2b0) / reps;
    auto med = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    std::printf("\nNFE (forward + remask_sample + remask_commit k=1, %lld rows x %lld vocab): median %.2f ms, "
                "best %.2f ms (%zu timed)\n",
                (long long)R, (long long)info.vocab_size, med(nfe) * 1e3, *std::min_element(nfe.begin(), nfe.end()) * 1e3,
                nfe.size());
    std::printf("  NFE vs GEMM floor %.2f ms: %.1f %%\n", floor_s * 1e3, 100.0 * floor_s / med(nfe));
    std::printf("sampler on %lld x %lld fp32 logits (greedy, low confidence; median of %d, each synchronised):\n",
                (long long)R, (long long)info.vocab_size, reps);
    std::printf("  remask_sample %.3f ms (back to back: %.3f ms per call)\n", med(sample_t) * 1e3, back_to_back * 1e3);
    std::printf("  remask_commit %.3f ms\n", med(commit_t) * 1e3);
    std::printf("  remask_sample + remask_commit %.3f ms\n", med(pair_t) * 1e3);
  }

  remask_buffer_free(samples);
  remask_buffer_free(logits);
  remask_buffer_free(tokens);
  remask_model_free(model);
  return 0;
}

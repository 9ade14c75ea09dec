// remask_floor: how close a forward pass comes to this machine's own matrix-multiply rate.
//
//   remask_floor DIR [--tokens T] [--rows R] [--dtype float32|bfloat16|int8] [--threads N]
//                    [--device cpu|cuda:N] [--runs N] [--iters N] [--warmup N] [--step] [--no-model]
//
// DIR is a checkpoint of any family the shim runs (LLaDA, Dream, LLaDA-MoE, LLaDA2); its shape comes from
// config.json through the shim's own reader (checkpoint.h's Config::read).
// 1. The GEMM floor: every matrix product a forward of DIR's shape makes (the trunk's linears at T
//    tokens, attention's two batched products, the LM head on R rows; in a MoE layer the router, the
//    routed experts' three batched products over all experts at the balanced capacity ceil(T k / E) and the
//    shared expert) is timed alone through libtorch (torch::linear / torch::matmul / torch::bmm, as model.cpp
//    calls them), best of --runs runs, in GFLOP/s. Products of one shape are timed once.
//    floor ms = sum over the forward's products of FLOPs / measured rate of that shape: what a forward
//    would take if its products ran at their isolated rates and everything else were free.
//    For the MoEs, the routed experts of one layer as the forward runs them (experts.h's route: the router and
//    the choice, the pairs sorted by expert into batches, the three bmm's, the weighted sum back per token),
//    timed whole and its choice alone, on random hidden states (spread over the experts) and on a first step's
//    (the rows after the first R alike, as masks are: most pairs go to the same few experts).
// 2. The model: DIR is loaded through the C ABI (remask.h) and forwards of one sequence of T tokens
//    are timed (--warmup untimed, then --iters timed), LM head on the last R positions; LLaDA2's forward is
//    its block-causal one (remask_forward_blocks, blocks of R, no cache), as its generation runs it.
//    FLOPs are counted from DIR/config.json (q = n_heads * head_dim, kv = n_kv_heads * head_dim):
//      trunk     per layer 2 T (2 d q + 2 d kv) + 2 T 3 d mlp          (dense: the SwiGLU of width mlp)
//                or 2 T (2 d q + 2 d kv) + 2 T d E + 2 T k 3 d h + 2 T 3 d s   (MoE: router, k of E experts of
//                width h, shared expert of width s)
//      attention 4 * T^2 * q * layers                             (Q K^T and P V)
//      LM head   2 * R * d * vocab
//    MFU = floor ms / forward ms (= achieved GFLOP/s / the floor's GFLOP/s). For the MoEs, the routed experts'
//    share of the forward = MoE layers x one layer's route / the median forward.
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
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "checkpoint.h"
#include "experts.h"
#include "linear.h"
#include "remask.h"

namespace {

using Clock = std::chrono::steady_clock;
using remask::Config;
using remask::Experts;
using remask::RouteShape;
using remask::Family;

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
               "usage: remask_floor DIR [--tokens T] [--rows R] [--dtype float32|bfloat16|int8] [--threads N]\n"
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
  if (o.dtype != "float32" && o.dtype != "bfloat16" && o.dtype != "int8") usage("--dtype is float32, bfloat16 or int8");
  if (o.device == "cuda") o.device = "cuda:0";
  if (o.warmup < 0) o.warmup = 0;
  return o;
}

Config read_config(const std::string& dir) {
  try {
    return Config::read(dir);
  } catch (const std::exception& e) {
    usage(e.what());
  }
}

int64_t moe_layers(const Config& c) {
  int64_t n = 0;
  for (int64_t i = 0; i < c.n_layers; ++i) n += c.moe_layer(i);
  return n;
}

// FLOPs of one forward of T tokens with the LM head on R rows (the header's formulas); trunk includes the MoE parts.
struct Flops {
  double trunk = 0, attention = 0, head = 0, router = 0, experts = 0, shared = 0;
  double total() const { return trunk + attention + head; }
};

Flops count_flops(const Config& c, int64_t T, int64_t R) {
  const double t = static_cast<double>(T), d = static_cast<double>(c.d_model);
  const double q = static_cast<double>(c.n_heads * c.head_dim()), kv = static_cast<double>(c.n_kv_heads * c.head_dim());
  Flops f;
  for (int64_t i = 0; i < c.n_layers; ++i) {
    f.trunk += 2.0 * t * (2.0 * d * q + 2.0 * d * kv);
    f.attention += 4.0 * t * t * q;
    if (!c.moe_layer(i)) {
      f.trunk += 2.0 * t * 3.0 * d * c.mlp_hidden_size;
      continue;
    }
    f.router += 2.0 * t * d * c.n_experts;
    f.experts += 2.0 * t * c.experts_per_token * 3.0 * d * c.expert_hidden_size;
    f.shared += 2.0 * t * 3.0 * d * c.shared_expert_hidden_size;
  }
  f.trunk += f.router + f.experts + f.shared;
  f.head = 2.0 * R * d * c.vocab_size;
  return f;
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
  std::string name;   // the forward's products of this shape
  std::string shape;  // [m x k]x[k x n], with "B x " in front for a batch of B
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

  const Config c = read_config(o.dir);
  const bool llada = c.family == Family::Llada, moe = c.n_experts > 0;
  const int64_t T = o.tokens, R = o.rows, d = c.d_model, hd = c.head_dim(), q = c.n_heads * hd, kv = c.n_kv_heads * hd;
  const int64_t L = c.n_layers, L_moe = moe_layers(c), L_dense = L - L_moe, E = c.n_experts, K = c.experts_per_token;
  std::printf("config.json: d_model %lld, layers %lld, heads %lld (kv %lld, head_dim %lld), mlp %lld, vocab %lld\n",
              (long long)d, (long long)L, (long long)c.n_heads, (long long)c.n_kv_heads, (long long)hd,
              (long long)c.mlp_hidden_size, (long long)c.vocab_size);
  if (!llada) std::printf("  %s", remask::architecture_name(c.family));
  if (moe) {
    std::printf(": %lld of %lld layers routed, %lld experts x %lld, top %lld (%s router)", (long long)L_moe,
                (long long)L, (long long)E, (long long)c.expert_hidden_size, (long long)K,
                c.router == Config::Router::Softmax ? "softmax" : "grouped sigmoid, fp32");
    if (c.shared_expert_hidden_size > 0) std::printf(", shared expert %lld", (long long)c.shared_expert_hidden_size);
  }
  if (!llada) std::printf("\n");

  // FLOPs of one forward, from config.json.
  const Flops flops = count_flops(c, T, R);
  const double total = flops.total();
  std::printf("FLOPs per forward: trunk %.3f G + attention %.3f G + LM head %.3f G = %.3f GFLOP\n", flops.trunk / 1e9,
              flops.attention / 1e9, flops.head / 1e9, total / 1e9);
  if (moe)
    std::printf("  of the trunk: routed experts %.3f G, router %.3f G, shared expert %.3f G\n", flops.experts / 1e9,
                flops.router / 1e9, flops.shared / 1e9);

  // 1. The GEMM floor.
  torch::Device device(o.device);
  torch::ScalarType dtype = o.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  double floor_s = 0, floor_rate = 0, peak = 0, route_s = 0, masked_route_s = 0, choose_s = 0;
  {
    c10::InferenceMode inference;  // the GEMM section only: the model's buffers are made as the engine makes them
    torch::manual_seed(1);
    auto dims = [](int64_t m, int64_t kk, int64_t n) {
      return "[" + std::to_string(m) + "x" + std::to_string(kk) + "]x[" + std::to_string(kk) + "x" + std::to_string(n) + "]";
    };
    auto random = [&](std::vector<int64_t> shape, int64_t fan_in, torch::ScalarType type) {
      return torch::randn(shape, opts.dtype(type)) * (1.0 / std::sqrt(double(fan_in)));
    };
    std::vector<Product> products;
    // A product of a shape (and dtype) already listed joins it (timed once, counted for both).
    auto add = [&](const std::string& name, const std::string& shape, double flops, int64_t count,
                   std::function<torch::Tensor()> op) {
      if (count == 0) return;
      for (Product& pr : products) {
        if (pr.shape == shape) {
          pr.name += ", " + name;
          pr.per_forward += count;
          return;
        }
      }
      products.push_back({name, shape, flops, count, std::move(op)});
    };
    auto linear = [&](const std::string& name, int64_t m, int64_t kk, int64_t n, int64_t count,
                      torch::ScalarType type) {
      if (count == 0) return;
      torch::Tensor x = torch::randn({1, m, kk}, opts.dtype(type)), w = random({n, kk}, kk, type);
      // int8: the model's dense linears as linear.h runs them (float32 in, int8 weights).
      remask::Linear l = o.dtype == "int8" && type == dtype ? remask::Linear::int8(w) : remask::Linear(w);
      add(name, dims(m, kk, n) + (type == dtype ? "" : " fp32"), 2.0 * m * kk * n, count,
          [x, l] { return l(x); });
    };
    // Names as the family's checkpoint has them.
    const bool ling = c.family == Family::Llada2;
    if (ling) {
      linear("query_key_value", T, d, q + 2 * kv, L, dtype);
    } else {
      linear(llada ? "q" : "q_proj", T, d, q, L, dtype);
      linear(llada ? "k" : "k_proj", T, d, kv, L, dtype);
      linear(llada ? "v" : "v_proj", T, d, kv, L, dtype);
    }
    linear(llada ? "attn_out" : ling ? "dense" : "o_proj", T, q, d, L, dtype);
    linear(llada ? "ff_proj, up_proj" : "gate_proj, up_proj", T, d, c.mlp_hidden_size, 2 * L_dense, dtype);
    linear(llada ? "ff_out" : "down_proj", T, c.mlp_hidden_size, d, L_dense, dtype);
    Experts routed;
    int64_t balanced = 0;
    if (moe) {
      const int64_t h = c.expert_hidden_size, s = c.shared_expert_hidden_size;
      const torch::ScalarType router_type = c.router == Config::Router::Softmax ? dtype : torch::kFloat32;
      routed.router = random({E, d}, d, router_type);
      if (c.expert_bias) routed.bias = torch::zeros({E}, opts.dtype(torch::kFloat32));
      routed.gate = random({E, h, d}, d, dtype);
      routed.up = random({E, h, d}, d, dtype);
      routed.down = random({E, d, h}, h, dtype);
      linear("router", T, d, E, L_moe, router_type);
      balanced = (T * K + E - 1) / E;
      torch::Tensor batch_d = torch::randn({E, balanced, d}, opts), batch_h = torch::randn({E, balanced, h}, opts);
      std::string experts = std::to_string(E) + " x ";
      add("experts' gate_proj, up_proj", experts + dims(balanced, d, h), 2.0 * E * balanced * d * h, 2 * L_moe,
          [&routed, batch_d] { return torch::bmm(batch_d, routed.gate.transpose(1, 2)); });
      add("experts' down_proj", experts + dims(balanced, h, d), 2.0 * E * balanced * h * d, L_moe,
          [&routed, batch_h] { return torch::bmm(batch_h, routed.down.transpose(1, 2)); });
      if (s > 0) {
        linear("shared gate_proj, up_proj", T, d, s, 2 * L_moe, dtype);
        linear("shared down_proj", T, s, d, L_moe, dtype);
      }
    }
    torch::Tensor qh = torch::randn({1, c.n_heads, T, hd}, opts);
    torch::Tensor kh = torch::randn({1, c.n_heads, T, hd}, opts);
    torch::Tensor p = torch::softmax(torch::randn({1, c.n_heads, T, T}, opts), -1);
    add("scores", std::to_string(c.n_heads) + " x " + dims(T, hd, T), 2.0 * c.n_heads * T * hd * T, L,
        [&] { return torch::matmul(qh, kh.transpose(-2, -1)); });
    add("P V", std::to_string(c.n_heads) + " x " + dims(T, T, hd), 2.0 * c.n_heads * T * T * hd, L,
        [&] { return torch::matmul(p, kh); });
    linear("LM head", R, d, c.vocab_size, 1, dtype);

    const double target = is_cuda(o) ? 0.02 : 0.1;
    std::printf("\nGEMM rates through libtorch (%s, %s, best of %d runs of >= %.0f ms each)\n", o.dtype.c_str(),
                o.device.c_str(), o.runs, target * 1e3);
    std::printf("  %-48s %8s %10s %10s %6s\n", "product", "GFLOP", "best ms", "GFLOP/s", "count");
    for (Product& pr : products) {
      pr.best_s = best_time(o, pr.op, target);
      double rate = pr.flops_each / pr.best_s / 1e9;
      peak = std::max(peak, rate);
      floor_s += pr.best_s * pr.per_forward;
      std::printf("  %-48s %8.3f %10.3f %10.1f %6lld\n", (pr.name + " " + pr.shape).c_str(), pr.flops_each / 1e9,
                  pr.best_s * 1e3, rate, static_cast<long long>(pr.per_forward));
    }
    floor_rate = total / floor_s / 1e9;
    std::printf("GEMM floor of one forward: %.3f ms (%.1f GFLOP/s over its products); best single shape %.1f GFLOP/s\n",
                floor_s * 1e3, floor_rate, peak);

    // The routed experts of one layer as the forward runs them, on hidden states of unit RMS (what the layer's
    // norm hands the router).
    if (moe) {
      torch::Tensor spread = torch::randn({T, d}, opts);
      torch::Tensor masked = spread.clone();
      masked.narrow(0, R, T - R).copy_(spread.narrow(0, R, 1).expand({T - R, d}));
      RouteShape spread_shape, masked_shape;
      route_s = best_time(o, [&] { return remask::route(c, routed, spread, &spread_shape); }, target);
      masked_route_s = best_time(o, [&] { return remask::route(c, routed, masked, &masked_shape); }, target);
      choose_s = best_time(o, [&] { return remask::choose_experts(c, routed, spread).weights; }, target);
      auto describe = [](const RouteShape& r) {
        return "every expert padded to " + std::to_string(r.capacity) + " pairs, then " + std::to_string(r.heavy) +
               " to " + std::to_string(r.overflow) + " more";
      };
      std::printf("\nrouted experts of one MoE layer over %lld tokens, as the forward runs them (best of %d runs):\n",
                  (long long)T, o.runs);
      std::printf("  router and choice of %lld of %lld experts  %10.3f ms\n", (long long)K, (long long)E, choose_s * 1e3);
      std::printf("  the whole route, random hidden states  %10.3f ms  (%s; %lld if balanced)\n", route_s * 1e3,
                  describe(spread_shape).c_str(), (long long)balanced);
      std::printf("  the whole route, a first step's        %10.3f ms  (%lld rows alike: %s)\n", masked_route_s * 1e3,
                  (long long)(T - R), describe(masked_shape).c_str());
    }
  }
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
  const bool block_causal = c.family == Family::Llada2;
  auto forward = [&] {
    if (block_causal) {
      check(remask_forward_blocks(model, tokens, nullptr, R, 0, T, begin, T, logits), "remask_forward_blocks");
    } else {
      check(remask_forward(model, tokens, begin, T, logits), "remask_forward");
    }
  };
  if (block_causal) std::printf("forward: remask_forward_blocks (block-causal, blocks of %lld, no cache)\n", (long long)R);

  for (int i = 0; i < o.warmup; ++i) forward();
  sync(o);
  std::vector<double> times;
  for (int i = 0; i < o.iters; ++i) {
    auto t0 = Clock::now();
    forward();
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
  if (moe) {
    const double layers = static_cast<double>(L_moe);
    std::printf("routed experts: %lld MoE layers x %.2f ms = %.2f ms, %.1f %% of the median forward (router and "
                "choice %.1f %%); with a first step's hidden states %lld x %.2f ms = %.2f ms\n",
                (long long)L_moe, route_s * 1e3, layers * route_s * 1e3, 100.0 * layers * route_s / median,
                100.0 * layers * choose_s / median, (long long)L_moe, masked_route_s * 1e3,
                layers * masked_route_s * 1e3);
  }

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
      forward();
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

#include "trainer.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>

#include "checkpoint_writer.h"
#include "objective.h"

namespace remask {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// normal(0, 0.02) matrices, with the residual branches' output projections (attn_out and the
// blocks' ff_out) scaled by 1/sqrt(2 * layers) so the residual stream's variance stays put; norms 1.
std::map<std::string, torch::Tensor> initial_weights(const Config& c) {
  std::map<std::string, torch::Tensor> weights;
  double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layers));
  for (const auto& [name, shape] : tensor_shapes(c)) {
    auto ends_with = [&name = name](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    bool residual_out = ends_with(".attn_out.weight") ||
                        (ends_with(".ff_out.weight") && name.find(".blocks.") != std::string::npos);
    torch::Tensor w = shape.size() == 1 ? torch::ones(shape) : torch::empty(shape).normal_(0, residual_out ? residual_std : 0.02);
    weights[name] = w.requires_grad_(true);
  }
  return weights;
}

// A checkpoint's weights as trainable copies (the loaded ones are read-only file mappings); its config
// must be the one the options describe.
std::map<std::string, torch::Tensor> checkpoint_weights(const std::string& directory, const Config& c) {
  Config found = Config::read(directory);
  if (found.d_model != c.d_model || found.n_layers != c.n_layers || found.n_heads != c.n_heads ||
      found.mlp_hidden_size != c.mlp_hidden_size || found.vocab_size != c.vocab_size ||
      found.mask_token_id != c.mask_token_id || found.eos_token_id != c.eos_token_id)
    throw std::invalid_argument("--init " + directory + " holds a model of another shape or vocabulary than the options");
  std::map<std::string, torch::Tensor> weights;
  for (auto& [name, w] : load_weights(directory, found, torch::kFloat32, torch::kCPU))
    weights[name] = w.clone().requires_grad_(true);
  return weights;
}

// Linear warmup to lr, then cosine decay to lr / 10 at the last step.
double learning_rate(const TrainOptions& o, int64_t step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  double span = static_cast<double>(std::max<int64_t>(1, o.steps - 1 - o.warmup));
  double progress = std::min(1.0, static_cast<double>(step - o.warmup) / span);
  return o.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
}

// Example indices in a fresh random order every epoch; a batch may straddle two epochs.
class Shuffler {
 public:
  Shuffler(size_t count, uint64_t seed) : order_(count), random_(seed) {
    for (size_t i = 0; i < count; ++i) order_[i] = i;
    std::shuffle(order_.begin(), order_.end(), random_);
  }

  std::vector<size_t> next(int64_t n) {
    std::vector<size_t> picks;
    while (static_cast<int64_t>(picks.size()) < n) {
      if (position_ == order_.size()) {
        std::shuffle(order_.begin(), order_.end(), random_);
        position_ = 0;
      }
      picks.push_back(order_[position_++]);
    }
    return picks;
  }

 private:
  std::vector<size_t> order_;
  std::mt19937_64 random_;
  size_t position_ = 0;
};

}  // namespace

Config train_config(const TrainOptions& o) {
  Config c;
  c.d_model = o.d_model;
  c.n_layers = o.layers;
  c.n_heads = o.heads;
  c.n_kv_heads = o.heads;
  c.mlp_hidden_size = o.mlp_hidden;
  c.vocab_size = o.vocab_size;
  c.embedding_size = o.vocab_size;
  c.max_sequence_length = 1024;
  c.mask_token_id = o.mask_id;
  c.eos_token_id = o.eos_id;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000;
  c.weight_tying = false;
  if (o.d_model % o.heads != 0 || c.head_dim() % 2 != 0)
    throw std::invalid_argument("--d-model " + std::to_string(o.d_model) + " must split into --heads " +
                                std::to_string(o.heads) + " heads of even size");
  if (o.mask_id < 0 || o.mask_id >= o.vocab_size || o.eos_id < 0 || o.eos_id >= o.vocab_size ||
      o.mask_id == o.eos_id)
    throw std::invalid_argument("--mask-id and --eos-id must be two different ids below --vocab-size");
  return c;
}

TrainResult train(const TrainOptions& o, const std::vector<Example>& examples, std::FILE* log) {
  Config config = train_config(o);
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  int64_t tokens = 0, longest = 0;
  for (const Example& e : examples) {
    int64_t n = static_cast<int64_t>(e.prompt.size() + e.answer.size());
    tokens += n;
    longest = std::max(longest, n);
  }
  if (longest > config.max_sequence_length)
    throw std::invalid_argument("an example of " + std::to_string(longest) + " tokens (prompt + --gen-length) exceeds " +
                                "max_sequence_length " + std::to_string(config.max_sequence_length));

  torch::manual_seed(o.seed);
  Model model(config, o.init.empty() ? initial_weights(config) : checkpoint_weights(o.init, config));
  // Weight decay pulls matrices towards zero; on the norms' gains (initialised to 1) it would only hurt.
  std::vector<torch::Tensor> matrices, gains, all;
  for (const auto& [name, w] : model.weights()) {
    (w.dim() >= 2 ? matrices : gains).push_back(w);
    all.push_back(w);
  }
  auto adamw = [&o](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(o.lr).betas({0.9, 0.95}).weight_decay(decay));
  };
  torch::optim::AdamW optimizer({torch::optim::OptimizerParamGroup(matrices, adamw(o.weight_decay)),
                                 torch::optim::OptimizerParamGroup(gains, adamw(0))});

  std::string editing = o.edit.fraction > 0
      ? "(fraction " + std::to_string(o.edit.fraction) + ", from the model " + std::to_string(o.edit.from_model) + ")"
      : std::string("off");
  std::fprintf(log,
               "remask_train: model %.2fM parameters (%.1f MB f32; d_model %lld, layers %lld, heads %lld, "
               "mlp_hidden %lld, vocab %lld) | data %zu examples, %lld tokens (gen-length %lld, longest %lld) | "
               "batch %lld, steps %lld, lr %.1e, warmup %lld, cosine to %.1e, weight decay %g (matrices), "
               "clip 1.0, seed %llu, threads %d, save every %g min to %s in %s, editing %s, from %s\n",
               static_cast<double>(model.parameter_count()) / 1e6, static_cast<double>(model.weight_bytes()) / 1e6,
               static_cast<long long>(o.d_model), static_cast<long long>(o.layers), static_cast<long long>(o.heads),
               static_cast<long long>(o.mlp_hidden), static_cast<long long>(o.vocab_size), examples.size(),
               static_cast<long long>(tokens), static_cast<long long>(o.gen_length), static_cast<long long>(longest),
               static_cast<long long>(o.batch), static_cast<long long>(o.steps), o.lr,
               static_cast<long long>(o.warmup), o.lr / 10, o.weight_decay, static_cast<unsigned long long>(o.seed),
               threads, o.save_every_minutes, o.out.c_str(),
               o.save_dtype == torch::kBFloat16 ? "bfloat16" : "float32", editing.c_str(),
               o.init.empty() ? "random weights" : o.init.c_str());
  std::fflush(log);

  Shuffler shuffler(examples.size(), o.seed);
  std::vector<double> losses;
  Clock::time_point start = Clock::now(), window_start = start, last_save = start;
  int64_t window_tokens = 0;
  double window_loss = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    double lr = learning_rate(o, step);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    Batch batch = make_batch(examples, shuffler.next(o.batch), o.eos_id);
    torch::Tensor loss = sft_loss(model, batch, o.mask_id, o.edit);
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(all, 1.0);
    optimizer.step();

    losses.push_back(loss.item<double>());
    window_loss += losses.back();
    window_tokens += batch.tokens.numel();
    int64_t done = step + 1;
    if (done % 50 == 0 || done == o.steps) {
      // The loss is the mean over the steps since the last line: one step's is noisy (t is random).
      int64_t window_steps = (done - 1) % 50 + 1;
      std::fprintf(log, "step %lld/%lld loss %.4f lr %.1e tok/s %.0f elapsed %.0fs\n", static_cast<long long>(done),
                   static_cast<long long>(o.steps), window_loss / static_cast<double>(window_steps), lr,
                   static_cast<double>(window_tokens) / seconds_since(window_start), seconds_since(start));
      std::fflush(log);
      window_start = Clock::now();
      window_tokens = 0;
      window_loss = 0;
    }
    if (done < o.steps && seconds_since(last_save) >= 60 * o.save_every_minutes) {
      save_checkpoint(o.out, config, model.weights(), o.save_dtype);
      last_save = Clock::now();
      std::fprintf(log, "saved %s at step %lld\n", o.out.c_str(), static_cast<long long>(done));
      std::fflush(log);
    }
  }
  save_checkpoint(o.out, config, model.weights(), o.save_dtype);
  std::fprintf(log, "saved %s (final, %lld steps, %.0fs)\n", o.out.c_str(), static_cast<long long>(o.steps),
               seconds_since(start));
  std::fflush(log);
  return TrainResult{model, std::move(losses)};
}

}  // namespace remask

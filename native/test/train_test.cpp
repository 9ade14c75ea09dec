// Checks the trainer end to end on a tiny model in a temporary directory (a second or two):
//   remask_train_test
// The loss falls, a run is repeatable, and the checkpoint it writes loads through the C ABI and
// gives the trainer's own logits; remask_train's command line refuses bad input with one line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "examples.h"
#include "checkpoint_writer.h"
#include "checks.h"
#include "error.h"
#include "remask.h"
#include "trainer.h"

namespace {

using checks::check;

// The message read_examples throws for this file text, or "" when it reads it.
std::string read_error(const std::string& path, const std::string& text, const remask::TrainOptions& o) {
  std::ofstream(path) << text;
  try {
    remask::read_examples(path, o.vocab_size, o.mask_id, o.eos_id, o.gen_length);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Everything written to a temporary log file.
std::string text_of(std::FILE* log) {
  std::string text;
  std::rewind(log);
  for (int c; (c = std::fgetc(log)) != EOF;) text += static_cast<char>(c);
  std::fclose(log);
  return text;
}

// remask_train run with these arguments (no shell quoting needed): its exit status and what it printed.
struct Run {
  int status;
  std::string output;
};

Run train_program(const std::string& arguments) {
  std::string command = std::string(REMASK_TRAIN_PROGRAM) + " " + arguments + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  for (int c; (c = std::fgetc(pipe)) != EOF;) output += static_cast<char>(c);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

double mean(const std::vector<double>& v, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += v[i];
  return sum / static_cast<double>(end - begin);
}

}  // namespace

// The editing objective against a direct computation on the trained tiny model: the same draws, the loss summed
// position by position with log_softmax, and its gradient on every weight against the direct loss's.
void editing_objective_checks(const remask::Model& model, const std::vector<remask::Example>& examples,
                              const remask::TrainOptions& o) {
  std::vector<size_t> picks(16);
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = i;
  remask::Batch batch = remask::make_batch(examples, picks, o.eos_id);
  int64_t B = batch.tokens.size(0), T = batch.tokens.size(1);
  for (remask::EditOptions edit : {remask::EditOptions{0, 0}, remask::EditOptions{0.3, 0}, remask::EditOptions{0.3, 0.5}}) {
    std::string name = "editing fraction " + std::to_string(edit.fraction) + ", from the model " +
                       std::to_string(edit.from_model);
    torch::manual_seed(3);
    remask::Draws d = remask::draw(model, batch, o.mask_id, edit);
    torch::Tensor visible = batch.answer.logical_and(d.masked.logical_not());
    int64_t corrupted = d.corrupted.sum().item<int64_t>();
    bool sound = d.corrupted.logical_and(visible.logical_not()).sum().item<int64_t>() == 0 &&
                 d.input.masked_select(d.corrupted).ne(batch.tokens.masked_select(d.corrupted)).all().item<bool>() &&
                 d.input.masked_select(d.corrupted).ne(o.mask_id).all().item<bool>() &&
                 d.input.masked_select(d.masked).eq(o.mask_id).all().item<bool>() &&
                 d.input.masked_select(visible.logical_and(d.corrupted.logical_not()))
                     .equal(batch.tokens.masked_select(visible.logical_and(d.corrupted.logical_not())));
    int64_t visible_count = visible.sum().item<int64_t>();
    check(sound && (edit.fraction == 0 ? corrupted == 0 : corrupted > visible_count / 10 && corrupted < visible_count / 2),
          name + ": corrupts only visible answer positions, with neither the clean token nor the mask (" +
              std::to_string(corrupted) + " of " + std::to_string(visible_count) + ")");

    torch::Tensor loss = remask::sft_loss(model, batch, d, edit);
    torch::Tensor logits = model.forward_with_grad(d.input, 0, T).view({B, T, -1});
    torch::Tensor direct = torch::zeros({});
    auto masked = d.masked.accessor<bool, 2>();
    auto answer = batch.answer.accessor<bool, 2>();
    auto tokens = batch.tokens.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < T; ++j) {
        torch::Tensor nll = -torch::log_softmax(logits[b][j], 0)[tokens[b][j]];
        if (masked[b][j]) direct = direct + nll / d.t[b][0];
        else if (answer[b][j] && edit.fraction > 0) direct = direct + nll;
      }
    }
    direct = direct / batch.answer.sum();
    double difference = std::abs(loss.item<double>() - direct.item<double>());
    check(difference < 1e-5 * direct.item<double>(), name + ": the loss equals the direct sum (" +
                                                          std::to_string(loss.item<double>()) + " vs " +
                                                          std::to_string(direct.item<double>()) + ")");
    std::vector<torch::Tensor> weights;
    for (const auto& [key, w] : model.weights()) weights.push_back(w);
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, weights);
    std::vector<torch::Tensor> direct_grads = torch::autograd::grad({direct}, weights);
    double worst = 0;
    for (size_t i = 0; i < grads.size(); ++i) {
      worst = std::max(worst, (grads[i] - direct_grads[i]).abs().max().item<double>() /
                                  std::max(1e-12, direct_grads[i].abs().max().item<double>()));
    }
    check(worst < 1e-4, name + ": its gradients equal the direct loss's (worst relative difference " +
                            std::to_string(worst) + ")");
  }
}

int main() {
  char pattern[] = "/tmp/remask-train-test.XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  std::string dir = pattern;

  remask::TrainOptions o;
  o.out = dir;
  o.vocab_size = 48;
  o.mask_id = 47;
  o.eos_id = 46;
  o.gen_length = 8;
  o.d_model = 32;
  o.layers = 2;
  o.heads = 4;
  o.mlp_hidden = 64;
  o.batch = 16;
  o.steps = 30;
  o.lr = 3e-3;
  o.warmup = 5;
  o.threads = 1;

  // The task: the answer is the prompt reversed.
  std::string data = dir + "/data.txt";
  {
    std::mt19937_64 random(7);
    std::ofstream out(data);
    for (int line = 0; line < 200; ++line) {
      std::vector<int> prompt(3 + random() % 5);
      for (int& id : prompt) id = static_cast<int>(random() % 40);
      for (size_t i = 0; i < prompt.size(); ++i) out << (i ? " " : "") << prompt[i];
      out << "|";
      for (size_t i = prompt.size(); i-- > 0;) out << prompt[i] << (i ? " " : "");
      out << "\n";
    }
  }
  std::vector<remask::Example> examples = remask::read_examples(data, o.vocab_size, o.mask_id, o.eos_id, o.gen_length);
  check(examples.size() == 200 && examples[0].answer.size() == 8 && examples[0].answer.back() == o.eos_id,
        "200 examples read, answers padded with eos to --gen-length");
  std::string bad = dir + "/bad.txt";
  check(read_error(bad, "1 2|3\n1 2|3 4 5 6 7 8 9 10\n", o).find("bad.txt:2: answer of 8 tokens") != std::string::npos,
        "an answer longer than gen-length - 1 is refused with its line number");
  check(read_error(bad, "1 47|3\n", o).find("bad.txt:1: holds the mask id 47") != std::string::npos,
        "a mask id in the data is refused");
  check(read_error(bad, "1 2 3\n", o).find("bad.txt:1: expected") != std::string::npos, "a line without '|' is refused");
  remask::TrainOptions odd = o;
  odd.heads = 3;
  bool refused = false;
  try {
    remask::train_config(odd);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  check(refused, "heads that do not divide d_model are refused");

  std::FILE* log = std::tmpfile();
  remask::TrainResult first = remask::train(o, examples, log);
  std::string first_log = text_of(log);
  std::fputs(first_log.c_str(), stdout);
  check(first_log.rfind("remask_train: model 0.02M parameters", 0) == 0 &&
            first_log.find("\nstep 30/30 loss ") != std::string::npos,
        "the log has its header and a line for the last step");
  double start = mean(first.losses, 0, 5), end = mean(first.losses, 25, 30);
  check(end < 0.8 * start, "the loss falls: mean of steps 1-5 " + std::to_string(start) + ", of steps 26-30 " +
                               std::to_string(end));

  // Saving after every step exercises the periodic checkpoint; the run must not change for it.
  remask::TrainOptions again = o;
  again.save_every_minutes = 0;
  log = std::tmpfile();
  remask::TrainResult second = remask::train(again, examples, log);
  check(text_of(log).find("\nsaved " + dir + " at step 29\n") != std::string::npos, "periodic saves are logged");
  check(second.losses == first.losses, "a second run with the same seed gives the same losses");

  std::ifstream weights(dir + "/model.safetensors", std::ios::binary);
  unsigned char length[8] = {};
  weights.read(reinterpret_cast<char*>(length), 8);
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | length[i];
  check(weights && header % 8 == 0, "the safetensors header is padded to 8 bytes (" + std::to_string(header) + ")");
  std::ifstream stray(dir + "/model.safetensors.tmp");
  check(!stray, "no temporary file is left behind");

  // Logits of a sequence with a prompt, masks and eos: the loaded checkpoint against the trainer.
  std::vector<int64_t> ids = {5, 9, 12, 47, 47, 47, 46, 46};
  int64_t T = static_cast<int64_t>(ids.size()), V = o.vocab_size;
  remask_model* model = nullptr;
  remask_buffer* tokens = nullptr;
  remask_buffer* logits = nullptr;
  bool ran = remask_model_load(dir.c_str(), "cpu", "float32", &model) == REMASK_OK &&
             remask_tokens_new(model, 1, T, &tokens) == REMASK_OK &&
             remask_tokens_write(tokens, 0, ids.data(), T) == REMASK_OK &&
             remask_logits_new(model, T, &logits) == REMASK_OK &&
             remask_forward(model, tokens, 0, T, logits) == REMASK_OK;
  check(ran, std::string("the checkpoint loads and runs through the C ABI") + (ran ? "" : ": ") +
                 (ran ? "" : remask_last_error()));
  if (ran) {
    std::vector<float> loaded(static_cast<size_t>(T * V));
    remask_logits_read(logits, 0, loaded.data(), T * V);
    torch::Tensor ours = second.model.forward(torch::tensor(ids).view({1, T}), 0, T).contiguous();
    double worst = 0;
    for (int64_t i = 0; i < T * V; ++i) worst = std::max(worst, std::fabs(static_cast<double>(loaded[i]) - ours.data_ptr<float>()[i]));
    check(worst < 1e-6, "its logits equal the trainer's: max |difference| = " + std::to_string(worst));
  }
  remask_buffer_free(logits);
  remask_buffer_free(tokens);
  remask_model_free(model);

  // --init: a run continued from the checkpoint starts where the first one ended, not from scratch.
  remask::TrainOptions continued = o;
  continued.init = dir;
  continued.steps = 5;
  log = std::tmpfile();
  remask::TrainResult more = remask::train(continued, examples, log);
  check(mean(more.losses, 0, 5) < 0.8 * start && text_of(log).find("from " + dir + "\n") != std::string::npos,
        "--init continues from the checkpoint: mean loss of its first 5 steps " + std::to_string(mean(more.losses, 0, 5)));
  remask::TrainOptions wider = continued;
  wider.d_model *= 2;
  refused = false;
  try {
    remask::train(wider, examples, std::tmpfile());
  } catch (const std::invalid_argument& e) {
    refused = std::string(e.what()).find("another shape") != std::string::npos;
  }
  check(refused, "--init with a checkpoint of another shape is refused");

  // --save-dtype bfloat16: half the file, the engine loads it, logits within bfloat16 rounding of float32's.
  remask::save_checkpoint(dir, remask::train_config(o), second.model.weights(), torch::kBFloat16);
  std::ifstream bf16_file(dir + "/model.safetensors", std::ios::binary);
  std::string bf16_text((std::istreambuf_iterator<char>(bf16_file)), std::istreambuf_iterator<char>());
  bool halved = bf16_text.find("\"dtype\":\"BF16\"") != std::string::npos &&
                bf16_text.find("\"F32\"") == std::string::npos;
  model = nullptr;
  tokens = logits = nullptr;
  ran = remask_model_load(dir.c_str(), "cpu", "float32", &model) == REMASK_OK &&
        remask_tokens_new(model, 1, T, &tokens) == REMASK_OK && remask_tokens_write(tokens, 0, ids.data(), T) == REMASK_OK &&
        remask_logits_new(model, T, &logits) == REMASK_OK && remask_forward(model, tokens, 0, T, logits) == REMASK_OK;
  double bf16_worst = 1e9;
  if (ran) {
    std::vector<float> loaded(static_cast<size_t>(T * V));
    remask_logits_read(logits, 0, loaded.data(), T * V);
    torch::Tensor ours = second.model.forward(torch::tensor(ids).view({1, T}), 0, T).contiguous();
    bf16_worst = 0;
    for (int64_t i = 0; i < T * V; ++i)
      bf16_worst = std::max(bf16_worst, std::fabs(static_cast<double>(loaded[i]) - ours.data_ptr<float>()[i]));
  }
  check(halved && ran && bf16_worst > 0 && bf16_worst < 0.1,
        "a bfloat16 checkpoint is written as BF16 and loads: max |logit - float32's| = " + std::to_string(bf16_worst));
  remask_buffer_free(logits);
  remask_buffer_free(tokens);
  remask_model_free(model);

  refused = false;
  try {
    remask::save_checkpoint(dir, remask::train_config(o), second.model.weights(), torch::kHalf);
  } catch (const remask::Error& e) {
    refused = std::string(e.what()) == "checkpoints are written in float32 or bfloat16";
  }
  check(refused, "a checkpoint in float16 is refused with one line");

  // The command line: each mistake is exit status 2 and one line naming it.
  editing_objective_checks(first.model, examples, o);

  std::string required = "--data " + dir + "/data.txt --out " + dir +
                         " --vocab-size 48 --mask-id 47 --eos-id 46 --gen-length 8";
  struct Refusal {
    std::string arguments;
    std::string line;
  };
  for (const Refusal& r : std::vector<Refusal>{
           {"", "missing --data"},
           {required, "missing --steps"},
           {required + " --steps", "--steps needs a value"},
           {required + " --steps 0", "--steps needs an integer >= 1, not '0'"},
           {required + " --steps 10 --lr fast", "--lr needs a number >= 0, not 'fast'"},
           {required + " --steps 10 --save-dtype float16", "--save-dtype is float32 or bfloat16, not 'float16'"},
           {required + " --steps 10 --epochs 3", "unknown option --epochs"},
           {required + " --steps 10 data.txt more", "unexpected argument 'data.txt'"},
           {required + " --steps 10 --out " + dir + "/none", "--out " + dir + "/none is not a directory"},
           {required + " --steps 10 --heads 5", "--d-model 256 must split into --heads 5 heads of even size"},
           {required + " --steps 10 --edit-fraction 1.5", "--edit-fraction needs a number in [0, 1], not '1.5'"}}) {
    Run run = train_program(r.arguments);
    bool ok = run.status == 2 && run.output == "remask_train: " + r.line + "\n";
    check(ok, "remask_train " + (r.arguments.empty() ? "(no arguments)" : "..." + r.arguments.substr(required.size())) +
                  ": exit 2, " + r.line +
                  (ok ? "" : " (got exit " + std::to_string(run.status) + ", output '" + run.output + "')"));
  }

  for (const char* name : {"data.txt", "bad.txt", "config.json", "model.safetensors"}) std::remove((dir + "/" + name).c_str());
  std::remove(dir.c_str());
  return checks::report();
}

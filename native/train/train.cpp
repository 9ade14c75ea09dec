// remask_train: trains a small LLaDA model from scratch with LLaDA's SFT objective on the CPU and
// writes a checkpoint the engine loads.
//
//   remask_train --data FILE --out DIR --vocab-size N --mask-id N --eos-id N --gen-length G --steps S
//                [--d-model 256] [--layers 6] [--heads 8] [--mlp-hidden 768] [--batch 64] [--lr 1e-3]
//                [--warmup 200] [--weight-decay 0.1] [--seed 1] [--threads N] [--save-every-minutes 10]
//                [--init DIR] [--save-dtype float32|bfloat16] [--edit-fraction 0] [--edit-from-model 0]
//
// FILE holds one example a line: prompt token ids '|' answer token ids without eos ("12 40 7|88 9 3").
// Answers are padded with eos to G tokens. DIR must exist (the tokenizer files live there); the
// trainer writes DIR/config.json and DIR/model.safetensors, periodically and at the end. --init starts
// from a checkpoint of the same shape instead of random weights (a run continued with its own schedule).
// --edit-fraction F adds the editing objective (objective.h): each visible answer position gets another token
// with chance F, a uniform one or, with chance --edit-from-model M, one drawn from the model's own prediction.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>

#include <sys/stat.h>

#include "trainer.h"

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "remask_train: %s\n", problem.c_str());
  std::exit(2);
}

int64_t integer(const std::string& flag, const std::string& value, int64_t minimum) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || v < minimum)
    usage(flag + " needs an integer >= " + std::to_string(minimum) + ", not '" + value + "'");
  return v;
}

double non_negative(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || errno != 0 || !(v >= 0) || v > 1e300)
    usage(flag + " needs a number >= 0, not '" + value + "'");
  return v;
}

double probability(const std::string& flag, const std::string& value) {
  double v = non_negative(flag, value);
  if (v > 1) usage(flag + " needs a number in [0, 1], not '" + value + "'");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  remask::TrainOptions o;
  std::string data;
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag.rfind("--", 0) == 0 ? flag + " needs a value" : "unexpected argument '" + flag + "'");
    std::string v = argv[++i];
    seen.insert(flag);
    if (flag == "--data") data = v;
    else if (flag == "--out") o.out = v;
    else if (flag == "--vocab-size") o.vocab_size = integer(flag, v, 2);
    else if (flag == "--mask-id") o.mask_id = integer(flag, v, 0);
    else if (flag == "--eos-id") o.eos_id = integer(flag, v, 0);
    else if (flag == "--gen-length") o.gen_length = integer(flag, v, 1);
    else if (flag == "--steps") o.steps = integer(flag, v, 1);
    else if (flag == "--d-model") o.d_model = integer(flag, v, 2);
    else if (flag == "--layers") o.layers = integer(flag, v, 1);
    else if (flag == "--heads") o.heads = integer(flag, v, 1);
    else if (flag == "--mlp-hidden") o.mlp_hidden = integer(flag, v, 1);
    else if (flag == "--batch") o.batch = integer(flag, v, 1);
    else if (flag == "--lr") o.lr = non_negative(flag, v);
    else if (flag == "--warmup") o.warmup = integer(flag, v, 0);
    else if (flag == "--weight-decay") o.weight_decay = non_negative(flag, v);
    else if (flag == "--seed") o.seed = static_cast<uint64_t>(integer(flag, v, 0));
    else if (flag == "--threads") o.threads = static_cast<int>(integer(flag, v, 1));
    else if (flag == "--save-every-minutes") o.save_every_minutes = non_negative(flag, v);
    else if (flag == "--init") o.init = v;
    else if (flag == "--edit-fraction") o.edit.fraction = probability(flag, v);
    else if (flag == "--edit-from-model") o.edit.from_model = probability(flag, v);
    else if (flag == "--save-dtype") {
      if (v != "float32" && v != "bfloat16") usage("--save-dtype is float32 or bfloat16, not '" + v + "'");
      o.save_dtype = v == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
    }
    else usage(flag.rfind("--", 0) == 0 ? "unknown option " + flag : "unexpected argument '" + flag + "'");
  }
  for (const char* required : {"--data", "--out", "--vocab-size", "--mask-id", "--eos-id", "--gen-length", "--steps"})
    if (seen.count(required) == 0) usage(std::string("missing ") + required);
  struct stat st;
  if (::stat(o.out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) usage("--out " + o.out + " is not a directory");

  std::vector<remask::Example> examples;
  try {
    remask::train_config(o);
    examples = remask::read_examples(data, o.vocab_size, o.mask_id, o.eos_id, o.gen_length);
  } catch (const std::exception& e) {
    usage(e.what());
  }
  try {
    remask::train(o, examples, stdout);
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "remask_train: %s\n", e.what());
    return 1;
  }
  return 0;
}

// Checks the shim through its C ABI alone, so it also runs on a GPU machine that has no JDK:
//   remask_native_test GOLDEN_DIR [device]
// GOLDEN_DIR holds forward.json and the tiny checkpoints it names.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "json.h"
#include "remask.h"

namespace {

int passed = 0;
int failed = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  ++(ok ? passed : failed);
}

bool call(int32_t status, const std::string& what) {
  if (status != REMASK_OK) std::printf("     %s: %s\n", what.c_str(), remask_last_error());
  return status == REMASK_OK;
}

void forward_case(const std::string& golden, const remask::Json& entry, const std::string& device) {
  std::string name = entry.find("model")->as_string();
  bool bf16 = name.find("bf16") != std::string::npos;
  std::vector<int64_t> ids;
  for (const auto& id : entry.find("input_ids")->items()) ids.push_back(id.as_int());
  const auto& rows = entry.find("logits")->items();
  int64_t T = static_cast<int64_t>(ids.size());

  remask_model* model = nullptr;
  remask_buffer* tokens = nullptr;
  remask_buffer* logits = nullptr;
  remask_model_info info{};
  bool loaded = call(remask_model_load((golden + "/" + name).c_str(), device.c_str(), bf16 ? "bfloat16" : "float32", &model),
                     "load") &&
                call(remask_model_info_get(model, &info), "info") &&
                call(remask_tokens_new(model, 1, T, &tokens), "tokens") &&
                call(remask_tokens_write(tokens, 0, ids.data(), T), "write") &&
                call(remask_logits_new(model, T, &logits), "logits") &&
                call(remask_forward(model, tokens, 0, T, logits), "forward");
  check(loaded, name + " loads and runs a forward on " + device);
  if (loaded) {
    int64_t V = info.vocab_size;
    std::vector<float> out(static_cast<size_t>(T * V));
    call(remask_logits_read(logits, 0, out.data(), T * V), "read");
    double worst = 0;
    int64_t argmax_mismatches = 0;
    for (int64_t t = 0; t < T; ++t) {
      const auto& expected = rows[t].items();
      int64_t best_ours = 0, best_ref = 0;
      for (int64_t v = 0; v < V; ++v) {
        double e = expected[v].as_double();
        worst = std::max(worst, std::fabs(e - out[t * V + v]));
        if (out[t * V + v] > out[t * V + best_ours]) best_ours = v;
        if (e > expected[best_ref].as_double()) best_ref = v;
      }
      if (best_ours != best_ref) ++argmax_mismatches;
    }
    check(argmax_mismatches == 0, name + ": argmax equal on every row");
    if (!bf16) check(worst < 1e-4, name + ": max |logit - golden| = " + std::to_string(worst) + " < 1e-4");
  }
  remask_buffer_free(logits);
  remask_buffer_free(tokens);
  remask_model_free(model);
  check(remask_model_free(model) == REMASK_ERR_CLOSED, name + ": a second free reports a closed handle");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s GOLDEN_DIR [device]\n", argv[0]);
    return 2;
  }
  std::string golden = argv[1];
  std::string device = argc > 2 ? argv[2] : "cpu";
  char version[256];
  call(remask_version(version, sizeof version), "version");
  std::printf("%s\n", version);

  std::ifstream in(golden + "/forward.json");
  if (!in) {
    std::fprintf(stderr, "cannot read %s/forward.json\n", golden.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  remask::Json cases = remask::Json::parse(text.str());
  for (const auto& entry : cases.items()) forward_case(golden, entry, device);

  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

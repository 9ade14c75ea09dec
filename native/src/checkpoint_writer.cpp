#include "checkpoint_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "error.h"

namespace remask {
namespace {

// Python's repr of a float (1e-05, 10000.0, 0.5): the fewest digits that read back as the same
// double, in fixed notation for exponents -4 .. 15 and in scientific notation otherwise.
std::string number_text(double value) {
  char text[40];
  int digits = 1;
  while (true) {
    std::snprintf(text, sizeof text, "%.*e", digits - 1, value);
    if (digits == 17 || std::strtod(text, nullptr) == value) break;
    ++digits;
  }
  int exponent = std::atoi(std::strchr(text, 'e') + 1);
  if (exponent < -4 || exponent >= 16) return text;
  std::snprintf(text, sizeof text, "%.*f", std::max(1, digits - 1 - exponent), value);
  return text;
}

// The field set and order of a Hugging Face LLaDA config.json, with the values this engine runs.
std::string config_json(const Config& c, torch::ScalarType dtype) {
  auto integer = [](int64_t v) { return std::to_string(v); };
  auto flag = [](bool v) { return std::string(v ? "true" : "false"); };
  std::vector<std::pair<std::string, std::string>> fields = {
      {"architectures", "[\n    \"LLaDAModelLM\"\n  ]"},
      {"model_type", "\"llada\""},
      {"block_type", "\"llama\""},
      {"d_model", integer(c.d_model)},
      {"n_layers", integer(c.n_layers)},
      {"n_heads", integer(c.n_heads)},
      {"n_kv_heads", integer(c.n_kv_heads)},
      {"mlp_hidden_size", integer(c.mlp_hidden_size)},
      // Ignored while mlp_hidden_size is set; Hugging Face's config class still wants it.
      {"mlp_ratio", integer(std::max<int64_t>(1, c.mlp_hidden_size / c.d_model))},
      {"activation_type", "\"silu\""},
      {"vocab_size", integer(c.vocab_size)},
      {"embedding_size", integer(c.embedding_size)},
      {"weight_tying", flag(c.weight_tying)},
      {"include_bias", "false"},
      {"include_qkv_bias", "false"},
      {"bias_for_layer_norm", "false"},
      {"layer_norm_type", "\"rms\""},
      {"layer_norm_with_affine", "true"},
      {"rms_norm_eps", number_text(c.rms_norm_eps)},
      {"rope", "true"},
      {"rope_theta", number_text(c.rope_theta)},
      {"rope_full_precision", "true"},
      {"alibi", "false"},
      {"attention_layer_norm", "false"},
      {"input_emb_norm", "false"},
      {"scale_logits", "false"},
      {"max_sequence_length", integer(c.max_sequence_length)},
      {"flash_attention", "false"},
      {"attention_dropout", "0.0"},
      {"residual_dropout", "0.0"},
      {"embedding_dropout", "0.0"},
      {"mask_token_id", integer(c.mask_token_id)},
      {"eos_token_id", integer(c.eos_token_id)},
      {"pad_token_id", integer(c.eos_token_id)},
      {"torch_dtype", dtype == torch::kBFloat16 ? "\"bfloat16\"" : "\"float32\""}};
  std::string text = "{\n";
  for (size_t i = 0; i < fields.size(); ++i)
    text += "  \"" + fields[i].first + "\": " + fields[i].second + (i + 1 < fields.size() ? ",\n" : "\n");
  return text + "}\n";
}

// Writes the pieces to PATH.tmp, flushes them to disk, then renames it to PATH.
void write_atomically(const std::string& path, const std::vector<std::pair<const void*, size_t>>& pieces) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(REMASK_ERR_RUNTIME, "cannot create " + temporary + ": " + std::strerror(errno));
  for (const auto& [data, size] : pieces) {
    const char* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        std::string reason = std::strerror(errno);
        ::close(fd);
        ::unlink(temporary.c_str());
        throw Error(REMASK_ERR_RUNTIME, "cannot write " + temporary + ": " + reason);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  // Without the fsync a crash soon after the rename can leave the new name on empty blocks.
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    throw Error(REMASK_ERR_RUNTIME, "cannot write " + path + ": " + reason);
  }
}

}  // namespace

void save_checkpoint(const std::string& directory, const Config& config,
                     const std::map<std::string, torch::Tensor>& weights, torch::ScalarType dtype) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16)
    throw invalid_argument("checkpoints are written in float32 or bfloat16");
  torch::NoGradGuard no_grad;
  const char* type_name = dtype == torch::kBFloat16 ? "BF16" : "F32";
  std::vector<torch::Tensor> data;
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";  // transformers refuses files without it
  uint64_t offset = 0;
  for (const auto& [name, tensor] : weights) {
    data.push_back(tensor.detach().to(torch::kCPU, dtype).contiguous());
    uint64_t bytes = static_cast<uint64_t>(data.back().nbytes());
    header += ",\"" + name + "\":{\"dtype\":\"" + type_name + "\",\"shape\":[";
    for (int64_t d = 0; d < tensor.dim(); ++d) header += (d ? "," : "") + std::to_string(tensor.size(d));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  // Padding to 8 bytes puts the data at an aligned offset, so the engine maps it without a copy.
  header.append((8 - header.size() % 8) % 8, ' ');
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * i));

  std::vector<std::pair<const void*, size_t>> pieces = {{length, sizeof length}, {header.data(), header.size()}};
  for (const torch::Tensor& t : data) pieces.emplace_back(t.data_ptr(), t.nbytes());
  // The weights first: a crash between the two renames leaves the old config, which a run's
  // periodic saves never change.
  write_atomically(directory + "/model.safetensors", pieces);
  std::string config_text = config_json(config, dtype);
  write_atomically(directory + "/config.json", {{config_text.data(), config_text.size()}});
}

}  // namespace remask

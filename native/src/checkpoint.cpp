#include "checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "error.h"
#include "json.h"

namespace remask {
namespace {

constexpr const char* kConfig = "config.json";
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndex = "model.safetensors.index.json";
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_checkpoint("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Json parse_json_file(const std::string& path) {
  try {
    return Json::parse(read_text(path));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw bad_checkpoint(path + ": " + e.what());
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Reads config.json fields with their types checked and the file named in every message.
class ConfigReader {
 public:
  explicit ConfigReader(const std::string& path) : path_(path), json_(parse_json_file(path)) {
    if (!json_.is_object()) throw bad_checkpoint(path_ + ": expected a JSON object");
  }

  int64_t integer(const std::string& key, int64_t fallback, bool required = false) const {
    const Json* v = json_.find(key);
    if (v == nullptr || v->is_null()) {
      if (required) throw bad_checkpoint(path_ + ": missing field '" + key + "'");
      return fallback;
    }
    if (!v->is_integer()) throw bad_checkpoint(path_ + ": field '" + key + "' must be an integer");
    return v->as_int();
  }

  double number(const std::string& key, double fallback) const {
    const Json* v = json_.find(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_number()) throw bad_checkpoint(path_ + ": field '" + key + "' must be a number");
    return v->as_double();
  }

  bool flag(const std::string& key, bool fallback) const {
    const Json* v = json_.find(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_bool()) throw bad_checkpoint(path_ + ": field '" + key + "' must be true or false");
    return v->as_bool();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    const Json* v = json_.find(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_string()) throw bad_checkpoint(path_ + ": field '" + key + "' must be a string");
    return v->as_string();
  }

  void require_text(const std::string& key, const std::string& supported) const {
    std::string value = text(key, supported);
    if (value != supported)
      throw bad_checkpoint(path_ + ": unsupported " + key + " '" + value + "' (remask runs '" +
                           supported + "')");
  }

  void require_flag(const std::string& key, bool supported) const {
    if (flag(key, supported) != supported)
      throw bad_checkpoint(path_ + ": unsupported " + key + " = " + (supported ? "false" : "true") +
                           " (remask runs LLaDA's " + key + " = " + (supported ? "true" : "false") + ")");
  }

  void require_null(const std::string& key) const {
    const Json* v = json_.find(key);
    if (v != nullptr && !v->is_null())
      throw bad_checkpoint(path_ + ": unsupported " + key + " (remask runs LLaDA's " + key + " = null)");
  }

  [[noreturn]] void fail(const std::string& message) const { throw bad_checkpoint(path_ + ": " + message); }

 private:
  std::string path_;
  Json json_;
};

// A read-only view of a file in memory. Private and copy-on-write, so nothing can change the file.
class Mapping {
 public:
  explicit Mapping(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw bad_checkpoint("cannot open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw bad_checkpoint("cannot stat " + path);
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      void* data = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        ::close(fd);
        throw bad_checkpoint("cannot map " + path);
      }
      data_ = static_cast<uint8_t*>(data);
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const std::string& path() const { return path_; }
  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

  // Gives the pages of [begin, end) back to the kernel once their contents were copied elsewhere.
  void release(uint64_t begin, uint64_t end) const {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    uint64_t first = (begin + page - 1) / page * page;
    uint64_t last = end / page * page;
    if (last > first) ::madvise(data_ + first, last - first, MADV_DONTNEED);
  }

 private:
  std::string path_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

struct TensorEntry {
  std::shared_ptr<Mapping> file;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // absolute byte offsets in the file
  uint64_t end;
};

torch::ScalarType safetensors_dtype(const std::string& name, const std::string& where) {
  if (name == "F32") return torch::kFloat32;
  if (name == "BF16") return torch::kBFloat16;
  if (name == "F16") return torch::kFloat16;
  throw bad_checkpoint(where + ": unsupported dtype '" + name + "' (supported: F32, BF16, F16)");
}

// Parses one safetensors file's header; every offset is checked against the file's real size.
void read_safetensors(const std::string& path, std::map<std::string, TensorEntry>& entries) {
  auto file = std::make_shared<Mapping>(path);
  if (file->size() < 8) throw bad_checkpoint(path + ": file too short for a safetensors header");
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | file->data()[i];
  uint64_t available = file->size() - 8;
  if (header_length > available)
    throw bad_checkpoint(path + ": header length " + std::to_string(header_length) +
                         " is longer than the file (" + std::to_string(available) +
                         " bytes after the length); the file is truncated or corrupt");
  if (header_length > kMaxHeaderBytes)
    throw bad_checkpoint(path + ": header length " + std::to_string(header_length) + " is implausibly large");
  std::string text(reinterpret_cast<const char*>(file->data() + 8), header_length);
  Json header;
  try {
    header = Json::parse(text);
  } catch (const std::exception& e) {
    throw bad_checkpoint(path + ": bad safetensors header: " + e.what());
  }
  if (!header.is_object()) throw bad_checkpoint(path + ": safetensors header is not a JSON object");
  uint64_t data_start = 8 + header_length;
  uint64_t data_size = file->size() - data_start;
  for (const auto& [name, info] : header.members()) {
    if (name == "__metadata__") continue;
    std::string where = path + ": tensor " + name;
    const Json* dtype = info.find("dtype");
    const Json* shape = info.find("shape");
    const Json* offsets = info.find("data_offsets");
    if (dtype == nullptr || !dtype->is_string() || shape == nullptr || !shape->is_array() ||
        offsets == nullptr || !offsets->is_array() || offsets->items().size() != 2)
      throw bad_checkpoint(where + ": needs dtype, shape and data_offsets [begin, end]");
    TensorEntry entry;
    entry.file = file;
    entry.dtype = safetensors_dtype(dtype->as_string(), where);
    uint64_t numel = 1;
    for (const Json& dim : shape->items()) {
      if (!dim.is_integer() || dim.as_int() < 0) throw bad_checkpoint(where + ": bad shape");
      entry.shape.push_back(dim.as_int());
      numel *= static_cast<uint64_t>(dim.as_int());
    }
    const Json& b = offsets->items()[0];
    const Json& e = offsets->items()[1];
    if (!b.is_integer() || !e.is_integer() || b.as_int() < 0 || e.as_int() < b.as_int())
      throw bad_checkpoint(where + ": bad data_offsets");
    uint64_t begin = static_cast<uint64_t>(b.as_int());
    uint64_t end = static_cast<uint64_t>(e.as_int());
    if (end > data_size)
      throw bad_checkpoint(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") run past the end of the file (" + std::to_string(data_size) +
                           " data bytes); the file is truncated or corrupt");
    uint64_t expected = numel * torch::elementSize(entry.dtype);
    if (end - begin != expected)
      throw bad_checkpoint(where + ": holds " + std::to_string(end - begin) + " bytes, but shape " +
                           shape_text(entry.shape) + " needs " + std::to_string(expected));
    entry.begin = data_start + begin;
    entry.end = data_start + end;
    if (!entries.emplace(name, std::move(entry)).second)
      throw bad_checkpoint(where + ": appears in more than one file");
  }
}

// Reads the single file, or every shard the index names, checking the index against the shards.
std::map<std::string, TensorEntry> read_entries(const std::string& directory) {
  std::map<std::string, TensorEntry> entries;
  std::string index_path = directory + "/" + kIndex;
  std::string single_path = directory + "/" + kSingleFile;
  if (exists(index_path)) {
    Json index = parse_json_file(index_path);
    const Json* map = index.find("weight_map");
    if (map == nullptr || !map->is_object()) throw bad_checkpoint(index_path + ": missing object 'weight_map'");
    std::set<std::string> shards;
    for (const auto& [name, shard] : map->members()) {
      if (!shard.is_string() || shard.as_string().empty() || shard.as_string().find('/') != std::string::npos)
        throw bad_checkpoint(index_path + ": tensor " + name + " names a bad shard file");
      shards.insert(shard.as_string());
    }
    for (const std::string& shard : shards) {
      std::string path = directory + "/" + shard;
      if (!exists(path)) throw bad_checkpoint(index_path + ": shard " + shard + " is missing");
      read_safetensors(path, entries);
    }
    for (const auto& [name, shard] : map->members()) {
      auto it = entries.find(name);
      if (it == entries.end() || it->second.file->path() != directory + "/" + shard.as_string())
        throw bad_checkpoint(index_path + ": tensor " + name + " is not in shard " + shard.as_string());
    }
    if (entries.size() != map->members().size())
      throw bad_checkpoint(index_path + ": the shards hold tensors that weight_map does not list");
  } else if (exists(single_path)) {
    read_safetensors(single_path, entries);
  } else {
    throw bad_checkpoint(directory + ": no " + kSingleFile + " or " + kIndex);
  }
  return entries;
}

// The tensor on the device in the compute dtype. On the CPU with a matching, aligned dtype the
// mapped file backs the tensor directly (no copy); otherwise the converted copy lets the pages go.
torch::Tensor materialise(const TensorEntry& entry, torch::ScalarType dtype, torch::Device device) {
  void* data = entry.file->data() + entry.begin;
  auto cpu = torch::TensorOptions().dtype(entry.dtype).device(torch::kCPU);
  bool aligned = reinterpret_cast<uintptr_t>(data) % torch::elementSize(entry.dtype) == 0;
  if (device.is_cpu() && entry.dtype == dtype && aligned) {
    std::shared_ptr<Mapping> keep = entry.file;
    return torch::from_blob(data, entry.shape, [keep](void*) {}, cpu);
  }
  torch::Tensor source = aligned ? torch::from_blob(data, entry.shape, cpu)
                                 : torch::from_blob(data, entry.shape, cpu).clone();
  torch::Tensor result = source.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  entry.file->release(entry.begin, entry.end);
  return result;
}

}  // namespace

Config Config::read(const std::string& directory) {
  std::string path = directory + "/" + kConfig;
  if (!exists(directory)) throw bad_checkpoint("model directory " + directory + " does not exist");
  if (!exists(path)) throw bad_checkpoint(directory + ": missing " + kConfig);
  ConfigReader r(path);
  r.require_text("block_type", "llama");
  r.require_text("layer_norm_type", "rms");
  r.require_text("activation_type", "silu");
  r.require_flag("include_bias", false);
  r.require_flag("include_qkv_bias", false);
  r.require_flag("bias_for_layer_norm", false);
  r.require_flag("layer_norm_with_affine", true);
  r.require_flag("alibi", false);
  r.require_flag("attention_layer_norm", false);
  r.require_flag("input_emb_norm", false);
  r.require_flag("scale_logits", false);
  r.require_flag("rope", true);
  r.require_flag("rope_full_precision", true);
  r.require_flag("multi_query_attention", false);
  r.require_null("clip_qkv");

  Config c;
  c.d_model = r.integer("d_model", 0, true);
  c.n_layers = r.integer("n_layers", 0, true);
  c.n_heads = r.integer("n_heads", 0, true);
  c.n_kv_heads = r.integer("n_kv_heads", c.n_heads);
  c.vocab_size = r.integer("vocab_size", 0, true);
  c.embedding_size = r.integer("embedding_size", c.vocab_size);
  c.mlp_hidden_size = r.integer("mlp_hidden_size", 0);
  if (c.mlp_hidden_size == 0) c.mlp_hidden_size = r.integer("mlp_ratio", 0, true) * c.d_model;
  c.max_sequence_length = r.integer("max_sequence_length", 0, true);
  c.mask_token_id = r.integer("mask_token_id", 0, true);
  c.eos_token_id = r.integer("eos_token_id", 0, true);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-5);
  c.rope_theta = r.number("rope_theta", 10000.0);
  c.weight_tying = r.flag("weight_tying", false);

  if (c.d_model <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.vocab_size <= 0 || c.mlp_hidden_size <= 0 ||
      c.max_sequence_length <= 0)
    r.fail("d_model, n_layers, n_heads, vocab_size, mlp_hidden_size and max_sequence_length must be positive");
  if (c.d_model % c.n_heads != 0 || c.head_dim() % 2 != 0)
    r.fail("d_model " + std::to_string(c.d_model) + " must split into n_heads " + std::to_string(c.n_heads) +
           " heads of even size");
  if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0)
    r.fail("n_kv_heads " + std::to_string(c.n_kv_heads) + " must divide n_heads " + std::to_string(c.n_heads));
  if (c.embedding_size < c.vocab_size)
    r.fail("embedding_size " + std::to_string(c.embedding_size) + " is smaller than vocab_size " +
           std::to_string(c.vocab_size));
  if (c.mask_token_id < 0 || c.mask_token_id >= c.vocab_size)
    r.fail("mask_token_id " + std::to_string(c.mask_token_id) + " is outside the vocabulary");
  if (c.eos_token_id < 0 || c.eos_token_id >= c.vocab_size)
    r.fail("eos_token_id " + std::to_string(c.eos_token_id) + " is outside the vocabulary");
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) r.fail("rms_norm_eps and rope_theta must be positive");
  return c;
}

std::map<std::string, std::vector<int64_t>> tensor_shapes(const Config& c) {
  const int64_t kv = c.n_kv_heads * c.head_dim();
  std::map<std::string, std::vector<int64_t>> shapes;
  shapes["model.transformer.wte.weight"] = {c.embedding_size, c.d_model};
  shapes["model.transformer.ln_f.weight"] = {c.d_model};
  if (!c.weight_tying) shapes["model.transformer.ff_out.weight"] = {c.embedding_size, c.d_model};
  for (int64_t i = 0; i < c.n_layers; ++i) {
    std::string p = "model.transformer.blocks." + std::to_string(i) + ".";
    shapes[p + "attn_norm.weight"] = {c.d_model};
    shapes[p + "q_proj.weight"] = {c.d_model, c.d_model};
    shapes[p + "k_proj.weight"] = {kv, c.d_model};
    shapes[p + "v_proj.weight"] = {kv, c.d_model};
    shapes[p + "attn_out.weight"] = {c.d_model, c.d_model};
    shapes[p + "ff_norm.weight"] = {c.d_model};
    shapes[p + "ff_proj.weight"] = {c.mlp_hidden_size, c.d_model};
    shapes[p + "up_proj.weight"] = {c.mlp_hidden_size, c.d_model};
    shapes[p + "ff_out.weight"] = {c.d_model, c.mlp_hidden_size};
  }
  return shapes;
}

std::map<std::string, torch::Tensor> load_weights(const std::string& directory, const Config& config,
                                                  torch::ScalarType dtype, torch::Device device) {
  std::map<std::string, TensorEntry> entries = read_entries(directory);
  std::map<std::string, std::vector<int64_t>> shapes = tensor_shapes(config);
  for (const auto& [name, entry] : entries) {
    auto it = shapes.find(name);
    if (it == shapes.end()) throw bad_checkpoint(directory + ": unexpected tensor " + name);
    if (entry.shape != it->second)
      throw bad_checkpoint(directory + ": tensor " + name + " has shape " + shape_text(entry.shape) +
                           ", config.json implies " + shape_text(it->second));
  }
  for (const auto& [name, shape] : shapes)
    if (entries.find(name) == entries.end()) throw bad_checkpoint(directory + ": missing tensor " + name);

  std::map<std::string, torch::Tensor> weights;
  for (const auto& [name, entry] : entries) weights[name] = materialise(entry, dtype, device);
  return weights;
}

}  // namespace remask

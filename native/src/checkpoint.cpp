#include "checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

  void require_text_in(const std::string& key, const std::string& supported, const std::string& fallback) const {
    std::string value = text(key, fallback);
    if (value != supported)
      throw bad_checkpoint(path_ + ": unsupported " + key + " '" + value + "' (remask runs '" + supported + "')");
  }

  // A switch the family's published code reads: present and not `supported`, it is refused.
  void require_off(const std::string& key) const {
    const Json* v = json_.find(key);
    if (v != nullptr && !v->is_null() && !(v->is_bool() && !v->as_bool()))
      throw bad_checkpoint(path_ + ": unsupported " + key + " (remask runs " + key + " = null or false)");
  }

  const Json* find(const std::string& key) const { return json_.find(key); }

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
// mapped file backs the tensor directly (no copy), and its pages go back when the tensor is freed (an int8 load
// reads each linear weight once, quantizes it and drops it: without this, all 16 GB of an 8B bfloat16 checkpoint
// stayed resident beside the 8 GB of int8 weights); otherwise the converted copy lets the pages go.
torch::Tensor materialise(const TensorEntry& entry, torch::ScalarType dtype, torch::Device device) {
  void* data = entry.file->data() + entry.begin;
  auto cpu = torch::TensorOptions().dtype(entry.dtype).device(torch::kCPU);
  bool aligned = reinterpret_cast<uintptr_t>(data) % torch::elementSize(entry.dtype) == 0;
  if (device.is_cpu() && entry.dtype == dtype && aligned) {
    std::shared_ptr<Mapping> keep = entry.file;
    return torch::from_blob(data, entry.shape, [keep, begin = entry.begin, end = entry.end](void*) { keep->release(begin, end); }, cpu);
  }
  torch::Tensor source = aligned ? torch::from_blob(data, entry.shape, cpu)
                                 : torch::from_blob(data, entry.shape, cpu).clone();
  torch::Tensor result = source.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  entry.file->release(entry.begin, entry.end);
  return result;
}

}  // namespace

const char* architecture_name(Family family) {
  switch (family) {
    case Family::Llada: return "LLaDAModelLM";
    case Family::Dream: return "DreamModel";
    case Family::LladaMoe: return "LLaDAMoEModelLM";
    case Family::Llada2: return "LLaDA2MoeModelLM";
  }
  return "?";
}

namespace {

// The id of DIR/tokenizer.json's added token with this text, or -1 without the file or the token.
int64_t added_token_id(const std::string& directory, const std::string& content) {
  std::string path = directory + "/tokenizer.json";
  if (!exists(path)) return -1;
  Json tokenizer = parse_json_file(path);
  const Json* added = tokenizer.find("added_tokens");
  if (added == nullptr || !added->is_array()) return -1;
  for (const Json& token : added->items()) {
    const Json* text = token.find("content");
    const Json* id = token.find("id");
    if (text != nullptr && text->is_string() && text->as_string() == content && id != nullptr && id->is_integer())
      return id->as_int();
  }
  return -1;
}

// A special token's id: config.json's field, else (the inclusionAI MoEs leave the mask id out of it) the
// tokenizer's added token.
int64_t special_id(const ConfigReader& r, const std::string& directory, const std::string& key,
                   const std::string& token) {
  int64_t id = r.integer(key, -1);
  if (id >= 0) return id;
  id = added_token_id(directory, token);
  if (id < 0) r.fail("missing field '" + key + "', and no tokenizer.json beside it names " + token);
  return id;
}

void require_silu(const ConfigReader& r) { r.require_text_in("hidden_act", "silu", "silu"); }

void require_default_rope(const ConfigReader& r) {
  const Json* scaling = r.find("rope_scaling");
  if (scaling != nullptr && !scaling->is_null())
    r.fail("unsupported rope_scaling (remask runs the default RoPE: rope_scaling = null)");
}

// The first int(head_dim * partial_rotary_factor) dims of each head turn, as Hugging Face's default RoPE.
int64_t rotary_dims(const ConfigReader& r, int64_t head_dim) {
  double factor = r.number("partial_rotary_factor", 1.0);
  auto dims = static_cast<int64_t>(static_cast<double>(head_dim) * factor);
  if (!(factor > 0 && factor <= 1) || dims % 2 != 0 || dims == 0)
    r.fail("partial_rotary_factor " + std::to_string(factor) + " must turn an even, non-zero part of head_dim " +
           std::to_string(head_dim));
  return dims;
}

// Hugging Face's names of the trunk's sizes (Dream, LLaDA-MoE and LLaDA2 share them).
void read_hf_trunk(const ConfigReader& r, Config& c) {
  c.d_model = r.integer("hidden_size", 0, true);
  c.n_layers = r.integer("num_hidden_layers", 0, true);
  c.n_heads = r.integer("num_attention_heads", 0, true);
  c.n_kv_heads = r.integer("num_key_value_heads", c.n_heads);
  c.vocab_size = r.integer("vocab_size", 0, true);
  c.embedding_size = c.vocab_size;
  c.max_sequence_length = r.integer("max_position_embeddings", 0, true);
  c.rope_theta = r.number("rope_theta", 10000.0);
  c.weight_tying = r.flag("tie_word_embeddings", false);
  require_silu(r);
  require_default_rope(r);
}

Config read_llada(const ConfigReader& r) {
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
  return c;
}

// Qwen2.5's trunk (q/k/v biases, GQA) under Dream's shifted head: modeling_dream.py.
Config read_dream(const ConfigReader& r) {
  r.require_off("use_sliding_window");
  r.require_off("use_mrope");
  Config c;
  c.family = Family::Dream;
  read_hf_trunk(r, c);
  c.mlp_hidden_size = r.integer("intermediate_size", 0, true);
  c.mask_token_id = r.integer("mask_token_id", 0, true);
  c.eos_token_id = r.integer("eos_token_id", 0, true);
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  c.qkv_bias = true;
  c.shifted_logits = true;
  return c;
}

// OLMoE's trunk with per-head q/k norms and softmax routing: modeling_lladamoe.py.
Config read_lladamoe(const ConfigReader& r, const std::string& directory) {
  r.require_off("attention_bias");
  r.require_null("clip_qkv");
  Config c;
  c.family = Family::LladaMoe;
  read_hf_trunk(r, c);
  c.rotary_dims = rotary_dims(r, c.d_model / std::max<int64_t>(c.n_heads, 1));
  c.mlp_hidden_size = r.integer("dense_intermediate_size", 0);
  c.mask_token_id = special_id(r, directory, "mask_token_id", "<|mask|>");
  c.eos_token_id = special_id(r, directory, "eos_token_id", "<|endoftext|>");
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-5);
  c.qk_norm = r.flag("qk_layernorm", false);
  c.n_experts = r.integer("num_experts", 0, true);
  c.experts_per_token = r.integer("num_experts_per_tok", 0, true);
  c.expert_hidden_size = r.integer("expert_intermediate_size", 0, true);
  c.shared_expert_hidden_size = r.integer("shared_expert_intermediate_size", 0);
  c.expert_bias = r.flag("moe_router_enable_expert_bias", false);
  c.router = Config::Router::Softmax;
  const Json* freq = r.find("moe_layer_freq");
  if (freq == nullptr || !freq->is_array() || static_cast<int64_t>(freq->items().size()) != c.n_layers)
    r.fail("moe_layer_freq must list every layer (1: routed experts, 0: dense)");
  for (const Json& f : freq->items()) {
    if (!f.is_integer()) r.fail("moe_layer_freq must list integers");
    c.moe_layers.push_back(f.as_int() != 0);
  }
  return c;
}

// Ling's trunk: fused QKV, q/k norms, partial RoPE, a dense first layer, grouped sigmoid routing with a
// shared expert: modeling_llada2_moe.py. Its use_qk_norm, norm_topk_prob and score_function are not read there.
Config read_llada2(const ConfigReader& r, const std::string& directory) {
  r.require_off("use_qkv_bias");
  r.require_off("use_bias");
  Config c;
  c.family = Family::Llada2;
  read_hf_trunk(r, c);
  c.head_size = r.integer("head_dim", 0);
  c.rotary_dims = rotary_dims(r, c.head_dim());
  c.mlp_hidden_size = r.integer("intermediate_size", 0, true);
  c.mask_token_id = special_id(r, directory, "mask_token_id", "<|mask|>");
  c.eos_token_id = special_id(r, directory, "eos_token_id", "<|endoftext|>");
  c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  c.qk_norm = true;
  c.n_experts = r.integer("num_experts", 0, true);
  c.experts_per_token = r.integer("num_experts_per_tok", 0, true);
  c.expert_hidden_size = r.integer("moe_intermediate_size", 0, true);
  c.shared_expert_hidden_size = c.expert_hidden_size * r.integer("num_shared_experts", 0);
  c.expert_bias = true;
  c.router = Config::Router::GroupedSigmoid;
  c.router_groups = r.integer("n_group", 1);
  c.router_groups_kept = r.integer("topk_group", 1);
  c.routed_scaling = r.number("routed_scaling_factor", 1.0);
  int64_t dense = r.integer("first_k_dense_replace", 0);
  if (dense < 0 || dense > c.n_layers)
    r.fail("first_k_dense_replace " + std::to_string(dense) + " is not a layer count");
  for (int64_t i = 0; i < c.n_layers; ++i) c.moe_layers.push_back(i >= dense);
  if (c.router_groups <= 0 || c.n_experts % c.router_groups != 0 || c.n_experts / c.router_groups < 2 ||
      c.router_groups_kept <= 0 || c.router_groups_kept > c.router_groups ||
      c.router_groups_kept * (c.n_experts / c.router_groups) < c.experts_per_token)
    r.fail("n_group " + std::to_string(c.router_groups) + " and topk_group " + std::to_string(c.router_groups_kept) +
           " must split num_experts " + std::to_string(c.n_experts) + " into groups of two or more and keep at least" +
           " num_experts_per_tok of them");
  return c;
}

// What every family needs of its sizes and ids.
void check(const ConfigReader& r, const Config& c) {
  // The fields by the names the family's config.json gives them.
  bool llada = c.family == Family::Llada;
  std::string d_model = llada ? "d_model" : "hidden_size", heads = llada ? "n_heads" : "num_attention_heads",
              kv_heads = llada ? "n_kv_heads" : "num_key_value_heads";
  if (c.d_model <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.vocab_size <= 0 || c.max_sequence_length <= 0)
    r.fail(d_model + ", the layer count, " + heads + ", vocab_size and the maximum sequence length must be positive");
  if (c.head_size < 0 || (c.head_size == 0 && c.d_model % c.n_heads != 0) || c.head_dim() % 2 != 0)
    r.fail(d_model + " " + std::to_string(c.d_model) + " must split into " + heads + " " + std::to_string(c.n_heads) +
           " heads of even size");
  if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0)
    r.fail(kv_heads + " " + std::to_string(c.n_kv_heads) + " must divide " + heads + " " + std::to_string(c.n_heads));
  bool dense = c.n_experts == 0 || std::find(c.moe_layers.begin(), c.moe_layers.end(), false) != c.moe_layers.end();
  if (dense && c.mlp_hidden_size <= 0) r.fail("the dense SwiGLU's width must be positive");
  if (c.n_experts > 0 && (c.experts_per_token <= 0 || c.experts_per_token > c.n_experts || c.expert_hidden_size <= 0 ||
                          c.shared_expert_hidden_size < 0))
    r.fail("num_experts_per_tok must lie in [1, num_experts], and the experts' widths must be positive");
  if (c.embedding_size < c.vocab_size)
    r.fail("embedding_size " + std::to_string(c.embedding_size) + " is smaller than vocab_size " +
           std::to_string(c.vocab_size));
  if (c.mask_token_id < 0 || c.mask_token_id >= c.vocab_size)
    r.fail("mask_token_id " + std::to_string(c.mask_token_id) + " is outside the vocabulary");
  if (c.eos_token_id < 0 || c.eos_token_id >= c.vocab_size)
    r.fail("eos_token_id " + std::to_string(c.eos_token_id) + " is outside the vocabulary");
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0)) r.fail("rms_norm_eps and rope_theta must be positive");
}

}  // namespace

Config Config::read(const std::string& directory) {
  std::string path = directory + "/" + kConfig;
  if (!exists(directory)) throw bad_checkpoint("model directory " + directory + " does not exist");
  if (!exists(path)) throw bad_checkpoint(directory + ": missing " + kConfig);
  ConfigReader r(path);
  std::string architecture = architecture_name(Family::Llada);
  if (const Json* list = r.find("architectures"); list != nullptr && !list->is_null()) {
    if (!list->is_array() || list->items().empty() || !list->items().front().is_string())
      r.fail("architectures must list the model's class name");
    architecture = list->items().front().as_string();
  }
  Config c;
  if (architecture == architecture_name(Family::Llada)) c = read_llada(r);
  else if (architecture == architecture_name(Family::Dream)) c = read_dream(r);
  else if (architecture == architecture_name(Family::LladaMoe)) c = read_lladamoe(r, directory);
  else if (architecture == architecture_name(Family::Llada2)) c = read_llada2(r, directory);
  else
    r.fail("unsupported architecture '" + architecture + "' (remask runs LLaDAModelLM, DreamModel, LLaDAMoEModelLM" +
           " and LLaDA2MoeModelLM)");
  check(r, c);
  return c;
}

const TensorNames& tensor_names(Family family) {
  static const TensorNames llada{"model.transformer.wte.weight", "model.transformer.ln_f.weight",
                                 "model.transformer.ff_out.weight", "model.transformer.blocks.",
                                 "attn_norm.weight", "q_proj.weight", "k_proj.weight", "v_proj.weight", "", "", "",
                                 "attn_out.weight", "ff_norm.weight",
                                 "ff_proj.weight", "up_proj.weight", "ff_out.weight", "", "", "", ""};
  static const TensorNames hugging_face{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                                        "model.layers.", "input_layernorm.weight", "self_attn.q_proj.weight",
                                        "self_attn.k_proj.weight", "self_attn.v_proj.weight", "",
                                        "self_attn.q_norm.weight", "self_attn.k_norm.weight", "self_attn.o_proj.weight",
                                        "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                                        "mlp.down_proj.weight", "mlp.gate.weight", "mlp.expert_bias", "mlp.experts.",
                                        "shared_expert."};
  static const TensorNames ling{"model.word_embeddings.weight", "model.norm.weight", "lm_head.weight", "model.layers.",
                                "input_layernorm.weight", "", "", "", "attention.query_key_value.weight",
                                "attention.query_layernorm.weight", "attention.key_layernorm.weight",
                                "attention.dense.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight",
                                "mlp.up_proj.weight", "mlp.down_proj.weight", "mlp.gate.weight",
                                "mlp.gate.expert_bias", "mlp.experts.", "mlp.shared_experts."};
  switch (family) {
    case Family::Llada: return llada;
    case Family::Llada2: return ling;
    default: return hugging_face;
  }
}

std::map<std::string, std::vector<int64_t>> tensor_shapes(const Config& c) {
  const TensorNames& n = tensor_names(c.family);
  const int64_t d = c.d_model, hd = c.head_dim(), q = c.n_heads * hd, kv = c.n_kv_heads * hd;
  std::map<std::string, std::vector<int64_t>> shapes;
  auto swiglu = [&shapes, d](const std::string& prefix, int64_t hidden) {
    shapes[prefix + "gate_proj.weight"] = {hidden, d};
    shapes[prefix + "up_proj.weight"] = {hidden, d};
    shapes[prefix + "down_proj.weight"] = {d, hidden};
  };
  shapes[n.embedding] = {c.embedding_size, d};
  shapes[n.final_norm] = {d};
  if (!c.weight_tying) shapes[n.lm_head] = {c.embedding_size, d};
  for (int64_t i = 0; i < c.n_layers; ++i) {
    auto at = [&n, i](const std::string& suffix) { return n.layer(i, suffix); };
    shapes[at(n.attn_norm)] = {d};
    shapes[at(n.ff_norm)] = {d};
    shapes[at(n.attn_out)] = {d, q};
    if (!n.qkv.empty()) {
      shapes[at(n.qkv)] = {q + 2 * kv, d};
    } else {
      shapes[at(n.q)] = {q, d};
      shapes[at(n.k)] = {kv, d};
      shapes[at(n.v)] = {kv, d};
    }
    if (c.qkv_bias) {
      shapes[at(TensorNames::bias(n.q))] = {q};
      shapes[at(TensorNames::bias(n.k))] = {kv};
      shapes[at(TensorNames::bias(n.v))] = {kv};
    }
    if (c.qk_norm) {
      shapes[at(n.q_norm)] = {hd};
      shapes[at(n.k_norm)] = {hd};
    }
    if (!c.moe_layer(i)) {
      shapes[at(n.gate)] = {c.mlp_hidden_size, d};
      shapes[at(n.up)] = {c.mlp_hidden_size, d};
      shapes[at(n.down)] = {d, c.mlp_hidden_size};
      continue;
    }
    shapes[at(n.router)] = {c.n_experts, d};
    if (c.expert_bias) shapes[at(n.expert_bias)] = {c.n_experts};
    for (int64_t e = 0; e < c.n_experts; ++e) swiglu(at(n.experts + std::to_string(e) + "."), c.expert_hidden_size);
    if (c.shared_expert_hidden_size > 0) swiglu(at(n.shared), c.shared_expert_hidden_size);
  }
  return shapes;
}

std::map<std::string, torch::Tensor> load_weights(const std::string& directory, const Config& config,
                                                  std::optional<torch::ScalarType> dtype, torch::Device device) {
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
  for (const auto& [name, entry] : entries) weights[name] = materialise(entry, dtype.value_or(entry.dtype), device);
  return weights;
}

}  // namespace remask

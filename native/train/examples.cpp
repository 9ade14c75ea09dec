#include "examples.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace remask {
namespace {

std::vector<int64_t> parse_ids(const std::string& text, int64_t vocab_size, int64_t mask_id,
                               const std::string& where) {
  std::vector<int64_t> ids;
  const char* p = text.c_str();
  while (true) {
    while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
    if (*p == '\0') return ids;
    char* end = nullptr;
    errno = 0;
    long long id = std::strtoll(p, &end, 10);
    if (end == p || errno != 0 || (*end != '\0' && *end != ' ' && *end != '\t' && *end != '\r'))
      throw std::runtime_error(where + ": '" + std::string(p, std::min<size_t>(std::strlen(p), 20)) +
                               "' is not a token id");
    if (id < 0 || id >= vocab_size)
      throw std::runtime_error(where + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                               std::to_string(vocab_size) + ")");
    if (id == mask_id) throw std::runtime_error(where + ": holds the mask id " + std::to_string(id));
    ids.push_back(id);
    p = end;
  }
}

}  // namespace

std::vector<Example> read_examples(const std::string& path, int64_t vocab_size, int64_t mask_id, int64_t eos_id,
                                   int64_t gen_length) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Example> examples;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(number);
    size_t bar = line.find('|');
    if (bar == std::string::npos || line.find('|', bar + 1) != std::string::npos)
      throw std::runtime_error(where + ": expected prompt ids, one '|', answer ids");
    Example e{parse_ids(line.substr(0, bar), vocab_size, mask_id, where),
              parse_ids(line.substr(bar + 1), vocab_size, mask_id, where)};
    if (static_cast<int64_t>(e.answer.size()) > gen_length - 1)
      throw std::runtime_error(where + ": answer of " + std::to_string(e.answer.size()) +
                               " tokens; --gen-length " + std::to_string(gen_length) + " allows " +
                               std::to_string(gen_length - 1) + " plus eos");
    e.answer.resize(static_cast<size_t>(gen_length), eos_id);
    examples.push_back(std::move(e));
  }
  if (examples.empty()) throw std::runtime_error(path + ": no examples");
  return examples;
}

}  // namespace remask

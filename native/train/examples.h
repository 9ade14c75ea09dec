// The trainer's data file: one example a line, prompt token ids '|' answer token ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace remask {

struct Example {
  std::vector<int64_t> prompt;
  std::vector<int64_t> answer;  // padded with eos to the generation length
};

// Reads FILE ("12 40 7|88 9 3"; blank lines are skipped). Every id must be in [0, vocab_size) and
// not the mask id; answers (without eos) may hold at most gen_length - 1 ids, so every padded answer
// ends in eos. Throws std::runtime_error naming the file and line of the first problem.
std::vector<Example> read_examples(const std::string& path, int64_t vocab_size, int64_t mask_id, int64_t eos_id,
                                   int64_t gen_length);

}  // namespace remask

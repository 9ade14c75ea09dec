// The one exception type the shim throws itself; api.cpp turns it into a status and a message.
#pragma once

#include <stdexcept>
#include <string>

#include "remask.h"

namespace remask {

class Error : public std::runtime_error {
 public:
  Error(int32_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int32_t status() const { return status_; }

 private:
  int32_t status_;
};

inline Error invalid_argument(const std::string& message) {
  return Error(REMASK_ERR_INVALID_ARGUMENT, message);
}

inline Error bad_checkpoint(const std::string& message) {
  return Error(REMASK_ERR_CHECKPOINT, message);
}

}  // namespace remask

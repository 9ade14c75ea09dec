// The native test programs' one assertion: prints "ok" or "FAIL" with what was checked and counts it;
// each program ends with report(), whose "N passed, N failed" line scripts/test adds up.
#pragma once

#include <cstdio>
#include <string>

namespace checks {

inline int passed = 0;
inline int failed = 0;

inline void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  ++(ok ? passed : failed);
}

// The summary line and the exit status.
inline int report() {
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace checks

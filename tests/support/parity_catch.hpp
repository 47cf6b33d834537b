#pragma once
// The parity cases of parity.hpp as Catch2 sections: each case a section of its own (so -s lists every
// comparison under the case's name, and a case that throws, e.g. for a missing fixture, fails alone).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "parity.hpp"

namespace ctnn_test::parity {

inline void catch_report(bool ok, const std::string& message) {
  if (ok) SUCCEED(message);
  else FAIL_CHECK(message);
}

inline void run_sections(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { c.run(catch_report); }
  }
}

}  // namespace ctnn_test::parity

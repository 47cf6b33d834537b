// Differential test of backend::thrust<> on Thrust's OMP system (issue 9): every op run directly with
// run-time geometry against backend::reference (double), over the named boundary cases and random
// geometries of tests/support/geometry.hpp, on 1 and 2 threads. Thrust's kernels compute each value in
// one work item in a fixed order, and sums in fixed blocks, so the two thread counts must give the same
// bits.
//
// Reproduce a failure: CTNN_DIFF_SEED=<seed> ./backend.test_thrust_differential "<test case>"
// (CTNN_DIFF_COUNT, CTNN_DIFF_THREADS, CTNN_DIFF_STRIDE: see tests/support/geometry.hpp and
// differential.hpp). -s prints a summary line per op.
#include <catch2/catch.hpp>
#include <ctnn/backend/thrust.hpp>
#include <ctnn/ctnn.hpp>

#include <string>

#include "differential.hpp"

namespace {

using namespace ctnn_test::diff;

void check_op(const std::string& op) {
  const std::uint64_t seed = base_seed();
  CAPTURE(seed);
  std::size_t shown = 0;
  const op_stats s = run_op<ctnn::backend::thrust<>>(op, seed, random_count(120), thread_counts({1, 2}), true,
                                                     [&](const std::string& m) {
                                                       if (++shown <= 10) FAIL_CHECK(m);
                                                     });
  SUCCEED("thrust vs reference: " << s.summary());
  CHECK(s.failures == 0);
  CHECK(s.geometries >= s.named + random_count(120) / 4);
}

}  // namespace

TEST_CASE("thrust vs reference: every op", "[thrust][differential]") {
  for (const std::string& op : op_names()) {
    SECTION(op) { check_op(op); }
  }
}

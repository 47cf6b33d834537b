// Differential test of the Eigen backend (issue 9): every op of backend::ops<eigen> run directly with
// run-time geometry against backend::reference (double, plain loops) on the same inputs, over a fixed
// list of named boundary cases (each fast path of the Eigen backend at its thresholds, see
// tests/support/geometry.hpp) and hundreds of random geometries per op, on 1 and 2 threads; the two
// thread counts must give the same bits. Tolerances: tests/support/differential.hpp.
//
// Reproduce a failure: its message names the seed and the case, e.g.
//   CTNN_DIFF_SEED=20261201 ./differential.test_ops "eigen vs reference: conv2d"
// CTNN_DIFF_COUNT=<n> changes the number of random geometries per op (default 300). With -s every op
// prints a summary line: geometries, largest error, its ratio to the tolerance.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <string>

#include "differential.hpp"

namespace {

using namespace ctnn_test::diff;

void check_op(const std::string& op) {
  const std::uint64_t seed = base_seed();
  CAPTURE(seed);
  std::size_t shown = 0;
  const op_stats s = run_op<ctnn::backend::eigen>(op, seed, random_count(300), thread_counts({1, 2}), true, [&](const std::string& m) {
    if (++shown <= 10) FAIL_CHECK(m);  // the first few in full; the count below says how many more
  });
  SUCCEED("eigen vs reference: " << s.summary());
  CHECK(s.failures == 0);
  CHECK(s.geometries >= s.named + random_count(300) / 4);
}

}  // namespace

TEST_CASE("eigen vs reference: gemm", "[differential][gemm]") { check_op("gemm"); }
TEST_CASE("eigen vs reference: relu", "[differential][elementwise]") { check_op("relu"); }
TEST_CASE("eigen vs reference: sigmoid", "[differential][elementwise]") { check_op("sigmoid"); }
TEST_CASE("eigen vs reference: tanh", "[differential][elementwise]") { check_op("tanh"); }
TEST_CASE("eigen vs reference: sum", "[differential][reduction]") { check_op("sum"); }
TEST_CASE("eigen vs reference: mse_loss", "[differential][loss]") { check_op("mse_loss"); }
TEST_CASE("eigen vs reference: l1_loss", "[differential][loss]") { check_op("l1_loss"); }
TEST_CASE("eigen vs reference: bce_loss", "[differential][loss]") { check_op("bce_loss"); }
TEST_CASE("eigen vs reference: bce_with_logits_loss", "[differential][loss]") { check_op("bce_with_logits_loss"); }
TEST_CASE("eigen vs reference: sgd_update", "[differential][optim]") { check_op("sgd_update"); }
TEST_CASE("eigen vs reference: adam_update", "[differential][optim]") { check_op("adam_update"); }
TEST_CASE("eigen vs reference: amsgrad_update", "[differential][optim]") { check_op("amsgrad_update"); }
TEST_CASE("eigen vs reference: adadelta_update", "[differential][optim]") { check_op("adadelta_update"); }
TEST_CASE("eigen vs reference: adagrad_update", "[differential][optim]") { check_op("adagrad_update"); }
TEST_CASE("eigen vs reference: rmsprop_update", "[differential][optim]") { check_op("rmsprop_update"); }
TEST_CASE("eigen vs reference: fill/dropout", "[differential][rng]") { check_op("fill/dropout"); }
TEST_CASE("eigen vs reference: bias", "[differential][reduction]") { check_op("bias"); }
TEST_CASE("eigen vs reference: softmax", "[differential][rows]") { check_op("softmax"); }
TEST_CASE("eigen vs reference: log_softmax", "[differential][rows]") { check_op("log_softmax"); }
TEST_CASE("eigen vs reference: cross_entropy", "[differential][loss]") { check_op("cross_entropy"); }
TEST_CASE("eigen vs reference: nll", "[differential][loss]") { check_op("nll"); }
TEST_CASE("eigen vs reference: maxpool", "[differential][pool]") { check_op("maxpool"); }
TEST_CASE("eigen vs reference: avgpool", "[differential][pool]") { check_op("avgpool"); }
TEST_CASE("eigen vs reference: conv2d", "[differential][conv]") { check_op("conv2d"); }
TEST_CASE("eigen vs reference: adaptive_avgpool", "[differential][pool]") { check_op("adaptive_avgpool"); }
TEST_CASE("eigen vs reference: batchnorm", "[differential][reduction]") { check_op("batchnorm"); }

TEST_CASE("every op of the differential harness has a test case", "[differential]") {
  CHECK(op_names().size() == 26);  // one "eigen vs reference" case above per op
}

// Parity with PyTorch on the host backends: every layer, loss and the seed's three Fashion-MNIST models
// (tests/support/parity.hpp, the cases every backend runs) on eigen (float, 1e-5 of each tensor's scale)
// and reference (double, 1e-9). backend.test_thrust runs the same cases on Thrust, backend.test_cuda on
// CUDA. Each case is a section: run with -s to see the largest error of every compared tensor, or
// -c "<case>" to run one ("Conv2d: kernel 3, stride 2, padding 0").
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <cstddef>
#include <vector>

#include "fixture.hpp"
#include "parity_catch.hpp"

#define CTNN_HOST_BACKENDS ctnn::backend::eigen, ctnn::backend::reference

TEMPLATE_TEST_CASE("PyTorch parity: layers", "[parity][layer]", CTNN_HOST_BACKENDS) {
  ctnn_test::parity::run_sections(ctnn_test::parity::layer_cases<TestType>());
}

TEMPLATE_TEST_CASE("PyTorch parity: losses", "[parity][loss]", CTNN_HOST_BACKENDS) {
  ctnn_test::parity::run_sections(ctnn_test::parity::loss_cases<TestType>());
}

TEMPLATE_TEST_CASE("PyTorch parity: the seed's models", "[parity][model]", CTNN_HOST_BACKENDS) {
  ctnn_test::parity::run_sections(ctnn_test::parity::model_cases<TestType>());
}

TEST_CASE("Fixture reader names the file and the tensor it cannot find", "[parity][fixture]") {
  using ctnn_test::load_fixture;
  CHECK_THROWS_WITH(load_fixture("no_such_case"), Catch::Contains("no_such_case.txt"));
  const ctnn_test::Fixture f = load_fixture("linear");
  CHECK_THROWS_WITH(f.at("no_such_tensor"), Catch::Contains("linear.txt") && Catch::Contains("no_such_tensor"));
  CHECK(f.at("0.weight").is_parameter);
  CHECK(f.at("0.weight").shape == std::vector<std::size_t>{3, 5});
  CHECK(f.parameters().size() == 2);
}

// A parity check that did not hold must say so: a wrong value is reported as a failure naming the
// fixture, the tensor and the index (so a broken comparison cannot pass every case silently).
TEST_CASE("Parity checks report a wrong value with its fixture, tensor and index", "[parity][fixture]") {
  const ctnn_test::Fixture f = ctnn_test::load_fixture("relu");
  std::vector<double> values = f.at("output").values;
  std::vector<std::pair<bool, std::string>> reports;
  const ctnn_test::parity::Report record = [&](bool ok, const std::string& m) { reports.emplace_back(ok, m); };
  ctnn_test::parity::check_close(record, f, "output", values, 1e-9);
  values[5] += 0.5;
  ctnn_test::parity::check_close(record, f, "output", values, 1e-9);
  ctnn_test::parity::check_close(record, f, "output", values, 1e-9, {1, 2, 3});
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].first);
  CHECK_FALSE(reports[1].first);
  CHECK_THAT(reports[1].second, Catch::Contains("relu.txt") && Catch::Contains("'output'") &&
                                    Catch::Contains("(flat 5)"));
  CHECK_FALSE(reports[2].first);
  CHECK_THAT(reports[2].second, Catch::Contains("shape"));
}

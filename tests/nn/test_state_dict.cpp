// load_state_dict's matching rules (nn/state_dict.hpp), as torch.nn.Module.load_state_dict has them:
// strict errors list every missing and unexpected key; strict = false returns them
// (_IncompatibleKeys); shape, value-count, dtype-kind mismatches and duplicate keys are errors in both
// modes; prefix (keys of a larger model) and submodule (PyTorch's model.part.load_state_dict) select
// what is loaded. A failed load changes nothing.
#include <catch2/catch.hpp>
#include <ctnn/ctnn.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "buffered_layer.hpp"

using namespace ctnn;
using Catch::Contains;

namespace {

using Backbone = Block<Linear<4, 6>, ReLU, Linear<6, 5>>;
using Model = Sequential<backend::reference, Input<4>, Named<"backbone", Backbone>, Named<"head", Block<Linear<5, 2>>>>;
using Features = Sequential<backend::reference, Input<4>, Linear<4, 6>, ReLU, Linear<6, 5>>;

std::vector<std::vector<double>> values(Model& m) {
  std::vector<std::vector<double>> out;
  for (auto& t : m.state_dict()) out.push_back(t.values);
  return out;
}
std::string text(const IncompatibleKeys& k) {
  std::ostringstream os;
  os << k;
  return os.str();
}
StateDict<double> without(StateDict<double> s, const std::string& name) {
  std::erase_if(s, [&](const auto& t) { return t.name == name; });
  return s;
}

}  // namespace

TEST_CASE("strict load_state_dict lists every missing and unexpected key and changes nothing", "[state_dict]") {
  Model source{manual_seed(1)}, model{manual_seed(2)};
  const auto before = values(model);
  auto state = without(source.state_dict(), "backbone.0.bias");
  state = without(state, "head.0.weight");
  state.push_back({"head.1.weight", {2, 5}, std::vector<double>(10, 0.5)});
  try {
    model.load_state_dict(state);
    FAIL("no error");
  } catch (const ctnn::error& e) {
    const std::string m = e.what();
    CHECK_THAT(m, Contains("2 missing, 1 unexpected") && Contains("{.strict = false}"));
    CHECK_THAT(m, Contains("missing tensor 'backbone.0.bias' of shape [6]"));
    CHECK_THAT(m, Contains("missing tensor 'head.0.weight' of shape [2, 5]"));
    CHECK_THAT(m, Contains("unexpected tensor 'head.1.weight' of shape [2, 5] (not in this model)"));
  }
  CHECK(values(model) == before);
}

TEST_CASE("strict = false loads what matches and returns PyTorch's _IncompatibleKeys", "[state_dict]") {
  Model source{manual_seed(1)}, model{manual_seed(2)};
  auto state = without(source.state_dict(), "head.0.bias");
  state.push_back({"extra.weight", {1}, {3.0}});
  const auto keys = model.load_state_dict(state, {.strict = false});
  CHECK(keys.missing_keys == std::vector<std::string>{"head.0.bias"});
  CHECK(keys.unexpected_keys == std::vector<std::string>{"extra.weight"});
  CHECK(text(keys) == "_IncompatibleKeys(missing_keys=['head.0.bias'], unexpected_keys=['extra.weight'])");
  const auto loaded = values(model), expected = values(source);
  for (std::size_t i = 0; i + 1 < loaded.size(); ++i) CHECK(loaded[i] == expected[i]);
  CHECK(loaded.back() != expected.back());  // head.0.bias kept its own values

  CHECK(text(model.load_state_dict(source.state_dict())) == "<All keys matched successfully>");
  CHECK(model.load_state_dict(source.state_dict()).empty());
}

TEST_CASE("shape, value count, dtype kind and duplicate keys are errors even when not strict", "[state_dict][errors]") {
  Model source{manual_seed(1)}, model{manual_seed(2)};
  const auto before = values(model);
  auto state = source.state_dict();
  SECTION("shapes, all of them named with both shapes") {
    state[0].shape = {4, 6};
    state[2].shape = {30};
    try {
      model.load_state_dict(state, {.strict = false});
      FAIL("no error");
    } catch (const ctnn::error& e) {
      CHECK_THAT(std::string(e.what()),
                 Contains("tensor 'backbone.0.weight' has shape [4, 6] but the model expects [6, 4]") &&
                     Contains("tensor 'backbone.2.weight' has shape [30] but the model expects [5, 6]"));
    }
  }
  SECTION("a value count that disagrees with the shape") {
    state[1].values.pop_back();
    CHECK_THROWS_WITH(model.load_state_dict(state, {.strict = false}),
                      Contains("tensor 'backbone.0.bias' holds 5 values for shape [6]"));
  }
  SECTION("an int64 tensor for a floating-point one") {
    state[1] = StateTensor<double>::int64("backbone.0.bias", {6}, {1, 2, 3, 4, 5, 6});
    CHECK_THROWS_WITH(model.load_state_dict(state, {.strict = false}),
                      Contains("tensor 'backbone.0.bias' is an int64 tensor but the model's is a floating-point tensor"));
  }
  SECTION("a key twice") {
    state.push_back(state[3]);
    CHECK_THROWS_WITH(model.load_state_dict(state, {.strict = false}),
                      Contains("tensor 'backbone.2.bias' appears twice in the state_dict"));
  }
  CHECK(values(model) == before);
}

TEST_CASE("prefix: loading a part of a larger model's state_dict", "[state_dict][prefix]") {
  Model full{manual_seed(1)};
  Features features{manual_seed(2)};
  // PyTorch: features.load_state_dict({k[9:]: v for k, v in full.state_dict().items() if k.startswith("backbone.")})
  const auto keys = features.load_state_dict(full.state_dict(), {.prefix = "backbone."});
  CHECK(keys.empty());  // head.* does not start with the prefix: not unexpected, just not ours
  const auto f = features.state_dict(), s = full.state_dict();
  for (std::size_t i = 0; i < f.size(); ++i) {
    CHECK(s[i].name == "backbone." + f[i].name);
    CHECK(f[i].values == s[i].values);
  }
  // Keys with the prefix that name nothing are unexpected, named as in the state_dict; missing keys
  // are named with the prefix too.
  auto state = without(full.state_dict(), "backbone.2.bias");
  state.push_back({"backbone.9.weight", {1}, {0.0}});
  const auto partial = features.load_state_dict(state, {.strict = false, .prefix = "backbone."});
  CHECK(partial.missing_keys == std::vector<std::string>{"backbone.2.bias"});
  CHECK(partial.unexpected_keys == std::vector<std::string>{"backbone.9.weight"});
  CHECK_THROWS_WITH(features.load_state_dict(full.state_dict(), {.prefix = "head."}),
                    Contains("missing tensor 'head.2.weight' of shape [5, 6]") &&
                        Contains("tensor 'head.0.weight' (the model's '0.weight') has shape [2, 5]"));
}

TEST_CASE("submodule: PyTorch's model.backbone.load_state_dict(features.state_dict())", "[state_dict][prefix]") {
  Features features{manual_seed(3)};
  Model model{manual_seed(4)};
  const auto head_before = model.state_dict()[4].values;
  const auto keys = model.load_state_dict(features.state_dict(), {.submodule = "backbone"});
  CHECK(keys.empty());  // head.* is outside the submodule: neither loaded nor missing
  const auto m = model.state_dict(), f = features.state_dict();
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(m[i].values == f[i].values);
  CHECK(m[4].values == head_before);
  CHECK_THROWS_WITH(model.load_state_dict(without(features.state_dict(), "0.bias"), {.submodule = "backbone"}),
                    Contains("missing tensor '0.bias' of shape [6]"));
}

TEST_CASE("buffers follow the same rules; num_batches_tracked is an int64 key", "[state_dict][buffers]") {
  using Net = Sequential<backend::eigen, Input<3>, ctnn_test::TrackedNorm1d<3>>;
  Net a{manual_seed(0)}, b{manual_seed(0)};
  a.forward(Batch<Shape<3>, backend::eigen>::from_host({1, 2, 3, 4, 5, 7}));
  auto state = a.state_dict();
  state.pop_back();  // an old checkpoint without num_batches_tracked
  const auto keys = b.load_state_dict(state, {.strict = false});
  CHECK(keys.missing_keys == std::vector<std::string>{"0.num_batches_tracked"});
  CHECK(b.state_dict()[2].values == a.state_dict()[2].values);  // running_mean loaded
  auto floating = a.state_dict();
  floating.back() = {"0.num_batches_tracked", {}, {1.0f}};
  CHECK_THROWS_WITH(b.load_state_dict(floating),
                    Contains("tensor '0.num_batches_tracked' is a floating-point tensor but the model's is an int64 tensor"));
}

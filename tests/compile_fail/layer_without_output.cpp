// A user-defined layer spec that forgets `template <class S> using output`: the first error names the
// spec and the missing member (nn/layer_concepts.hpp), not a line deep inside block.hpp.
// expect-error: NOT_A_LAYER<Scale2, ctnn::diagnostic::missing::output ?>
#include <ctnn/ctnn.hpp>
using namespace ctnn;

// y = 2 x, a layer written against the contract in nn/layer.hpp.
struct Scale2 {
  static constexpr std::string_view type_name = "Scale2";
  static std::string repr() { return "Scale2()"; }
  template <class S>
  static constexpr bool accepts = true;
  template <class S>
  using expected_input = S;
#ifndef CTNN_KO
  template <class S>
  using output = S;
#endif
  template <class S, Backend B, fixed_string Path>
  class bound : public leaf_layer<Scale2, S, S, B, Path>, public no_parameters {
   public:
    explicit bound(Generator&) {}
    const Batch<S, B>& forward(const Batch<S, B>& x, bool) {
      this->prepare_output(x);
      for (std::size_t i = 0; i < x.size(); ++i) this->y_.data()[i] = 2 * x.data()[i];
      return this->y_;
    }
    const Batch<S, B>& backward(const Batch<S, B>& x, const scalar_t<B>* dy) {
      this->prepare_input_grad(x);
      for (std::size_t i = 0; i < x.size(); ++i) this->dx_.data()[i] = 2 * dy[i];
      return this->dx_;
    }
  };
};

using Model = Sequential<backend::eigen, Input<4>, Linear<4, 3>, Scale2, Linear<3, 2>>;

int main() {
  Model model{manual_seed(0)};
  return static_cast<int>(Model::parameter_count != 4 * 3 + 3 + 3 * 2 + 2);
}

#pragma once
// What the training engine (train/engine.hpp) needs of its arguments, as concepts, so a wrong argument
// fails at the call with the concept's name ("constraints not satisfied ... train::Optimizer") rather
// than inside the loop. They sit in ctnn::train so that user code with `using namespace ctnn;` and
// its own `Model` type stays unambiguous.
//   train::Loader<L>              a range of batches with .x and .y, and size() batches per epoch
//   train::Model<M, L>            forward(batch.x) of L's batches, train(bool)/eval()/is_training()
//   train::TrainableModel<M, L>   ... and backward(GradientView, InputGrad) for train_step
//   train::Loss<F, M, L>          loss(prediction, batch.y) gives a number, grad() its gradient
//   train::Optimizer<O>           step() and zero_grad()
// Sequential, DataLoader, the losses and optim::SGD/Adam satisfy them; so does anything of the user's
// with these members.
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "../nn/sequential.hpp"

namespace ctnn::train {

template <class L>
concept Loader = requires(L& loader) {
  loader.begin();
  loader.end();
  { loader.size() } -> std::convertible_to<std::size_t>;
  { loader.begin() != loader.end() } -> std::convertible_to<bool>;
  (*loader.begin()).x;
  (*loader.begin()).y;
};

template <Loader L>
using batch_of = std::remove_cvref_t<decltype(*std::declval<L&>().begin())>;
template <Loader L>
using input_of = std::remove_cvref_t<decltype(std::declval<batch_of<L>&>().x)>;
template <Loader L>
using target_of = std::remove_cvref_t<decltype(std::declval<batch_of<L>&>().y)>;

template <class M, class L>
concept Model = Loader<L> && requires(M& model, const M& cmodel, const input_of<L>& x, bool on) {
  model.forward(x);
  model.train(on);
  model.eval();
  { cmodel.is_training() } -> std::convertible_to<bool>;
};

template <class M, class L>
  requires Model<M, L>
using prediction_of = std::remove_cvref_t<decltype(std::declval<M&>().forward(std::declval<const input_of<L>&>()))>;

template <class M, class L>
concept TrainableModel = Model<M, L> && requires(M& model, const GradientView<typename M::backend_type>& dy) {
  model.backward(dy, InputGrad::skip);
};

template <class F, class M, class L>
concept Loss = Model<M, L> && requires(F& loss_fn, const prediction_of<M, L>& prediction, const target_of<L>& target) {
  { loss_fn(prediction, target) } -> std::convertible_to<double>;
  loss_fn.grad();
};

template <class O>
concept Optimizer = requires(O& optimizer) {
  optimizer.step();
  optimizer.zero_grad();
};

}  // namespace ctnn::train

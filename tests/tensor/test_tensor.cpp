// Tensor: the "tensor basics" of PyTorch's fundamentals tutorial (learnpytorch.io, part 00), on fully
// static tensors. The expected values and printed strings are the tutorial's (and PyTorch's).
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {
template <class X>
std::string printed(const X& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}
}  // namespace

TEST_CASE("scalars, vectors, matrices and tensors: ndim, shape, item", "[tensor]") {
  auto scalar = tensor(7);
  STATIC_REQUIRE(decltype(scalar)::ndim == 0);
  STATIC_REQUIRE(std::is_same_v<decltype(scalar)::value_type, std::int64_t>);  // torch.tensor(7) is int64
  REQUIRE(scalar.item() == 7);
  REQUIRE(printed(scalar) == "tensor(7)");

  auto vector = tensor({7, 7});
  STATIC_REQUIRE(vector.ndim == 1);
  REQUIRE(vector.shape_str() == "[2]");

  auto matrix = tensor({{7, 8}, {9, 10}});
  STATIC_REQUIRE(matrix.ndim == 2);
  STATIC_REQUIRE(std::is_same_v<decltype(matrix)::shape, Shape<2, 2>>);
  REQUIRE(matrix.shape_str() == "[2, 2]");
  REQUIRE(matrix(1, 0) == 9);

  auto t = tensor({{{1, 2, 3}, {3, 6, 9}, {2, 4, 5}}});
  STATIC_REQUIRE(t.ndim == 3);
  STATIC_REQUIRE(t.numel == 9);
  REQUIRE(t.shape_str() == "[1, 3, 3]");
  REQUIRE(t(0, 1, 2) == 9);

  // Floating literals give float32, as torch.tensor([3.0, 6.0, 9.0]).
  auto f = tensor({3.0, 6.0, 9.0});
  STATIC_REQUIRE(std::is_same_v<decltype(f)::value_type, float>);
  REQUIRE(f.dtype() == "float32");
  REQUIRE(tensor<double>({1, 2}).dtype() == "float64");
  REQUIRE(f.device() == "eigen");
}

TEST_CASE("constructors from values check the count", "[tensor]") {
  Tensor<Shape<3, 2>> flat{1, 2, 3, 4, 5, 6};
  Tensor<Shape<3, 2>> nested{{1, 2}, {3, 4}, {5, 6}};
  REQUIRE(equal(flat, nested));
  REQUIRE(flat(2, 1) == 6.0f);

  Tensor<Shape<3>> from_array(std::array<float, 3>{1, 2, 3});
  REQUIRE(from_array(2) == 3.0f);
  const std::array<float, 3> values{4, 5, 6};
  REQUIRE(Tensor<Shape<3>>::from_values(values)(0) == 4.0f);

  REQUIRE_THROWS_AS((Tensor<Shape<3, 2>>{1, 2, 3}), ctnn::error);
  // The flat values in braces once more read row-major too.
  REQUIRE(equal(Tensor<Shape<3, 2>>{{1, 2, 3, 4, 5, 6}}, flat));
  REQUIRE(equal(Tensor<Shape<1, 3, 2>>{{1, 2, 3, 4, 5, 6}}.squeeze(), flat));
  REQUIRE_THROWS_AS((Tensor<Shape<3, 2>>{{1, 2, 3, 4, 5}}), ctnn::error);
  REQUIRE_THROWS_WITH((Tensor<Shape<2, 2>>{{1, 2}, {3, 4, 5}}),
                      Catch::Contains("expected sequence of length 2 at dim 1 (got 3)"));
  REQUIRE_THROWS_AS(Tensor<Shape<2>>::from_values(values), ctnn::error);
}

TEST_CASE("factories: zeros, ones, full, arange, *_like", "[tensor]") {
  auto z = zeros<Shape<3, 4>>();
  auto o = ones<Shape<3, 4>>();
  STATIC_REQUIRE(std::is_same_v<decltype(z)::value_type, float>);
  REQUIRE(z.sum().item() == 0.0f);
  REQUIRE(o.sum().item() == 12.0f);
  REQUIRE(full<Shape<2>, int>(5)(1) == 5);

  auto zero_to_ten = arange<0, 10>();
  STATIC_REQUIRE(std::is_same_v<decltype(zero_to_ten), Tensor<Shape<10>, std::int64_t>>);
  REQUIRE(printed(zero_to_ten) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
  REQUIRE(equal(arange<10>(), zero_to_ten));
  REQUIRE(printed(arange<1, 11, 2>()) == "tensor([1, 3, 5, 7, 9])");
  REQUIRE(printed(arange<0, 100, 10>()) == "tensor([ 0, 10, 20, 30, 40, 50, 60, 70, 80, 90])");
  REQUIRE(printed(arange<float, 1, 8>()) == "tensor([1., 2., 3., 4., 5., 6., 7.])");
  REQUIRE(printed(arange<float, 3>()) == "tensor([0., 1., 2.])");
  REQUIRE(printed(arange<5, 0, -2>()) == "tensor([5, 3, 1])");
  STATIC_REQUIRE(decltype(arange<0, 0>())::numel == 0);

  auto ten_zeroes = zeros_like(zero_to_ten);
  REQUIRE(printed(ten_zeroes) == "tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])");
  REQUIRE(ones_like(zero_to_ten).sum().item() == 10);
  REQUIRE(full_like(zero_to_ten, 3).sum().item() == 30);
}

TEST_CASE("rand and randn: seeded, reproducible, in range; rand is torch.rand", "[tensor][random]") {
  auto c = rand<Shape<3, 4>>(manual_seed(42));
  auto d = rand<Shape<3, 4>>(manual_seed(42));
  REQUIRE(equal(c, d));
  auto e = rand<Shape<3, 4>>();  // no reseed: the stream goes on
  REQUIRE_FALSE(equal(c, e));
  // The default generator is the one manual_seed reseeds.
  manual_seed(42);
  REQUIRE(equal(rand<Shape<3, 4>>(), c));
  // rand draws PyTorch's numbers: torch.manual_seed(42); torch.rand(3, 4).
  REQUIRE(printed(c) ==
          "tensor([[0.8823, 0.9150, 0.3829, 0.9593],\n"
          "        [0.3904, 0.6009, 0.2566, 0.7936],\n"
          "        [0.9408, 0.1332, 0.9346, 0.5936]])");
  REQUIRE(printed(rand<Shape<2, 3>>(manual_seed(0))) ==
          "tensor([[0.4963, 0.7682, 0.0885],\n"
          "        [0.1320, 0.3074, 0.6341]])");

  Generator g(7);
  auto image = rand<Shape<224, 224, 3>>(g);
  REQUIRE(image.min().item() >= 0.0f);
  REQUIRE(image.max().item() < 1.0f);
  const float mean = image.mean().item();
  REQUIRE(mean == Approx(0.5f).margin(0.01));

  Generator g1(3), g2(3);
  auto n1 = randn<Shape<100, 100>, double>(g1);
  REQUIRE(equal(n1, randn<Shape<100, 100>, double>(g2)));
  REQUIRE(n1.mean().item() == Approx(0.0).margin(0.05));
  REQUIRE(((n1 - n1.mean()) * (n1 - n1.mean())).mean().item() == Approx(1.0).margin(0.05));

  auto dice = randint<Shape<1000>>(1, 7, g);
  REQUIRE(dice.min().item() == 1);
  REQUIRE(dice.max().item() == 6);
}

TEST_CASE("arithmetic with numbers and tensors, as the tutorial", "[tensor][arithmetic]") {
  auto t = tensor({1, 2, 3});
  REQUIRE(printed(t + 10) == "tensor([11, 12, 13])");
  REQUIRE(printed(t * 10) == "tensor([10, 20, 30])");
  REQUIRE(printed(t - 10) == "tensor([-9, -8, -7])");
  REQUIRE(printed(10 - t) == "tensor([9, 8, 7])");
  REQUIRE(printed(t * t) == "tensor([1, 4, 9])");
  REQUIRE(printed(t) == "tensor([1, 2, 3])");  // unchanged
  REQUIRE(printed(-t) == "tensor([-1, -2, -3])");

  // torch's type promotion: integer / anything and integer op floating number give float32.
  auto half = t / 2;
  STATIC_REQUIRE(std::is_same_v<decltype(half)::value_type, float>);
  REQUIRE(printed(half) == "tensor([0.5000, 1.0000, 1.5000])");
  REQUIRE(printed(t * 0.5) == "tensor([0.5000, 1.0000, 1.5000])");
  REQUIRE(printed(t / t) == "tensor([1., 1., 1.])");

  Tensor<Shape<2, 2>> a{{1, 2}, {3, 4}};
  Tensor<Shape<2, 2>> b{{4, 3}, {2, 1}};
  REQUIRE(equal(a + b, full<Shape<2, 2>>(5)));
  REQUIRE(equal(a - b, Tensor<Shape<2, 2>>{-3, -1, 1, 3}));
  REQUIRE(equal(a / b, Tensor<Shape<2, 2>>{0.25f, 2.0f / 3.0f, 1.5f, 4}));
  REQUIRE(equal(2.0f / a, Tensor<Shape<2, 2>>{2, 1, 2.0f / 3.0f, 0.5f}));
  // A 0-dim tensor is a number: x - x.mean().
  REQUIRE(equal(a - a.mean(), Tensor<Shape<2, 2>>{-1.5f, -0.5f, 0.5f, 1.5f}));
  REQUIRE(equal(a.max() * a, a * 4.0f));

  // In place, and through a view.
  auto c = a.clone();
  c += b;
  c *= 2;
  REQUIRE(equal(c, full<Shape<2, 2>>(10)));
  c /= c.max();
  REQUIRE(equal(c, ones<Shape<2, 2>>()));
  c[0] += 1;
  REQUIRE(equal(c, Tensor<Shape<2, 2>>{2, 2, 1, 1}));
  REQUIRE(equal(a, Tensor<Shape<2, 2>>{1, 2, 3, 4}));  // clone() made c independent

  // Integer arithmetic wraps, as torch's.
  auto small = tensor<std::int8_t>({100, -100});
  REQUIRE(printed(small + small) == "tensor([-56,  56], dtype=torch.int8)");
}

TEST_CASE("matmul: the tutorial's shapes, dot products and transposes", "[tensor][matmul]") {
  auto t = tensor({1, 2, 3});
  auto dot = matmul(t, t);
  STATIC_REQUIRE(decltype(dot)::ndim == 0);
  REQUIRE(dot.item() == 14);
  REQUIRE(t.matmul(t).item() == 14);

  Tensor<Shape<3, 2>> tensor_A{{1, 2}, {3, 4}, {5, 6}};
  Tensor<Shape<3, 2>> tensor_B{{7, 10}, {8, 11}, {9, 12}};
  STATIC_REQUIRE(std::is_same_v<decltype(tensor_B.T())::shape, Shape<2, 3>>);
  REQUIRE(printed(tensor_B.T()) == "tensor([[ 7.,  8.,  9.],\n        [10., 11., 12.]])");
  auto product = matmul(tensor_A, tensor_B.T());
  STATIC_REQUIRE(std::is_same_v<decltype(product)::shape, Shape<3, 3>>);
  REQUIRE(equal(product, Tensor<Shape<3, 3>>{{27, 30, 33}, {61, 68, 75}, {95, 106, 117}}));
  REQUIRE(printed(product) ==
          "tensor([[ 27.,  30.,  33.],\n"
          "        [ 61.,  68.,  75.],\n"
          "        [ 95., 106., 117.]])");
  REQUIRE(equal(matmul(tensor_A.T(), tensor_B), Tensor<Shape<2, 2>>{{76, 103}, {100, 136}}));

  // Matrix-vector, vector-matrix, and integers (plain loops) agree with the float GEMM.
  Tensor<Shape<2>> v{1, -1};
  REQUIRE(equal(matmul(tensor_A, v), Tensor<Shape<3>>{-1, -1, -1}));
  REQUIRE(equal(matmul(Tensor<Shape<3>>{1, 0, 1}, tensor_A), Tensor<Shape<2>>{6, 8}));
  auto ints = matmul(tensor_A.to<int>(), tensor_B.T().to<int>());
  STATIC_REQUIRE(std::is_same_v<decltype(ints)::value_type, int>);
  REQUIRE(equal(ints, product));
  REQUIRE(allclose(matmul(tensor_A.to<double>(), tensor_B.T().to<double>()).to<float>(), product));

  auto big_a = rand<Shape<64, 48>>(manual_seed(1));
  auto big_b = rand<Shape<48, 32>>();
  auto gemm = matmul(big_a, big_b);
  Tensor<Shape<64, 32>> loops;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 32; ++j) {
      float acc = 0;
      for (int k = 0; k < 48; ++k) acc += big_a(i, k) * big_b(k, j);
      loops(i, j) = acc;
    }
  REQUIRE(allclose(gemm, loops, 1e-5, 1e-5));
}

TEST_CASE("aggregation: min, max, mean, sum, argmax, argmin", "[tensor][reduce]") {
  auto x = arange<0, 100, 10>();
  REQUIRE(x.min().item() == 0);
  REQUIRE(x.max().item() == 90);
  REQUIRE(x.to<float>().mean().item() == 45.0f);
  REQUIRE(x.sum().item() == 450);
  REQUIRE(printed(x.max()) == "tensor(90)");
  REQUIRE(printed(x.to<float>().mean()) == "tensor(45.)");
  STATIC_REQUIRE(std::is_same_v<decltype(x.argmax())::value_type, std::int64_t>);

  auto y = arange<10, 100, 10>();
  REQUIRE(printed(y) == "tensor([10, 20, 30, 40, 50, 60, 70, 80, 90])");
  REQUIRE(y.argmax().item() == 8);
  REQUIRE(y.argmin().item() == 0);

  // sum of int8 is int64, as torch.
  auto bytes = full<Shape<100>, std::int8_t>(100);
  STATIC_REQUIRE(std::is_same_v<decltype(bytes.sum())::value_type, std::int64_t>);
  REQUIRE(bytes.sum().item() == 10000);

  // Along a dimension, and the flat argmax of a matrix.
  Tensor<Shape<2, 3>> m{{1, 5, 2}, {7, 0, 3}};
  STATIC_REQUIRE(std::is_same_v<decltype(m.sum<0>())::shape, Shape<3>>);
  REQUIRE(equal(m.sum<0>(), Tensor<Shape<3>>{8, 5, 5}));
  REQUIRE(equal(m.sum<1>(), Tensor<Shape<2>>{8, 10}));
  REQUIRE(allclose(m.mean<1>(), Tensor<Shape<2>>{8.0f / 3, 10.0f / 3}));
  REQUIRE(equal(m.max<0>(), Tensor<Shape<3>>{7, 5, 3}));
  REQUIRE(equal(m.min<1>(), Tensor<Shape<2>>{1, 0}));
  REQUIRE(equal(m.argmax<1>(), tensor({1, 0})));
  REQUIRE(equal(m.argmin<0>(), tensor({0, 1, 0})));
  REQUIRE(m.argmax().item() == 3);
  REQUIRE(m.argmin().item() == 4);
  // First occurrence wins; 3-D reductions keep the other dimensions in order.
  REQUIRE(tensor({3, 9, 9, 1}).argmax().item() == 1);
  auto cube = arange<float, 24>().reshape<2, 3, 4>();
  REQUIRE(equal(cube.sum<1>(), Tensor<Shape<2, 4>>{{12, 15, 18, 21}, {48, 51, 54, 57}}));
}

TEST_CASE("dtypes: to<U>() converts, truncating as torch", "[tensor][dtype]") {
  auto t = arange<float, 10, 100, 10>();
  REQUIRE(t.dtype() == "float32");
  auto as_int8 = t.to<std::int8_t>();
  STATIC_REQUIRE(std::is_same_v<decltype(as_int8)::value_type, std::int8_t>);
  REQUIRE(printed(as_int8) == "tensor([10, 20, 30, 40, 50, 60, 70, 80, 90], dtype=torch.int8)");
  REQUIRE(printed(t.to<double>()) == "tensor([10., 20., 30., 40., 50., 60., 70., 80., 90.], dtype=torch.float64)");
  REQUIRE(printed(t.as<std::int32_t>()) == "tensor([10, 20, 30, 40, 50, 60, 70, 80, 90], dtype=torch.int32)");

  auto fractions = tensor({1.7, -1.7, 2.5, -0.2});
  REQUIRE(printed(fractions.to<std::int64_t>()) == "tensor([ 1, -1,  2,  0])");
  REQUIRE(printed(tensor({255.0, 256.0, -1.0}).to<std::uint8_t>()) == "tensor([255,   0, 255], dtype=torch.uint8)");

  // The same dtype returns the tensor itself (shared), as torch's .to.
  auto same = t.to<float>();
  same(0) = -1;
  REQUIRE(t(0) == -1.0f);

  // Another host backend: a copy with the backend in its type.
  auto on_reference = t.to<backend::reference>();
  STATIC_REQUIRE(std::is_same_v<decltype(on_reference)::backend_type, backend::reference>);
  REQUIRE(on_reference.device() == "reference");
  REQUIRE(on_reference(1) == 20.0f);
}

TEST_CASE("reshape, view, stack, squeeze, unsqueeze, permute", "[tensor][shape]") {
  auto x = arange<float, 1, 8>();
  REQUIRE(x.shape_str() == "[7]");

  auto x_reshaped = x.reshape<1, 7>();
  REQUIRE(x_reshaped.shape_str() == "[1, 7]");
  REQUIRE(printed(x_reshaped) == "tensor([[1., 2., 3., 4., 5., 6., 7.]])");

  // view shares the data: changing z changes x.
  auto z = x.view<1, 7>();
  REQUIRE(printed(z) == "tensor([[1., 2., 3., 4., 5., 6., 7.]])");
  z[0][0] = 5;
  REQUIRE(printed(z) == "tensor([[5., 2., 3., 4., 5., 6., 7.]])");
  REQUIRE(printed(x) == "tensor([5., 2., 3., 4., 5., 6., 7.])");
  z(0, 6) = 7;  // element references write through too

  auto x_stacked = stack<0>(x, x, x, x);
  STATIC_REQUIRE(std::is_same_v<decltype(x_stacked)::shape, Shape<4, 7>>);
  REQUIRE(printed(x_stacked) ==
          "tensor([[5., 2., 3., 4., 5., 6., 7.],\n"
          "        [5., 2., 3., 4., 5., 6., 7.],\n"
          "        [5., 2., 3., 4., 5., 6., 7.],\n"
          "        [5., 2., 3., 4., 5., 6., 7.]])");
  REQUIRE(equal(stack(std::array{x, x, x, x}), x_stacked));
  auto columns = stack<1>(x, x);
  STATIC_REQUIRE(std::is_same_v<decltype(columns)::shape, Shape<7, 2>>);
  REQUIRE(equal(columns.T(), stack(x, x)));

  auto x_squeezed = x_reshaped.squeeze();
  STATIC_REQUIRE(std::is_same_v<decltype(x_squeezed)::shape, Shape<7>>);
  REQUIRE(printed(x_squeezed) == "tensor([5., 2., 3., 4., 5., 6., 7.])");
  auto x_unsqueezed = x_squeezed.unsqueeze<0>();
  STATIC_REQUIRE(std::is_same_v<decltype(x_unsqueezed)::shape, Shape<1, 7>>);
  REQUIRE(printed(x_unsqueezed) == "tensor([[5., 2., 3., 4., 5., 6., 7.]])");
  STATIC_REQUIRE(std::is_same_v<decltype(x_squeezed.unsqueeze<1>())::shape, Shape<7, 1>>);
  STATIC_REQUIRE(std::is_same_v<decltype(zeros<Shape<1, 3, 1, 2, 1>>().squeeze())::shape, Shape<3, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(zeros<Shape<1, 3, 1>>().squeeze<2>())::shape, Shape<1, 3>>);
  STATIC_REQUIRE(std::is_same_v<decltype(zeros<Shape<1, 3, 1>>().squeeze<1>())::shape, Shape<1, 3, 1>>);  // not 1: no-op
  STATIC_REQUIRE(std::is_same_v<decltype(zeros<Shape<2, 3, 4>>().flatten())::shape, Shape<24>>);

  // permute: (224, 224, 3) -> (3, 224, 224), values moved with their dimensions; a copy.
  auto x_original = rand<Shape<224, 224, 3>>(manual_seed(42));
  auto x_permuted = x_original.permute<2, 0, 1>();
  STATIC_REQUIRE(std::is_same_v<decltype(x_permuted)::shape, Shape<3, 224, 224>>);
  REQUIRE(x_permuted(0, 0, 0) == x_original(0, 0, 0));
  REQUIRE(x_permuted(2, 10, 7) == x_original(10, 7, 2));
  REQUIRE(x_permuted(1, 223, 5) == x_original(223, 5, 1));
  REQUIRE(x_permuted.sum().item() == Approx(x_original.sum().item()));
  REQUIRE(equal(x_permuted.permute<1, 2, 0>(), x_original));
  x_permuted(0, 0, 0) = 99;
  REQUIRE(x_original(0, 0, 0) != 99.0f);
  REQUIRE(equal(x_original.transpose<0, 2>(), x_original.permute<2, 1, 0>()));

  // cat joins along an existing dimension.
  Tensor<Shape<2, 2>> top{{1, 2}, {3, 4}};
  Tensor<Shape<1, 2>> bottom{{5, 6}};
  REQUIRE(equal(cat<0>(top, bottom), Tensor<Shape<3, 2>>{{1, 2}, {3, 4}, {5, 6}}));
  REQUIRE(equal(cat<1>(top, top.T()), Tensor<Shape<2, 4>>{{1, 2, 1, 3}, {3, 4, 2, 4}}));
  REQUIRE(equal(cat(x, x, x).reshape<3, 7>(), stack(x, x, x)));
}

TEST_CASE("indexing: brackets, elements, select and slices", "[tensor][index]") {
  auto x = arange<1, 10>().reshape<1, 3, 3>();
  REQUIRE(x.shape_str() == "[1, 3, 3]");
  REQUIRE(printed(x) ==
          "tensor([[[1, 2, 3],\n"
          "         [4, 5, 6],\n"
          "         [7, 8, 9]]])");
  REQUIRE(printed(x[0]) ==
          "tensor([[1, 2, 3],\n"
          "        [4, 5, 6],\n"
          "        [7, 8, 9]])");
  REQUIRE(printed(x[0][0]) == "tensor([1, 2, 3])");
  REQUIRE(x[0][0][0].item() == 1);
  REQUIRE(x(0, 0, 0) == 1);
  REQUIRE(x[0][2][-1].item() == 9);  // negative indices count from the end

  // x[:, 0] and x[:, :, 1].
  REQUIRE(printed(x.select<1>(0)) == "tensor([[1, 2, 3]])");
  auto column = x.select<2>(1);
  STATIC_REQUIRE(std::is_same_v<decltype(column)::shape, Shape<1, 3>>);
  REQUIRE(equal(column, tensor({{2, 5, 8}})));
  REQUIRE(printed(column) == "tensor([[2, 5, 8]])");
  REQUIRE(equal(x.select<0>(0).select<0>(0), x[0][0]));  // x[0, 0, :]
  REQUIRE(printed(x.select<1>(1).select<1>(1)) == "tensor([5])");  // x[:, 1, 1]

  // Slices copy.
  auto rows = x[0].slice<0, 1, 3>();
  REQUIRE(equal(rows, tensor({{4, 5, 6}, {7, 8, 9}})));
  REQUIRE(equal(x[0].slice<1, 0, 2>(), tensor({{1, 2}, {4, 5}, {7, 8}})));
  rows(0, 0) = 0;
  REQUIRE(x(0, 1, 0) == 4);

  // t[i] shares; assigning to it writes into the original.
  auto m = zeros<Shape<2, 3>>();
  m[1] = Tensor<Shape<3>>{9, 9, 9};
  m[1] = {1, 2, 3};
  m[0] = 7;
  m[0][1] = 4;
  REQUIRE(printed(m) ==
          "tensor([[7., 4., 7.],\n"
          "        [1., 2., 3.]])");

  // Out of range: a ctnn::error naming the index and the size.
  REQUIRE_THROWS_AS(x[1], ctnn::error);
  REQUIRE_THROWS_WITH(x[0][3], Catch::Contains("index 3 is out of bounds for dimension 0 with size 3"));
  REQUIRE_THROWS_WITH(x(0, 0, -4), Catch::Contains("index -4 is out of bounds for dimension 2 with size 3"));
  REQUIRE_THROWS_AS(x.select<2>(3), ctnn::error);
}

TEST_CASE("printing follows PyTorch's format", "[tensor][print]") {
  REQUIRE(printed(Tensor<Shape<2, 3>>{{1, 2, 3}, {4, 5, 6}}) == "tensor([[1., 2., 3.],\n        [4., 5., 6.]])");
  REQUIRE(printed(tensor({1, 2, 3})) == "tensor([1, 2, 3])");
  REQUIRE(printed(tensor(7)) == "tensor(7)");
  REQUIRE(printed(tensor(7.0)) == "tensor(7.)");
  REQUIRE(printed(tensor(0.5)) == "tensor(0.5000)");
  REQUIRE(printed(zeros<Shape<3>>()) == "tensor([0., 0., 0.])");
  REQUIRE(printed(tensor({-1.5, 0.25})) == "tensor([-1.5000,  0.2500])");
  REQUIRE(printed(tensor({1.0, 12345.0})) == "tensor([1.0000e+00, 1.2345e+04])");  // ratio > 1000: scientific
  REQUIRE(printed(tensor({0.00001, 1.0})) == "tensor([1.0000e-05, 1.0000e+00])");
  REQUIRE(printed(tensor({1, 2}).to<std::int32_t>()) == "tensor([1, 2], dtype=torch.int32)");
  REQUIRE(printed(zeros<Shape<2, 0>>()) == "tensor([], size=(2, 0))");
  REQUIRE(printed(zeros<Shape<0>, std::int64_t>()) == "tensor([], dtype=torch.int64)");
  REQUIRE(printed(arange<float, 20>()) ==
          "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
          "        14., 15., 16., 17., 18., 19.])");
  REQUIRE(printed(arange<2000>()) == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  REQUIRE(printed(arange<float, 1200>().reshape<400, 3>()) ==
          "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00],\n"
          "        [3.0000e+00, 4.0000e+00, 5.0000e+00],\n"
          "        [6.0000e+00, 7.0000e+00, 8.0000e+00],\n"
          "        ...,\n"
          "        [1.1910e+03, 1.1920e+03, 1.1930e+03],\n"
          "        [1.1940e+03, 1.1950e+03, 1.1960e+03],\n"
          "        [1.1970e+03, 1.1980e+03, 1.1990e+03]])");
  REQUIRE(printed(arange<8>().reshape<2, 2, 2>()) ==
          "tensor([[[0, 1],\n"
          "         [2, 3]],\n"
          "\n"
          "        [[4, 5],\n"
          "         [6, 7]]])");
  REQUIRE(to_string(tensor(3)) == "tensor(3)");
}

TEST_CASE("equal and allclose", "[tensor][compare]") {
  auto a = tensor({1.0, 2.0, 3.0});
  REQUIRE(equal(a, a.clone()));
  REQUIRE_FALSE(equal(a, a + 1e-6f));
  REQUIRE(allclose(a, a + 1e-6f));
  REQUIRE_FALSE(allclose(a, a + 1e-3f));
  REQUIRE(allclose(a, a + 1e-3f, 1e-2));
  REQUIRE_FALSE(equal(a, tensor({1.0, 2.0})));  // different shapes are not equal
  REQUIRE(equal(tensor({1, 2}), tensor({1.0, 2.0})));  // values compared across dtypes
}

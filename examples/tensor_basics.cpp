// Seed tutorial 002, part 0 (PyTorch fundamentals), line for line on static tensors: creating
// tensors, random tensors from a seed, arithmetic, matrix multiplication (the failing (3, 2) @ (3, 2)
// is a compile error here: see tests/compile_fail/matmul_inner_dimensions.cpp), aggregation, dtypes,
// reshaping, stacking, squeezing, permuting and indexing.
#include <ctnn/ctnn.hpp>

#include <iostream>

using namespace ctnn;

int main() {
  // Scalars, vectors, matrices, tensors
  auto scalar = tensor(7);
  std::cout << "scalar: " << scalar << " ndim " << scalar.ndim << " item " << scalar.item() << "\n";
  auto vector = tensor({7, 7});
  std::cout << "vector: " << vector << " ndim " << vector.ndim << " shape " << vector.shape_str() << "\n";
  auto matrix = tensor({{7, 8}, {9, 10}});
  std::cout << "matrix:\n" << matrix << "\nshape " << matrix.shape_str() << "\n";
  auto t = tensor({{{1, 2, 3}, {3, 6, 9}, {2, 4, 5}}});
  std::cout << "tensor shape " << t.shape_str() << "\n\n";

  // Random tensors: torch.manual_seed(42); torch.rand(3, 4) gives PyTorch's numbers
  manual_seed(42);
  auto random_tensor = rand<Shape<3, 4>>();
  std::cout << "rand(3, 4) after manual_seed(42):\n" << random_tensor << "\ndtype " << random_tensor.dtype() << "\n";
  auto random_image_tensor = rand<Shape<224, 224, 3>>();
  std::cout << "random image tensor shape " << random_image_tensor.shape_str() << "\n";
  std::cout << "zeros(3, 4):\n" << zeros<Shape<3, 4>>() << "\nones(3, 4):\n" << ones<Shape<3, 4>>() << "\n";
  auto zero_to_ten = arange<0, 10>();
  std::cout << "arange(0, 10): " << zero_to_ten << "\narange(1, 11, 2): " << arange<1, 11, 2>() << "\n";
  std::cout << "zeros_like(arange(0, 10)): " << zeros_like(zero_to_ten) << "\n\n";

  // Arithmetic with scalars and elementwise
  auto x3 = tensor({1, 2, 3});
  std::cout << "tensor + 10: " << x3 + 10 << "\ntensor * 10: " << x3 * 10 << "\ntensor - 10: " << x3 - 10 << "\n";
  std::cout << "tensor * tensor: " << x3 * x3 << "\n";
  std::cout << "tensor @ tensor: " << matmul(x3, x3) << "\n";

  // Matrix multiplication: the inner dimensions must match, so A @ B.T
  auto tensor_A = tensor<float>({{1, 2}, {3, 4}, {5, 6}});
  auto tensor_B = tensor<float>({{7, 10}, {8, 11}, {9, 12}});
  std::cout << "A @ B.T:\n" << matmul(tensor_A, tensor_B.T()) << "\n\n";

  // Aggregation
  auto x = arange<0, 100, 10>();
  std::cout << "x: " << x << "\nMinimum: " << x.min() << "\nMaximum: " << x.max()
            << "\nMean: " << x.to<float>().mean() << "\nSum: " << x.sum() << "\n";
  auto ten = arange<10, 100, 10>();
  std::cout << "argmax: " << ten.argmax() << " argmin: " << ten.argmin() << "\n";
  auto floats = arange<float, 10, 100, 10>();
  std::cout << "as int8: " << floats.to<std::int8_t>() << "\n\n";

  // Reshaping, viewing, stacking, squeezing, permuting
  auto xr = arange<float, 1, 8>();
  auto x_reshaped = xr.reshape<1, 7>();
  std::cout << "x: " << xr << " reshaped " << x_reshaped.shape_str() << "\n";
  auto z = xr.view<1, 7>();
  z(0, 0) = 5;  // a view shares the values
  std::cout << "after z[:, 0] = 5, x: " << xr << "\n";
  std::cout << "stack([x, x, x, x]):\n" << stack<0>(xr, xr, xr, xr) << "\n";
  std::cout << "squeeze: " << x_reshaped.squeeze().shape_str() << "  unsqueeze(0): "
            << x_reshaped.squeeze().unsqueeze<0>().shape_str() << "\n";
  auto x_original = rand<Shape<224, 224, 3>>();
  auto x_permuted = x_original.permute<2, 0, 1>();
  std::cout << "permute: " << x_original.shape_str() << " -> " << x_permuted.shape_str() << "\n\n";

  // Indexing
  auto xi = arange<1, 10>().reshape<1, 3, 3>();
  std::cout << "x:\n" << xi << "\nx[0]:\n" << xi[0] << "\nx[0][0]: " << xi[0][0] << "\nx[0][0][0]: " << xi[0][0][0]
            << "\nx[:, 0]: " << xi.select<1>(0) << "\nx[:, :, 1]: " << xi.select<2>(1) << "\nx[0, 0, :]: " << xi[0][0]
            << "\n";

  // Reproducibility: the same seed gives the same numbers
  manual_seed(42);
  auto random_tensor_C = rand<Shape<3, 4>>();
  manual_seed(42);
  auto random_tensor_D = rand<Shape<3, 4>>();
  std::cout << "\nrandom_tensor_C == random_tensor_D: " << (equal(random_tensor_C, random_tensor_D) ? "True" : "False")
            << "\n";
  return equal(random_tensor_C, random_tensor_D) ? 0 : 1;
}

#pragma once
// Tensor<Shape<...>, T, Backend>: a fully static tensor, the "tensor basics" of PyTorch's fundamentals
// (creation, arithmetic, matmul, reshaping, indexing, reductions, dtypes, printing). Every dimension
// is part of the type, so shape mistakes ((3, 2) @ (3, 2), a reshape that changes the number of
// elements, adding tensors of different shapes) are compile errors with named diagnostics.
//
// A Tensor is a handle, like a PyTorch tensor (and like std::shared_ptr or std::span): its values
// live row-major in shared host memory, copying a Tensor shares them, constness is shallow, and
// clone() makes an independent copy.
//  * These SHARE the values (they keep the row-major order, so they are views, as in PyTorch):
//    view, reshape, flatten, squeeze, unsqueeze, t[i], to<U>() to the same dtype.
//  * These return NEW contiguous tensors (they reorder or gather): permute, transpose, T(), slice,
//    select, stack, cat, arithmetic, reductions, conversions. (PyTorch returns views for permute,
//    transpose, slicing and select; here writing through them does not change the original.)
//  * Writing through a view: x[0] = y copies y's values into x (PyTorch's x[0] = y), x[0] = 5 fills,
//    x(0, 1) = 5 sets one element, x[0] += 1 works in place. Assigning to a named tensor (`a = b`)
//    rebinds the handle, as `a = b` does in Python.
//
// Arithmetic follows PyTorch where the types allow it: + - * / with a scalar on either side, with a
// tensor of the same shape, dtype and backend, or with a 0-dim tensor (a scalar tensor, e.g. a
// reduction's result); no other broadcasting. Integer / integer and integer op floating scalar give
// float32, as torch's type promotion does; integer arithmetic wraps.
//
// The parts, each in its own header and all included here: shape_algebra.hpp (the Shapes operations
// give), dtype.hpp (value types, promotion, conversion), tensor_class.hpp (the class), factories.hpp
// (zeros, ones, rand, arange, tensor literals) and tensor_ops.hpp (matmul, stack, cat, equal, allclose,
// printing).
#include "dtype.hpp"
#include "factories.hpp"
#include "shape_algebra.hpp"
#include "tensor_class.hpp"
#include "tensor_ops.hpp"

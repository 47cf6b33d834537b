#pragma once
// ctnn: networks as types. One include for everything:
//   core/     shapes, errors and compile-time diagnostics, random numbers
//   backend/  the op set and its Eigen (default) and reference implementations
//   tensor/   Batch (batched, static per-sample shape) and Tensor (fully static, the tensor basics)
//   nn/       layers, Block/Named/Sequential, losses
#include "backend/eigen.hpp"
#include "backend/reference.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/shape.hpp"
#include "nn.hpp"
#include "tensor/batch.hpp"

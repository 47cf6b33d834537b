#pragma once
// ctnn: networks as types. One include for everything:
//   core/     shapes, errors and compile-time diagnostics, random numbers
//   backend/  the op set and its Eigen (default) and reference implementations
//   tensor/   Batch (batched, static per-sample shape) and Tensor (fully static, the tensor basics)
//   nn/       layers, Block/Named/Sequential, losses
//   optim/    optimizers (SGD, Adam) and learning-rate schedulers (StepLR)
//   io/       checkpoints in the safetensors format (save, load)
// error.hpp first: a compile-time diagnostic is then two "In file included from" lines deep, not four.
#include "core/error.hpp"
#include "backend/eigen.hpp"
#include "backend/reference.hpp"
#include "core/random.hpp"
#include "core/shape.hpp"
#include "data.hpp"
#include "io.hpp"
#include "nn.hpp"
#include "optim.hpp"
#include "tensor/batch.hpp"
#include "tensor/tensor.hpp"
#include "train.hpp"
#include "viz.hpp"

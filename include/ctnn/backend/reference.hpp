#pragma once
// The reference backend: double precision, plain loops (see host_ops.hpp).
#include "backend.hpp"
#include "host_ops.hpp"

namespace ctnn::backend {

template <>
struct ops<reference> : host_ops<double> {};

}  // namespace ctnn::backend

#pragma once
// Data-parallel training over MPI (CPU ranks) and NCCL (GPU ranks): link ctnn::distributed.
// Not part of ctnn.hpp, which needs no MPI. dist::nccl is in distributed/nccl.hpp (needs CUDA and NCCL).
#include "distributed/checkpoint.hpp"
#include "distributed/communicator.hpp"
#include "distributed/ddp.hpp"
#include "distributed/metrics.hpp"
#include "distributed/mpi.hpp"
#include "distributed/sampler.hpp"

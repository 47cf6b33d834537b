#pragma once
// Checkpoints of a data-parallel run. The parameters are identical on every rank, so one file is
// enough: rank 0 writes it (ctnn::save, atomic: a reader sees the old file or the new one, never a
// part), the others wait for the outcome. Loading reads the file on rank 0 only and broadcasts the
// values, so the file need not be on every machine and any number of ranks can resume from it (it is an
// ordinary model checkpoint: a one-process program loads it with ctnn::load).
//
// Both are collective and fail together: if rank 0 cannot save or load, every rank throws, with rank
// 0's message, instead of the others waiting in their next collective.
#include <filesystem>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../io/safetensors.hpp"
#include "communicator.hpp"

namespace ctnn::dist {

namespace detail {

// Rank 0's outcome (empty: success) on every rank; throws it as a ctnn::error.
template <Communicator Comm>
void share_outcome(Comm& comm, std::string message, std::string_view what) {
  std::int64_t length = static_cast<std::int64_t>(message.size());
  comm.broadcast(&length, 1, 0);
  if (length == 0) return;
  message.resize(static_cast<std::size_t>(length));
  std::vector<char> text(message.begin(), message.end());
  comm.broadcast(text.data(), text.size(), 0);
  throw error(cat(what, " failed on rank 0: ", std::string(text.begin(), text.end())));
}

}  // namespace detail

template <Communicator Comm, class Model>
void save(Model& model, Comm& comm, const std::filesystem::path& path, const safetensors::Metadata& metadata = {}) {
  std::string failure;
  if (comm.rank() == 0) {
    try {
      ctnn::save(model, path, metadata);
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "unknown error";
    }
  }
  detail::share_outcome(comm, std::move(failure), "dist::save");
}

template <Communicator Comm, class Model>
void load(Model& model, Comm& comm, const std::filesystem::path& path) {
  std::string failure;
  if (comm.rank() == 0) {
    try {
      ctnn::load(model, path);
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "unknown error";
    }
  }
  detail::share_outcome(comm, std::move(failure), "dist::load");
  using B = typename Model::backend_type;
  model.visit_parameters([&](Parameter<B>& p) {
    if constexpr (Comm::host_memory && !B::host_memory) {
      std::vector<scalar_t<B>> host = p.values_to_host();
      comm.broadcast(host.data(), host.size(), 0);
      backend::ops<B>::from_host(host.size(), host.data(), p.value.data());
    } else {
      comm.broadcast(p.value.data(), p.size(), 0);
    }
  });
}

}  // namespace ctnn::dist

// Fault test: a child process saves a checkpoint in a loop, alternating two distinguishable models,
// and is killed with SIGKILL at random moments (60 times, after random delays of 0 to 6 ms or three saves'
// time, every other time after its first completed save). After
// every kill the checkpoint must load and be one of the two models, never unreadable or mixed; at the
// end, one more save leaves no temporary file behind (a killed save leaves its temporary, which the
// next save removes).
//
// The test process may have threads (OpenMP, Catch2): the forked child only runs the save loop on the
// reference backend (no threads of its own) and leaves with _exit.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.hpp"

using namespace ctnn;
namespace fs = std::filesystem;

namespace {

// 130 KB of F64: a save takes long enough (write, fsync, rename) to be killed in every phase.
using Net = Sequential<backend::reference, Input<1, 8, 8>, Conv2d<1, 8, 3, 1, 1>, ReLU, Flatten, Linear<512, 32>>;

bool same(const StateDict<double>& a, const StateDict<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].values != b[i].values) return false;
  return true;
}

std::size_t temporaries_in(const fs::path& dir, const std::string& name) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (io::is_temporary_name(e.path().filename().string(), name)) ++n;
  return n;
}

}  // namespace

TEST_CASE("SIGKILL during saves never leaves an unreadable checkpoint, and stale temporaries are removed",
          "[io][atomic][crash]") {
  ctnn_test::TempDir dir;
  const fs::path path = dir / "model.safetensors";
  Net a{manual_seed(1)}, b{manual_seed(2)};
  const auto state_a = a.state_dict(), state_b = b.state_dict();
  REQUIRE_FALSE(same(state_a, state_b));
  save(a, path);

  // Delays scale with how long a save takes here (a sanitized build is several times slower): from
  // 0 to three saves' time, and at least 0 to 6 ms.
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) save(a, path);
  const auto save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count() / 5;
  std::mt19937 rng(20261201);
  std::uniform_int_distribution<long long> delay_us(0, std::max<long long>(6000, 3 * save_us));
  constexpr int kills = 60;
  int found_a = 0, found_b = 0, unreadable = 0, left_temporaries = 0, unchanged = 0, changed = 0;
  bool holds_a = true;  // what the file holds before the kill
  for (int k = 0; k < kills; ++k) {
    // Every other kill waits until the child has finished one save (it writes a byte to the pipe), so
    // that some kills land after a change however slow the machine; the others may land before it.
    int done[2];
    REQUIRE(::pipe(done) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Only the save loop, then _exit (never returns into Catch2). Each child starts with the model
      // the file does not hold, so that its first completed save is a change.
      ::close(done[0]);
      for (unsigned i = 0;; ++i) {
        try {
          save(((i % 2) == 0) == holds_a ? b : a, path);
        } catch (...) {
          ::_exit(3);
        }
        if (i == 0) {
          const char byte = 1;
          if (::write(done[1], &byte, 1) != 1) ::_exit(4);
        }
      }
    }
    ::close(done[1]);
    if (k % 2 == 1) {
      char byte = 0;
      CHECK(::read(done[0], &byte, 1) == 1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::close(done[0]);  // only now: the child's write to a closed pipe would end it by SIGPIPE
    // Killed by our signal, not ended by an error of its own.
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    if (temporaries_in(dir.path(), "model.safetensors") > 0) ++left_temporaries;
    Net check{manual_seed(3)};
    try {
      load(check, path);
      const auto state = check.state_dict();
      const bool is_a = same(state, state_a), is_b = same(state, state_b);
      if (is_a) ++found_a;
      if (is_b) ++found_b;
      if (!is_a && !is_b) ++unreadable;
      if (is_a || is_b) {
        ++(is_a == holds_a ? unchanged : changed);
        holds_a = is_a;
      }
    } catch (const ctnn::error& e) {
      UNSCOPED_INFO("after kill " << k << ": " << e.what());
      ++unreadable;
    }
  }
  WARN(kills << " kills: the checkpoint held model A " << found_a << " times, model B " << found_b << " times ("
             << changed << " times another model than before the kill, " << unchanged << " times the same), was "
             << "unreadable or mixed " << unreadable << " times; a temporary file was left after " << left_temporaries
             << " kills");
  CHECK(unreadable == 0);
  CHECK(found_a + found_b == kills);
  CHECK(found_b > 0);  // the child did get saves done between the kills

  // One more save removes whatever temporaries the killed saves left.
  save(a, path);
  CHECK(temporaries_in(dir.path(), "model.safetensors") == 0);
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
  Net check{manual_seed(3)};
  load(check, path);
  CHECK(same(check.state_dict(), state_a));
}

TEST_CASE("concurrent saves of one target never remove each other's temporary file", "[io][atomic][crash]") {
  // Each save removes the stale temporaries of its target; a temporary that a live writer holds is
  // locked and must be left alone, so that two processes saving at once both succeed.
  ctnn_test::TempDir dir;
  const fs::path path = dir / "model.safetensors";
  Net a{manual_seed(1)}, b{manual_seed(2)};
  const auto state_a = a.state_dict(), state_b = b.state_dict();
  save(a, path);
  constexpr int saves_each = 25;
  pid_t children[2];
  for (int c = 0; c < 2; ++c) {
    children[c] = ::fork();
    REQUIRE(children[c] >= 0);
    if (children[c] == 0) {
      int failed = 0;
      for (int i = 0; i < saves_each; ++i) {
        try {
          save(c ? b : a, path);
        } catch (...) {
          ++failed;
        }
      }
      ::_exit(failed == 0 ? 0 : 10 + failed);
    }
  }
  for (const pid_t child : children) {
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // every one of the 2 x 25 saves succeeded
  }
  CHECK(temporaries_in(dir.path(), "model.safetensors") == 0);
  Net check{manual_seed(3)};
  load(check, path);
  const auto state = check.state_dict();
  CHECK((same(state, state_a) || same(state, state_b)));
}

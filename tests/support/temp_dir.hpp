#pragma once
// A directory of the test's own: created by mkdtemp under $TMPDIR (std::filesystem::temp_directory_path,
// /tmp when unset), removed with everything in it at scope end. Every test that writes files writes them
// here, never under a fixed name: ctest -j runs the test executables (and, through catch_discover_tests,
// each test case in a process of its own) at the same time, and a fixed path would be shared by them.
//
//   ctnn_test::TempDir dir;
//   ctnn::save(model, dir / "model.safetensors");
//   CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
#include <stdlib.h>  // mkdtemp (POSIX)

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace ctnn_test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ctnn_test_XXXXXX").string();
    // mkdtemp replaces the X's in place and creates the directory atomically (mode 0700), so two
    // processes can never be handed the same one.
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("TempDir: mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;  // a destructor must not throw; a leftover directory is the only cost
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // The names of the entries directly inside, sorted (to see that a writer left no temporary behind).
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace ctnn_test

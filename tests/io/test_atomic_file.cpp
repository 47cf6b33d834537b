// Atomic saves (io/atomic_file.hpp, shared by checkpoints and PNG pictures): saving through symbolic
// links, keeping the target's mode, removing only our own stale temporaries, refusing targets that are
// not regular files, and a full file system (RLIMIT_FSIZE in a forked child) failing with a clear
// error while the previous checkpoint stays intact.
#include <catch2/catch.hpp>

#include <ctnn/ctnn.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "test_files.hpp"

using namespace ctnn;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

using Small = Sequential<backend::reference, Input<16>, Linear<16, 16>, ReLU, Linear<16, 4>>;

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}
std::string bytes_of(const fs::path& p) {
  const auto v = ctnn_test::read_bytes(p);
  return std::string(v.begin(), v.end());
}
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
template <class Model>
bool same_values(Model& a, Model& b) {
  const auto sa = a.state_dict(), sb = b.state_dict();
  if (sa.size() != sb.size()) return false;
  for (std::size_t i = 0; i < sa.size(); ++i)
    if (sa[i].values != sb[i].values) return false;
  return true;
}

}  // namespace

TEST_CASE("temporary names: exactly <name>.tmp- and 16 lowercase hex digits", "[io][atomic]") {
  CHECK(io::is_temporary_name("m.safetensors.tmp-0123456789abcdef", "m.safetensors"));
  CHECK_FALSE(io::is_temporary_name("m.safetensors.tmp-0123456789abcde", "m.safetensors"));    // 15 digits
  CHECK_FALSE(io::is_temporary_name("m.safetensors.tmp-0123456789abcdef0", "m.safetensors"));  // 17 digits
  CHECK_FALSE(io::is_temporary_name("m.safetensors.tmp-0123456789ABCDEF", "m.safetensors"));   // upper case
  CHECK_FALSE(io::is_temporary_name("m.safetensors.tmp-0123456789abcdeg", "m.safetensors"));
  CHECK_FALSE(io::is_temporary_name("n.safetensors.tmp-0123456789abcdef", "m.safetensors"));   // another target
  CHECK_FALSE(io::is_temporary_name("xm.safetensors.tmp-0123456789abcdef", "m.safetensors"));
  CHECK_FALSE(io::is_temporary_name("m.safetensors.tmp", "m.safetensors"));
  CHECK_FALSE(io::is_temporary_name("m.safetensors", "m.safetensors"));
}

TEST_CASE("a save removes stale temporaries of its own target and nothing else", "[io][atomic]") {
  ctnn_test::TempDir dir;
  const fs::path path = dir / "m.safetensors";
  Small model{manual_seed(1)};
  save(model, path);
  const std::vector<std::string> stale = {"m.safetensors.tmp-0123456789abcdef", "m.safetensors.tmp-ffffffffffffffff"};
  const std::vector<std::string> others = {
      "m.safetensors.tmp-0123456789abcde",  "m.safetensors.tmp-0123456789ABCDEF", "m.safetensors.tmp-0123456789abcdef0",
      "m.safetensors.tmp",                  "n.safetensors.tmp-0123456789abcdef", "m.safetensors.tmp-0123456789abcdeg",
      "notes.txt"};
  for (const auto& n : stale) ctnn_test::write_bytes(dir / n, {1, 2, 3});
  for (const auto& n : others) ctnn_test::write_bytes(dir / n, {4, 5});
  // A directory and a symbolic link of the temporary pattern are not ours either: left alone.
  fs::create_directory(dir / "m.safetensors.tmp-aaaaaaaaaaaaaaaa");
  fs::create_symlink("notes.txt", dir / "m.safetensors.tmp-bbbbbbbbbbbbbbbb");
  // A temporary that a live writer holds (locked) is not stale.
  const fs::path held = dir / "m.safetensors.tmp-cccccccccccccccc";
  ctnn_test::write_bytes(held, {7});
  const int fd = ::open(held.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);

  Small other{manual_seed(2)};
  save(other, path);
  ::close(fd);

  std::vector<std::string> expected = others;
  expected.push_back("m.safetensors");
  expected.push_back("m.safetensors.tmp-aaaaaaaaaaaaaaaa");
  expected.push_back("m.safetensors.tmp-bbbbbbbbbbbbbbbb");
  expected.push_back("m.safetensors.tmp-cccccccccccccccc");
  std::sort(expected.begin(), expected.end());
  CHECK(names_in(dir.path()) == expected);
  Small check{manual_seed(3)};
  load(check, path);
  CHECK(same_values(check, other));
  // Once the writer is gone, its temporary is stale and the next save removes it.
  save(other, path);
  CHECK_FALSE(fs::exists(held));
}

TEST_CASE("saving through a symbolic link replaces the link's target and keeps the link", "[io][atomic]") {
  ctnn_test::TempDir dir;
  fs::create_directories(dir / "real");
  const fs::path target = dir / "real" / "model.safetensors";
  const fs::path link = dir / "latest.safetensors";
  Small a{manual_seed(1)}, b{manual_seed(2)}, check{manual_seed(3)};
  save(a, target);
  fs::create_symlink("real/model.safetensors", link);  // relative, as `ln -s` makes them
  save(b, link);
  CHECK(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == fs::path("real/model.safetensors"));
  load(check, target);
  CHECK(same_values(check, b));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"latest.safetensors", "real"});
  CHECK(names_in(dir / "real") == std::vector<std::string>{"model.safetensors"});  // the temporary was beside the target

  SECTION("a chain of links, the last one absolute") {
    const fs::path link2 = dir / "link2";
    fs::create_symlink(link, link2);
    save(a, link2);
    CHECK(fs::is_symlink(link2));
    CHECK(fs::is_symlink(link));
    load(check, target);
    CHECK(same_values(check, a));
  }
  SECTION("a dangling link creates the file it points to") {
    const fs::path dangling = dir / "dangling";
    fs::create_symlink("real/new.safetensors", dangling);
    save(a, dangling);
    CHECK(fs::is_symlink(dangling));
    CHECK(fs::is_regular_file(dir / "real" / "new.safetensors"));
  }
  SECTION("a loop of links is an error, and nothing is written") {
    fs::create_symlink("loop_b", dir / "loop_a");
    fs::create_symlink("loop_a", dir / "loop_b");
    CHECK_THROWS_WITH(save(a, dir / "loop_a"), Contains("too many levels of symbolic links"));
    CHECK(fs::is_symlink(dir / "loop_a"));
  }
  SECTION("PNG pictures are written through links the same way") {
    const fs::path png = dir / "real" / "plot.png";
    viz::write_png(png, viz::Canvas(4, 4));
    const fs::path png_link = dir / "plot.png";
    fs::create_symlink("real/plot.png", png_link);
    viz::write_png(png_link, viz::Canvas(8, 8, viz::colors::red));
    CHECK(fs::is_symlink(png_link));
    CHECK(bytes_of(png).size() > 0);
    CHECK(names_in(dir / "real") == std::vector<std::string>{"model.safetensors", "plot.png"});
  }
}

TEST_CASE("a save keeps the mode of the file it replaces", "[io][atomic]") {
  ctnn_test::TempDir dir;
  const fs::path path = dir / "secret.safetensors";
  Small a{manual_seed(1)}, b{manual_seed(2)};
  save(a, path);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  save(b, path);
  CHECK(mode_of(path) == 0600);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  save(a, path);
  CHECK(mode_of(path) == 0640);
  // PNG pictures too (the same writer).
  const fs::path png = dir / "p.png";
  viz::write_png(png, viz::Canvas(4, 4));
  REQUIRE(::chmod(png.c_str(), 0600) == 0);
  viz::write_png(png, viz::Canvas(4, 4, viz::colors::red));
  CHECK(mode_of(png) == 0600);
  // A new file gets 0666 minus the umask, as any created file.
  const mode_t mask = ::umask(0022);
  ::umask(mask);
  save(a, dir / "fresh.safetensors");
  CHECK(mode_of(dir / "fresh.safetensors") == (0666u & ~static_cast<unsigned>(mask)));
}

TEST_CASE("targets that are not regular files are refused and left alone", "[io][atomic]") {
  ctnn_test::TempDir dir;
  Small a{manual_seed(1)};
  const fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(save(a, fifo), Contains(fifo.string()) && Contains("is a FIFO (named pipe), not a regular file") &&
                                       Contains("refusing to replace it"));
  CHECK(fs::is_fifo(fifo));
  fs::create_directory(dir / "d");
  CHECK_THROWS_WITH(viz::write_png(dir / "d", viz::Canvas(2, 2)), Contains("is a directory"));
  CHECK(fs::is_directory(dir / "d"));
  CHECK_THROWS_WITH(save(a, dir / "missing" / "m.safetensors"), Contains("does not exist"));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"d", "pipe"});
}

TEST_CASE("a save without write permission is an error and changes nothing", "[io][atomic]") {
  if (::geteuid() == 0) {
    WARN("running as root, which writes anywhere: the permission case cannot be checked here");
    return;
  }
  ctnn_test::TempDir dir;
  const fs::path sub = dir / "ro";
  fs::create_directory(sub);
  Small a{manual_seed(1)}, b{manual_seed(2)}, check{manual_seed(3)};
  save(a, sub / "m.safetensors");
  REQUIRE(::chmod(sub.c_str(), 0500) == 0);
  CHECK_THROWS_WITH(save(b, sub / "m.safetensors"), Contains("cannot create the temporary file") && Contains("writable"));
  ::chmod(sub.c_str(), 0700);
  load(check, sub / "m.safetensors");
  CHECK(same_values(check, a));
}

TEST_CASE("a save onto a full file system (RLIMIT_FSIZE) fails clearly and keeps the old checkpoint", "[io][atomic]") {
  ctnn_test::TempDir dir;
  const fs::path path = dir / "m.safetensors";
  using Big = Sequential<backend::reference, Input<64>, Linear<64, 64>>;  // 33 KB of F64
  Big old_model{manual_seed(1)}, new_model{manual_seed(2)}, check{manual_seed(3)};
  save(old_model, path);
  const std::string old_bytes = bytes_of(path);

  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a 4 KB file size limit, SIGXFSZ ignored so that write() returns EFBIG, then one save.
    ::close(pipe_fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int code = 1;
    std::string message = "(no error)";
    try {
      save(new_model, path);
    } catch (const ctnn::error& e) {
      message = e.what();
      code = 0;
    } catch (...) {
      message = "another exception";
      code = 2;
    }
    (void)!::write(pipe_fds[1], message.data(), message.size());
    ::close(pipe_fds[1]);
    ::_exit(code);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (::ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("the child's error: " << message);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(message, Contains(path.string()) && Contains("cannot save") && Contains("failed after 4096 of") &&
                          Contains("File too large") && Contains("file size limit") && Contains("is unchanged"));
  CHECK(bytes_of(path) == old_bytes);
  CHECK(names_in(dir.path()) == std::vector<std::string>{"m.safetensors"});
  load(check, path);
  CHECK(same_values(check, old_model));
}

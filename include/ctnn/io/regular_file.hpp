#pragma once
// Reading input files that are known to be regular files. Every reader of ctnn (checkpoints, IDX,
// CIFAR-10) opens its file through input_file, so that
//  * a FIFO, a socket, a character device (/dev/zero, /dev/stdin, a tty) or a directory is refused with
//    an error naming what it is, instead of blocking forever or reading until memory runs out: the file
//    is opened with O_NONBLOCK (opening a FIFO does not wait for a writer) and checked with fstat on the
//    descriptor itself, so there is no window between the check and the open;
//  * the size of the file is known before anything is allocated, so that no header can make a reader
//    allocate more than the file could hold.
// Errors are ctnn::error naming the file: "no such file", "permission denied", "is a directory, not a
// regular file", "is a FIFO (named pipe), not a regular file", "is a character device, not a regular file".
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "../core/error.hpp"

#if __has_include(<unistd.h>) && __has_include(<sys/stat.h>)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define CTNN_HAS_POSIX_IO 1
#else
#define CTNN_HAS_POSIX_IO 0
#endif

namespace ctnn::io {

namespace detail {

inline std::string errno_message(int e) { return std::generic_category().message(e); }

#if CTNN_HAS_POSIX_IO
// What a non-regular file is, for error messages.
inline std::string_view file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}
#endif

// "no such file" for ENOENT (what the readers always said), the system's words otherwise.
inline std::string open_problem(int e) {
  if (e == ENOENT) return "no such file";
  if (e == EACCES || e == EPERM) return cat("permission denied (", errno_message(e), ")");
  if (e == ENOTDIR) return cat("no such file (a component of the path is not a directory)");
  return cat("cannot open the file (", errno_message(e), ")");
}

}  // namespace detail

// A regular file open for reading. read() returns fewer bytes than asked only at the end of the file.
class input_file {
 public:
  explicit input_file(std::filesystem::path path) : path_(std::move(path)) {
#if CTNN_HAS_POSIX_IO
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) {
      const int e = errno;
      if (e == ENXIO) fail("is a socket, not a regular file");  // open() of a socket path
      fail(detail::open_problem(e));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int e = errno;
      close_quietly();
      fail(cat("cannot stat the file (", detail::errno_message(e), ")"));
    }
    if (!S_ISREG(st.st_mode)) {
      const std::string_view kind = detail::file_kind(st.st_mode);
      close_quietly();
      fail(cat("is ", kind, ", not a regular file"));
    }
    // Reads of a regular file never block; clear the flag anyway so that the descriptor is ordinary.
    if (const int flags = ::fcntl(fd_, F_GETFL); flags >= 0) (void)::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    size_ = static_cast<std::uint64_t>(st.st_size);
#else
    std::error_code ec;
    const auto status = std::filesystem::status(path_, ec);
    if (!std::filesystem::exists(status)) fail("no such file");
    if (std::filesystem::is_directory(status)) fail("is a directory, not a regular file");
    if (!std::filesystem::is_regular_file(status)) fail("is not a regular file");
    f_ = std::fopen(path_.string().c_str(), "rb");
    if (!f_) fail(detail::open_problem(errno));
    size_ = static_cast<std::uint64_t>(std::filesystem::file_size(path_, ec));
#endif
  }
  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;
  ~input_file() { close_quietly(); }

  const std::filesystem::path& path() const { return path_; }
  // The size of the file when it was opened.
  std::uint64_t size() const { return size_; }

  // Reads up to n bytes; fewer only at the end of the file. Throws ctnn::error on a read error.
  std::size_t read(void* dst, std::size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
#if CTNN_HAS_POSIX_IO
    while (done < n) {
      const std::size_t want = std::min<std::size_t>(n - done, std::size_t{1} << 30);
      const ::ssize_t got = ::read(fd_, out + done, want);
      if (got < 0) {
        if (errno == EINTR) continue;
        fail(cat("read error (", detail::errno_message(errno), ")"));
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
#else
    done = std::fread(out, 1, n, f_);
    if (done < n && std::ferror(f_)) fail("read error");
#endif
    return done;
  }

 private:
  [[noreturn]] void fail(std::string_view problem) const { throw error(cat(path_.string(), ": ", problem)); }
  void close_quietly() {
#if CTNN_HAS_POSIX_IO
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
#else
    if (f_) std::fclose(f_);
    f_ = nullptr;
#endif
  }

  std::filesystem::path path_;
  std::uint64_t size_ = 0;
#if CTNN_HAS_POSIX_IO
  int fd_ = -1;
#else
  std::FILE* f_ = nullptr;
#endif
};

// The whole contents of a regular file. Memory is reserved for the size fstat reports and grows only
// as bytes actually arrive; more than max_bytes is an error.
inline std::string read_file(const std::filesystem::path& path,
                             std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max()) {
  input_file in(path);
  if (in.size() > max_bytes)
    throw error(cat(path.string(), ": the file is ", in.size(), " bytes long, more than the limit of ", max_bytes,
                    " bytes"));
  std::string bytes;
  bytes.resize(static_cast<std::size_t>(in.size()));
  std::size_t got = in.read(bytes.data(), bytes.size());
  bytes.resize(got);
  // The file may have grown since fstat: read on in bounded steps.
  if (got == in.size()) {
    char chunk[1 << 14];
    while (const std::size_t more = in.read(chunk, sizeof chunk)) {
      if (bytes.size() + more > max_bytes)
        throw error(cat(path.string(), ": the file is more than the limit of ", max_bytes, " bytes"));
      bytes.append(chunk, more);
    }
  }
  return bytes;
}

}  // namespace ctnn::io

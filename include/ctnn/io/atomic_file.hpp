#pragma once
// Atomic file replacement, shared by every writer of ctnn (checkpoints, PNG pictures):
//   ctnn::io::write_file_atomically(path, bytes);
// At every moment <path> holds either its old contents or the complete new ones, even if the process
// is killed (SIGKILL, power loss after the fsync) in the middle of a save:
//  1. A symbolic link is followed (a chain of them, relative or absolute) and the file it points to is
//     replaced; the link stays a link, as editors do. The temporary file is written beside the link's
//     target, on the same file system, so that the rename is atomic.
//  2. A target that exists but is not a regular file (a directory, a FIFO, a device such as /dev/null)
//     is refused: it is never renamed over.
//  3. The bytes go to "<name>.tmp-<16 lowercase hex digits>" in the target's directory, created with
//     O_EXCL and locked (flock) while it is written, then fsync'ed and renamed over the target; the
//     directory is fsync'ed after (best effort).
//  4. The new file keeps the mode of the file it replaces (a 0600 file stays 0600; while it is being
//     written the temporary file is 0600) and, where allowed, its owner and group. A new file gets
//     0666 minus the umask, as any created file does.
//  5. Temporaries of exactly this naming for this target that no live writer holds (a save killed by
//     SIGKILL leaves one) are removed by the next save of the same target. Only names of the exact
//     form "<name>.tmp-" + 16 hex digits, regular files, not locked by a writer, are touched.
//  6. On any failure (a full disk, a file size limit, a read-only or missing directory) the temporary
//     file is removed, the target is left exactly as it was, and ctnn::error says what failed:
//     "<path>: cannot save: writing the temporary file failed after 4096 of 9000 bytes: No space left
//     on device (the disk or quota is full); <path> is unchanged".
// A hard link to the target is not updated (rename gives the name a new inode), as with editors.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "regular_file.hpp"

#if CTNN_HAS_POSIX_IO
#include <sys/file.h>
#endif

namespace ctnn::io {

namespace detail {

inline constexpr std::string_view temporary_infix = ".tmp-";
inline constexpr std::size_t temporary_hex_digits = 16;

// Test hook: called with the temporary file's path after half of the bytes are written, before the
// rest, the fsync and the rename. A test makes it throw to simulate a failure in the middle of a save.
inline void (*after_partial_write_hook)(const std::filesystem::path& temporary) = nullptr;

// A name for the temporary file that no other writer (thread or process) picks.
inline std::string temporary_name(std::string_view target_name) {
  static std::atomic<std::uint64_t> counter{0};
  const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const auto here = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&now));
  std::uint64_t r = rng::mix(now ^ rng::mix(here + counter.fetch_add(1)));
#if CTNN_HAS_POSIX_IO
  r = rng::mix(r ^ static_cast<std::uint64_t>(::getpid()));
#endif
  static constexpr char hex[] = "0123456789abcdef";
  std::string name(target_name);
  name += temporary_infix;
  for (std::size_t i = 0; i < temporary_hex_digits; ++i) name += hex[(r >> (4 * i)) & 0xF];
  return name;
}

}  // namespace detail

// True when `candidate` is a temporary file name write_file_atomically uses for a target named
// `target_name`: exactly target_name + ".tmp-" + 16 lowercase hex digits.
inline bool is_temporary_name(std::string_view candidate, std::string_view target_name) {
  const std::size_t prefix = target_name.size() + detail::temporary_infix.size();
  if (candidate.size() != prefix + detail::temporary_hex_digits) return false;
  if (!candidate.starts_with(target_name) || candidate.substr(target_name.size(), detail::temporary_infix.size()) !=
                                                 detail::temporary_infix)
    return false;
  return std::all_of(candidate.begin() + static_cast<std::ptrdiff_t>(prefix), candidate.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The file a path names after following symbolic links in its last component (a chain of at most 40,
// as the kernel allows): the file that a save through this path must replace. A dangling link gives
// the path it points to (the save creates that file).
inline std::filesystem::path resolve_symlinks(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  for (int depth = 0;; ++depth) {
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(p, ec);
    if (ec || !std::filesystem::is_symlink(st)) return p;
    if (depth == 40) throw error(cat(path.string(), ": cannot save: too many levels of symbolic links"));
    const std::filesystem::path to = std::filesystem::read_symlink(p, ec);
    if (ec) throw error(cat(path.string(), ": cannot save: cannot read the symbolic link ", p.string(), " (",
                            ec.message(), ")"));
    p = to.is_absolute() ? to : p.parent_path() / to;
  }
}

// Removes the temporaries of `target` (see is_temporary_name) that no live writer holds. Best effort:
// returns how many were removed and ignores every error.
inline std::size_t remove_stale_temporaries(const std::filesystem::path& target) {
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  const std::string name = target.filename().string();
  std::size_t removed = 0;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::filesystem::path candidate = it->path();
    if (!is_temporary_name(candidate.filename().string(), name)) continue;
#if CTNN_HAS_POSIX_IO
    const int fd = ::open(candidate.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) continue;
    struct stat held {}, named {};
    // A writer holds its lock from creating the file until it is renamed or removed: skip it.
    if (::fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        ::lstat(candidate.c_str(), &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino &&
        ::unlink(candidate.c_str()) == 0)
      ++removed;
    ::close(fd);
#else
    std::error_code ignored;
    if (std::filesystem::is_regular_file(std::filesystem::symlink_status(candidate, ignored)) &&
        std::filesystem::remove(candidate, ignored))
      ++removed;
#endif
  }
  return removed;
}

// Replaces the file at `path` by `bytes`, atomically (see the top of this file).
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target = resolve_symlinks(path);
  const std::string shown = path.string() == target.string()
                                ? path.string()
                                : cat(path.string(), " (a symbolic link to ", target.string(), ")");
  auto problem = [&](std::string_view what) { return error(cat(shown, ": cannot save: ", what)); };
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::size_t half = bytes.size() / 2;
#if CTNN_HAS_POSIX_IO
  bool existed = false;
  struct stat old {};
  if (::stat(target.c_str(), &old) == 0) {
    existed = true;
    if (!S_ISREG(old.st_mode))
      throw problem(cat("it is ", detail::file_kind(old.st_mode), ", not a regular file; refusing to replace it"));
  } else if (errno != ENOENT) {
    throw problem(cat("cannot examine the target (", detail::errno_message(errno), ")"));
  }
  {
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0) {
      if (errno == ENOENT) throw problem(cat("the directory ", dir.string(), " does not exist"));
      throw problem(cat("cannot examine the directory ", dir.string(), " (", detail::errno_message(errno), ")"));
    }
    if (!S_ISDIR(d.st_mode)) throw problem(cat(dir.string(), " is not a directory"));
  }
  remove_stale_temporaries(target);

  // Create and lock the temporary file. A concurrent remove_stale_temporaries may unlink it between the
  // open and the lock: the name then no longer leads to our file, and we start over with another name.
  fs::path temp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    if (attempt == 100) throw problem("cannot create a temporary file (100 names were taken)");
    temp = dir / detail::temporary_name(target.filename().string());
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, existed ? 0600 : 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      const int e = errno;
      throw problem(cat("cannot create the temporary file ", temp.string(), " (", detail::errno_message(e), ")",
                        e == EACCES || e == EPERM || e == EROFS ? "; is the directory writable?" : ""));
    }
    struct stat held {}, named {};
    if (::flock(fd, LOCK_EX) != 0 || ::fstat(fd, &held) != 0 || ::lstat(temp.c_str(), &named) != 0 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
      ::close(fd);
      fd = -1;
    }
  }
  try {
    if (existed) {
      if (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) (void)::fchown(fd, old.st_uid, old.st_gid);
      if (::fchmod(fd, old.st_mode & 07777) != 0)
        throw problem(cat("cannot give the temporary file the mode of the target (", detail::errno_message(errno), ")"));
    }
    std::size_t written = 0;
    auto write_all = [&](std::string_view part) {
      while (!part.empty()) {
        const ::ssize_t w = ::write(fd, part.data(), std::min<std::size_t>(part.size(), std::size_t{1} << 30));
        if (w < 0) {
          const int e = errno;
          if (e == EINTR) continue;
          throw problem(cat("writing the temporary file ", temp.string(), " failed after ", written, " of ",
                            bytes.size(), " bytes: ", detail::errno_message(e),
                            e == ENOSPC || e == EDQUOT ? " (the disk or quota is full)"
                            : e == EFBIG           ? " (the file size limit was reached)"
                                                   : "",
                            "; ", path.string(), " is unchanged"));
        }
        part.remove_prefix(static_cast<std::size_t>(w));
        written += static_cast<std::size_t>(w);
      }
    };
    write_all(bytes.substr(0, half));
    if (detail::after_partial_write_hook) detail::after_partial_write_hook(temp);
    write_all(bytes.substr(half));
    if (::fsync(fd) != 0)
      throw problem(cat("fsync of the temporary file failed (", detail::errno_message(errno), "); ", path.string(),
                        " is unchanged"));
    if (::rename(temp.c_str(), target.c_str()) != 0)
      throw problem(cat("cannot rename the temporary file ", temp.string(), " over the target (",
                        detail::errno_message(errno), "); ", path.string(), " is unchanged"));
  } catch (...) {
    ::unlink(temp.c_str());
    ::close(fd);
    throw;
  }
  ::close(fd);  // after the rename: the lock guards the temporary name until it is gone
  // Make the rename itself durable (best effort: some file systems refuse to fsync a directory).
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
#else
  {
    std::error_code ec;
    const auto st = fs::status(target, ec);
    if (fs::exists(st) && !fs::is_regular_file(st)) throw problem("it is not a regular file; refusing to replace it");
    if (!fs::is_directory(dir, ec)) throw problem(cat("the directory ", dir.string(), " does not exist"));
  }
  remove_stale_temporaries(target);
  const fs::path temp = dir / detail::temporary_name(target.filename().string());
  std::FILE* f = std::fopen(temp.string().c_str(), "wb");
  if (!f) throw problem(cat("cannot create the temporary file ", temp.string()));
  try {
    if (std::fwrite(bytes.data(), 1, half, f) != half) throw problem("write failed");
    if (detail::after_partial_write_hook) detail::after_partial_write_hook(temp);
    const std::size_t rest = bytes.size() - half;
    if (std::fwrite(bytes.data() + half, 1, rest, f) != rest) throw problem("write failed");
    if (std::fflush(f) != 0) throw problem("flush failed");
    const int closed = std::fclose(f);
    f = nullptr;
    if (closed != 0) throw problem("close failed");
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) throw problem(cat("cannot rename the temporary file over the target: ", ec.message()));
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
#endif
}

}  // namespace ctnn::io

#pragma once
// Finding a data set on disk, and reading its files.
//  * locate(): the first of several candidate directories that holds every file a data set needs
//    (each under one of several names: "train-images-idx3-ubyte" or the same with ".gz"). When none
//    does, the error lists every directory searched.
//  * gz_reader: reads a regular file or bytes in memory, gzip-compressed (decompressed through zlib,
//    incrementally and within max_decompressed_bytes) or plain.
// Every error is a ctnn::error that names the file and what was wrong with it.
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../io/regular_file.hpp"

namespace ctnn::data {

namespace fs = std::filesystem;

// "0x00000803".
inline std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

// A file under its plain name or gzip-compressed: {"name", "name.gz"} (the plain one is preferred).
inline std::vector<std::string> plain_or_gz(const std::string& name) { return {name, name + ".gz"}; }

// The directories searched for a data set, in order: root and root/<subdir> for each subdir (when
// root is not empty), then $CTNN_DATA and $CTNN_DATA/<subdir> (when set), then the system
// directories.
inline std::vector<fs::path> search_dirs(const fs::path& root, std::initializer_list<std::string_view> subdirs,
                                         std::initializer_list<std::string_view> system_dirs) {
  std::vector<fs::path> dirs;
  auto add_with_subdirs = [&](const fs::path& base) {
    dirs.push_back(base);
    for (auto s : subdirs) dirs.push_back(base / fs::path(s));
  };
  if (!root.empty()) add_with_subdirs(root);
  if (const char* env = std::getenv("CTNN_DATA"); env && *env) add_with_subdirs(fs::path(env));
  for (auto s : system_dirs) dirs.push_back(fs::path(s));
  return dirs;
}

// Where a data set was found: the directory, and the path of each wanted file in it.
struct Located {
  fs::path dir;
  std::vector<fs::path> files;
};

// The first directory of `dirs` that holds every wanted file (each wanted file is a list of
// alternative names). A directory holding some of the files but not all is an error (a half-copied
// data set is worth hearing about rather than silently skipping), and so is finding nothing.
inline Located locate(std::string_view dataset, const std::vector<fs::path>& dirs,
                      const std::vector<std::vector<std::string>>& wanted) {
  auto describe = [](const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i) s += (i ? " or " : "") + names[i];
    return s;
  };
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    Located found{dir, {}};
    std::vector<std::size_t> missing;
    for (std::size_t w = 0; w < wanted.size(); ++w) {
      bool present = false;
      for (const auto& name : wanted[w]) {
        if (fs::is_regular_file(dir / name, ec)) {
          found.files.push_back(dir / name);
          present = true;
          break;
        }
      }
      if (!present) missing.push_back(w);
    }
    if (missing.empty()) return found;
    if (found.files.size() > 0) {
      std::string msg = cat(dataset, ": ", dir.string(), " holds ", found.files.front().filename().string(),
                            " but not ");
      for (std::size_t m = 0; m < missing.size(); ++m) msg += (m ? ", nor " : "") + describe(wanted[missing[m]]);
      throw error(msg);
    }
  }
  std::string msg = cat(dataset, ": not found. Looked for ");
  for (std::size_t w = 0; w < wanted.size(); ++w) msg += (w ? ", " : "") + describe(wanted[w]);
  msg += " in:";
  for (const auto& dir : dirs) msg += "\n  " + dir.string();
  msg += "\n(pass the directory as root, or set CTNN_DATA)";
  throw error(msg);
}

// The most bytes one data file may yield after decompression (1 GiB by default; settable). Fashion-
// MNIST's largest file is 47 MB and a CIFAR-10 batch 31 MB: the limit only stops decompression bombs.
inline std::uint64_t max_decompressed_bytes = std::uint64_t{1} << 30;

// Deflate's largest possible expansion: 258 bytes from 2 bits, 1032 to 1 (an upper bound used to reject
// headers that declare more data than a compressed file could ever hold, before allocating for it).
inline constexpr std::uint64_t deflate_max_ratio = 1032;

// Reads a data file: a regular file (io::input_file: a FIFO, a device or a directory is an error) or
// bytes in memory, decompressing it when it starts with the gzip magic (1f 8b; concatenated gzip
// members are read one after the other, as gunzip does) and passing it through as it is otherwise.
// Decompression is incremental: memory grows only with what the stream actually yields, and a stream
// that yields more than `limit` bytes (max_decompressed_bytes) is an error. Bytes after the last gzip
// member that are not another member, a corrupt stream and a failed CRC are errors; a stream cut
// short ends the data early, and zlib_message() says "unexpected end of file".
class gz_reader {
 public:
  explicit gz_reader(fs::path file, std::uint64_t limit = max_decompressed_bytes)
      : name_(file.string()), file_(std::move(file)), limit_(limit) {
    in_file_.emplace(file_);
    input_size_ = in_file_->size();
    buffer_.resize(std::size_t{1} << 17);
  }
  // Bytes in memory (they must outlive the reader); `name` stands for the file in errors.
  gz_reader(const void* data, std::size_t size, std::string name, std::uint64_t limit = max_decompressed_bytes)
      : name_(std::move(name)), file_(name_), limit_(limit), input_size_(size) {
    next_ = static_cast<const unsigned char*>(data);
    avail_ = size;
  }
  gz_reader(const gz_reader&) = delete;
  gz_reader& operator=(const gz_reader&) = delete;
  ~gz_reader() {
    if (inflating_) inflateEnd(&zs_);
  }

  const fs::path& file() const { return file_; }
  // The size of the input (compressed or not).
  std::uint64_t input_size() const { return input_size_; }
  // Whether the input is gzip-compressed (known after the first read; begin() forces it).
  bool compressed() {
    begin();
    return gzip_;
  }
  // How many bytes read() has returned so far.
  std::uint64_t position() const { return produced_; }
  // An upper bound on the bytes that read() can still return: the rest of the file when plain; for
  // gzip what the rest of the input could decompress to (deflate_max_ratio), never beyond `limit`.
  std::uint64_t max_remaining() {
    begin();
    const std::uint64_t rest = limit_ > produced_ ? limit_ - produced_ : 0;
    const std::uint64_t in_left = input_size_ > used_input() ? input_size_ - used_input() : 0;
    if (!gzip_) return in_left;  // a plain file yields what it holds: the limit is on decompression
    const std::uint64_t bound =
        in_left > (std::numeric_limits<std::uint64_t>::max() - 65536) / deflate_max_ratio ? std::numeric_limits<std::uint64_t>::max()
                                                                                           : in_left * deflate_max_ratio + 65536;
    return std::min(rest, bound);
  }

  // Reads up to n bytes; fewer only at the end of the data. Throws on a read or decompression error.
  std::size_t read(void* dst, std::size_t n) {
    begin();
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
    while (done < n && !finished_) {
      if (avail_ == 0 && !refill()) {
        if (gzip_ && !member_done_) message_ = "unexpected end of file";
        finished_ = true;
        break;
      }
      if (!gzip_) {
        const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(avail_, n - done));
        std::copy(next_, next_ + k, out + done);
        next_ += k;
        avail_ -= k;
        done += k;
        continue;
      }
      if (member_done_) {  // another member, or trailing bytes that are not gzip data
        if (next_[0] != 0x1f || (avail_ >= 2 && next_[1] != 0x8b))
          fail(cat("corrupt gzip file: ", input_size_ > used_input() ? input_size_ - used_input() : 0,
                   " bytes after the end of the gzip stream are not another gzip member"));
        if (inflateReset(&zs_) != Z_OK) fail("zlib cannot restart decompression");
        member_done_ = false;
      }
      zs_.next_in = const_cast<Bytef*>(next_);
      zs_.avail_in = static_cast<uInt>(std::min<std::size_t>(avail_, 1u << 30));
      zs_.next_out = out + done;
      zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
      const uInt in_before = zs_.avail_in, out_before = zs_.avail_out;
      const int ret = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t used = in_before - zs_.avail_in, made = out_before - zs_.avail_out;
      next_ += used;
      avail_ -= used;
      done += made;
      if (ret == Z_STREAM_END) {
        member_done_ = true;
      } else if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR) {
        fail(cat("corrupt gzip data (zlib: ", zs_.msg ? zs_.msg : "invalid data", ")"));
      } else if (ret == Z_MEM_ERROR) {
        fail("zlib is out of memory");
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        fail(cat("zlib error ", ret));
      }
      if (produced_ + done > limit_)
        fail(cat("decompresses to more than ", limit_,
                 " bytes (ctnn::data::max_decompressed_bytes): not a data file, or a decompression bomb"));
    }
    produced_ += done;
    return done;
  }

  // zlib's description of the last problem ("unexpected end of file" for a cut gzip stream), or "".
  std::string zlib_message() { return message_; }

  // True when no byte is left.
  bool at_end() {
    unsigned char c;
    return read(&c, 1) == 0;
  }

 private:
  [[noreturn]] void fail(std::string_view problem) const { throw error(cat(name_, ": ", problem)); }

  // Input bytes that read() has used up.
  std::uint64_t used_input() const { return consumed_ - avail_; }

  // More input into next_/avail_; false at its end.
  bool refill() {
    if (!in_file_) return false;
    const std::size_t got = in_file_->read(buffer_.data(), buffer_.size());
    next_ = buffer_.data();
    avail_ = got;
    consumed_ += got;
    return got > 0;
  }

  void begin() {
    if (started_) return;
    started_ = true;
    if (in_file_) {
      if (!refill()) return;
      // A regular file gives full reads; make sure two bytes are there for the magic.
      if (avail_ < 2 && avail_ < input_size_) {
        unsigned char extra = 0;
        if (in_file_->read(&extra, 1) == 1) {
          buffer_[1] = extra;
          ++avail_;
          ++consumed_;
        }
      }
    } else {
      consumed_ = input_size_;
    }
    if (avail_ >= 2 && next_[0] == 0x1f && next_[1] == 0x8b) {
      gzip_ = true;
      zs_ = z_stream{};
      if (inflateInit2(&zs_, 15 + 16) != Z_OK) fail("zlib cannot start decompression");
      inflating_ = true;
    }
  }

  std::string name_;
  fs::path file_;
  std::uint64_t limit_;
  std::uint64_t input_size_ = 0;
  std::optional<io::input_file> in_file_;
  std::vector<unsigned char> buffer_;
  const unsigned char* next_ = nullptr;
  std::size_t avail_ = 0;
  std::uint64_t consumed_ = 0;  // input bytes taken into next_/avail_ so far
  std::uint64_t produced_ = 0;
  z_stream zs_{};
  bool started_ = false, gzip_ = false, inflating_ = false, member_done_ = false, finished_ = false;
  std::string message_;
};

// Reads everything `in` yields, growing memory only with what arrives.
inline std::vector<std::uint8_t> read_all(gz_reader& in) {
  std::vector<std::uint8_t> bytes;
  if (!in.compressed()) bytes.reserve(static_cast<std::size_t>(in.max_remaining()));
  std::size_t step = std::size_t{1} << 16;
  for (;;) {
    const std::size_t at = bytes.size();
    bytes.resize(at + step);
    const std::size_t got = in.read(bytes.data() + at, step);
    bytes.resize(at + got);
    if (got < step) break;
    step = std::min<std::size_t>(bytes.size(), std::size_t{1} << 26);
  }
  return bytes;
}

}  // namespace ctnn::data

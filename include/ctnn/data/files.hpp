#pragma once
// Finding a data set on disk, and reading its files.
//  * locate(): the first of several candidate directories that holds every file a data set needs
//    (each under one of several names: "train-images-idx3-ubyte" or the same with ".gz"). When none
//    does, the error lists every directory searched.
//  * gz_reader: reads a file through zlib, which reads gzip-compressed and plain files alike.
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
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"

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

// Reads a file through zlib: gzip-compressed files are decompressed, plain ones read as they are.
class gz_reader {
 public:
  explicit gz_reader(fs::path file) : file_(std::move(file)) {
    std::error_code ec;
    if (!fs::exists(file_, ec)) throw error(cat(file_.string(), ": no such file"));
    if (fs::is_directory(file_, ec)) throw error(cat(file_.string(), ": is a directory, not a file"));
    gz_ = gzopen(file_.c_str(), "rb");
    if (!gz_) throw error(cat(file_.string(), ": cannot open for reading"));
    gzbuffer(gz_, 1u << 17);
  }
  gz_reader(const gz_reader&) = delete;
  gz_reader& operator=(const gz_reader&) = delete;
  ~gz_reader() {
    if (gz_) gzclose(gz_);
  }

  const fs::path& file() const { return file_; }

  // Reads up to n bytes; fewer only at the end of the data. Throws on a read or decompression error.
  std::size_t read(void* dst, std::size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
    while (done < n) {
      const std::size_t want = std::min<std::size_t>(n - done, std::size_t{1} << 30);
      const int got = gzread(gz_, out + done, static_cast<unsigned>(want));
      if (got < 0) throw error(cat(file_.string(), ": read error: ", zlib_message()));
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

  // zlib's description of the last problem ("unexpected end of file" for a cut gzip stream), or "".
  std::string zlib_message() {
    int errnum = 0;
    const char* msg = gzerror(gz_, &errnum);
    return msg ? std::string(msg) : std::string();
  }

  // True when no byte is left.
  bool at_end() {
    unsigned char c;
    return read(&c, 1) == 0;
  }

 private:
  fs::path file_;
  gzFile gz_ = nullptr;
};

}  // namespace ctnn::data

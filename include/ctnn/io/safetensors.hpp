#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), so that a model
// trained here loads in PyTorch and the other way round:
//   ctnn::save(model, "tinyvgg.safetensors");     // model.state_dict(), F32 (eigen) or F64 (reference)
//   ctnn::load(model, "tinyvgg.safetensors");     // F32 and F64 both load, converted to the model's scalar
//
// The format: an 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"format": "pt"},
//    "conv_block_1.0.weight": {"dtype": "F32", "shape": [10, 1, 3, 3], "data_offsets": [0, 360]}, ...}
// (padded with spaces to a multiple of 8 bytes), then the data section: every tensor contiguous,
// row-major, little-endian, at its data_offsets (relative to the data section; no gaps, no overlaps).
//
// The JSON reader here is dependency-free and reads exactly this form: objects, strings (with every
// JSON escape) and arrays of non-negative integers; anything else is rejected with an error naming the
// file. Every problem (a missing or truncated file, bad JSON, offsets out of range or overlapping, an
// unknown or unsupported dtype, a checkpoint of another architecture) throws ctnn::error with the file's
// path, and loading changes nothing in the model unless the whole file is good.
//
// Writes are atomic: the file is written to "<path>.tmp-<random>" in the same directory, flushed and
// fsync'ed, then renamed over <path>. If anything fails the temporary file is removed and an existing
// <path> is left exactly as it was.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../nn/sequential.hpp"

#if __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#define CTNN_HAS_POSIX_IO 1
#else
#define CTNN_HAS_POSIX_IO 0
#endif

namespace ctnn {

namespace safetensors {

// __metadata__: free-form string pairs (safetensors.torch writes {"format": "pt"}).
using Metadata = std::map<std::string, std::string>;

// One tensor of a file as its header describes it.
struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32", "F64", "F16", "I64", ...
  std::vector<std::size_t> shape;
  std::size_t begin = 0, end = 0;  // byte offsets in the data section
};

// A parsed and validated header.
struct Header {
  std::vector<TensorInfo> tensors;  // in header order
  Metadata metadata;
  std::size_t data_start = 0;  // file offset of the data section: 8 + header length
};

// Bytes per element of every dtype the format defines; 0 for a name it does not define.
inline std::size_t dtype_size(std::string_view dtype) {
  struct entry {
    std::string_view name;
    std::size_t size;
  };
  static constexpr entry table[] = {{"BOOL", 1}, {"U8", 1},   {"I8", 1},   {"F8_E4M3", 1}, {"F8_E5M2", 1},
                                    {"I16", 2},  {"U16", 2},  {"F16", 2},  {"BF16", 2},    {"I32", 4},
                                    {"U32", 4},  {"F32", 4},  {"F64", 8},  {"I64", 8},     {"U64", 8}};
  for (const auto& e : table)
    if (e.name == dtype) return e.size;
  return 0;
}

template <class T>
constexpr std::string_view dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ctnn: safetensors checkpoints hold float (F32) or double (F64) tensors");
  return std::is_same_v<T, float> ? "F32" : "F64";
}

namespace detail {

inline std::string in_quotes(std::string_view s) { return cat("'", s, "'"); }

[[noreturn]] inline void fail(const std::filesystem::path& path, std::string_view problem) {
  throw error(cat(path.string(), ": ", problem));
}

// ---- JSON: exactly the header's form -----------------------------------------------------------
class header_parser {
 public:
  header_parser(std::string_view text, const std::filesystem::path& path) : s_(text), path_(path) {}

  Header parse() {
    Header h;
    skip_ws();
    expect('{', "the header must be a JSON object");
    skip_ws();
    std::vector<std::string> seen;
    bool seen_metadata = false;
    if (!consume('}')) {
      while (true) {
        skip_ws();
        const std::string key = parse_string("a tensor name");
        skip_ws();
        expect(':', "expected ':' after a key");
        skip_ws();
        if (key == "__metadata__") {
          if (seen_metadata) invalid("'__metadata__' appears twice");
          seen_metadata = true;
          h.metadata = parse_metadata();
        } else {
          for (const auto& t : h.tensors)
            if (t.name == key) invalid(cat("tensor ", in_quotes(key), " appears twice"));
          h.tensors.push_back(parse_tensor(key));
        }
        skip_ws();
        if (consume(',')) continue;
        expect('}', "expected ',' or '}' in the header object");
        break;
      }
    }
    skip_ws();
    if (pos_ != s_.size()) invalid("unexpected characters after the header object");
    return h;
  }

 private:
  [[noreturn]] void invalid(std::string_view what) const {
    fail(path_, cat("the header is not valid safetensors JSON: ", what, " (at byte ", pos_, " of the ", s_.size(),
                    "-byte header)"));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, std::string_view what) {
    if (!consume(c)) invalid(pos_ < s_.size() ? what : cat(what, " but the header ends"));
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::uint32_t parse_hex4() {
    if (s_.size() - pos_ < 4) invalid("a \\u escape needs 4 hex digits");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else invalid("a \\u escape needs 4 hex digits");
    }
    return v;
  }

  std::string parse_string(std::string_view what) {
    if (!consume('"')) invalid(cat("expected ", what, " (a string)"));
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) invalid("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) invalid("control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) invalid("unterminated escape");
      switch (const char e = s_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) invalid("lone low surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(consume('\\') && consume('u'))) invalid("high surrogate not followed by a low surrogate");
            const std::uint32_t low = parse_hex4();
            if (low < 0xDC00 || low > 0xDFFF) invalid("high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: invalid(cat("unknown escape '\\", e, "'"));
      }
    }
  }

  std::size_t parse_integer() {
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') {
      if (pos_ < s_.size() && s_[pos_] == '-') invalid("negative numbers are not allowed here");
      invalid("expected a non-negative integer");
    }
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9')
      invalid("integers must not have leading zeros");
    std::uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(s_[pos_] - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) invalid("integer too large");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      invalid("only integers are allowed here");
    if (v > std::numeric_limits<std::size_t>::max()) invalid("integer too large");
    return static_cast<std::size_t>(v);
  }

  std::vector<std::size_t> parse_integer_array(std::string_view what) {
    if (!consume('[')) invalid(cat("expected ", what, " (an array of integers)"));
    std::vector<std::size_t> out;
    skip_ws();
    if (consume(']')) return out;
    while (true) {
      skip_ws();
      out.push_back(parse_integer());
      skip_ws();
      if (consume(',')) continue;
      expect(']', "expected ',' or ']' in an array");
      return out;
    }
  }

  Metadata parse_metadata() {
    Metadata out;
    expect('{', "'__metadata__' must be an object of strings");
    skip_ws();
    if (consume('}')) return out;
    while (true) {
      skip_ws();
      std::string key = parse_string("a metadata key");
      skip_ws();
      expect(':', "expected ':' after a key");
      skip_ws();
      std::string value = parse_string(cat("the value of metadata key ", in_quotes(key)));
      if (!out.emplace(key, std::move(value)).second) invalid(cat("metadata key ", in_quotes(key), " appears twice"));
      skip_ws();
      if (consume(',')) continue;
      expect('}', "expected ',' or '}' in '__metadata__'");
      return out;
    }
  }

  TensorInfo parse_tensor(const std::string& name) {
    TensorInfo t;
    t.name = name;
    if (!consume('{')) invalid(cat("the entry of tensor ", in_quotes(name), " must be an object"));
    bool has_dtype = false, has_shape = false, has_offsets = false;
    skip_ws();
    if (!consume('}')) {
      while (true) {
        skip_ws();
        const std::string key = parse_string("a key");
        skip_ws();
        expect(':', "expected ':' after a key");
        skip_ws();
        auto once = [&](bool& flag) {
          if (flag) invalid(cat("key ", in_quotes(key), " appears twice in tensor ", in_quotes(name)));
          flag = true;
        };
        if (key == "dtype") {
          once(has_dtype);
          t.dtype = parse_string("the dtype");
        } else if (key == "shape") {
          once(has_shape);
          t.shape = parse_integer_array("the shape");
        } else if (key == "data_offsets") {
          once(has_offsets);
          const auto offsets = parse_integer_array("data_offsets");
          if (offsets.size() != 2) invalid(cat("data_offsets of tensor ", in_quotes(name), " must hold two integers"));
          t.begin = offsets[0];
          t.end = offsets[1];
        } else {
          invalid(cat("unknown key ", in_quotes(key), " in tensor ", in_quotes(name)));
        }
        skip_ws();
        if (consume(',')) continue;
        expect('}', "expected ',' or '}' in a tensor entry");
        break;
      }
    }
    if (!has_dtype || !has_shape || !has_offsets)
      invalid(cat("tensor ", in_quotes(name), " lacks ", !has_dtype ? "'dtype'" : !has_shape ? "'shape'" : "'data_offsets'"));
    return t;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const std::filesystem::path& path_;
};

inline std::string offsets_string(const TensorInfo& t) { return cat("[", t.begin, ", ", t.end, "]"); }

// Checks dtypes, sizes and offsets against a data section of data_size bytes.
inline void validate(const Header& h, std::size_t data_size, const std::filesystem::path& path) {
  for (const auto& t : h.tensors) {
    const std::size_t element = dtype_size(t.dtype);
    if (element == 0) fail(path, cat("tensor ", in_quotes(t.name), " has an unknown dtype ", in_quotes(t.dtype)));
    std::size_t bytes = element;
    for (std::size_t d : t.shape) {
      if (d != 0 && bytes > std::numeric_limits<std::size_t>::max() / d)
        fail(path, cat("tensor ", in_quotes(t.name), " has an impossibly large shape ", shape_string(t.shape)));
      bytes *= d;
    }
    if (t.end < t.begin)
      fail(path, cat("tensor ", in_quotes(t.name), " has data_offsets ", offsets_string(t), " that end before they begin"));
    if (t.end > data_size)
      fail(path, cat("tensor ", in_quotes(t.name), " has data_offsets ", offsets_string(t),
                     " out of range: the data section holds ", data_size, " bytes"));
    if (t.end - t.begin != bytes)
      fail(path, cat("tensor ", in_quotes(t.name), " of shape ", shape_string(t.shape), " and dtype ", t.dtype, " needs ",
                     bytes, " bytes but its data_offsets ", offsets_string(t), " span ", t.end - t.begin));
  }
  std::vector<const TensorInfo*> order;
  for (const auto& t : h.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::size_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : order) {
    if (t->begin < covered)
      fail(path, cat("tensor ", in_quotes(t->name), " (data_offsets ", offsets_string(*t), ") overlaps tensor ",
                     in_quotes(previous->name), " (data_offsets ", offsets_string(*previous), ")"));
    if (t->begin > covered)
      fail(path, cat("the data section has a gap: bytes [", covered, ", ", t->begin, ") before tensor ",
                     in_quotes(t->name), " belong to no tensor"));
    covered = t->end;
    previous = t;
  }
  if (covered != data_size)
    fail(path, cat("the data section holds ", data_size, " bytes but the tensors cover only ", covered));
}

// ---- little-endian values --------------------------------------------------------------------------
template <class U>
U load_le(const unsigned char* p) {
  U u = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) u = static_cast<U>(u | (static_cast<U>(p[i]) << (8 * i)));
  return u;
}
template <class U>
void store_le(U u, std::string& out) {
  for (std::size_t i = 0; i < sizeof(U); ++i) out += static_cast<char>((u >> (8 * i)) & 0xFF);
}
template <class T>
using bits_of = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

// ---- files -----------------------------------------------------------------------------------------
inline std::string read_whole_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) fail(path, "no such file");
  if (std::filesystem::is_directory(status)) fail(path, "is a directory, not a safetensors file");
  std::FILE* f = std::fopen(path.string().c_str(), "rb");
  if (!f) fail(path, cat("cannot open the file (", std::generic_category().message(errno), ")"));
  std::string bytes;
  char chunk[1 << 16];
  std::size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.append(chunk, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) fail(path, "cannot read the file");
  return bytes;
}

// Parses and validates the header of a whole file's bytes.
inline Header parse_file(std::string_view bytes, const std::filesystem::path& path) {
  if (bytes.size() < 8)
    fail(path, cat("the file is ", bytes.size(),
                   " bytes long, too short for a safetensors file (which starts with an 8-byte header length)"));
  const auto n = load_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > bytes.size() - 8)
    fail(path, cat("the header length ", n, " is beyond the file size (", bytes.size(), " bytes)"));
  const auto header_size = static_cast<std::size_t>(n);
  Header h = header_parser(bytes.substr(8, header_size), path).parse();
  h.data_start = 8 + header_size;
  validate(h, bytes.size() - h.data_start, path);
  return h;
}

// A name for the temporary file that no other writer (thread or process) picks.
inline std::filesystem::path temporary_path(const std::filesystem::path& path) {
  static std::atomic<std::uint64_t> counter{0};
  const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const auto here = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&now));
  std::uint64_t r = rng::mix(now ^ rng::mix(here + counter.fetch_add(1)));
#if CTNN_HAS_POSIX_IO
  r = rng::mix(r ^ static_cast<std::uint64_t>(::getpid()));
#endif
  static constexpr char hex[] = "0123456789abcdef";
  std::string suffix = ".tmp-";
  for (int i = 0; i < 16; ++i) suffix += hex[(r >> (4 * i)) & 0xF];
  std::filesystem::path temp = path;
  temp += suffix;
  return temp;
}

// Test hook: called with the temporary file's path after half of the bytes are written, before the
// flush and rename. A test makes it throw to simulate a crash in the middle of a save.
inline void (*after_partial_write_hook)(const std::filesystem::path& temporary) = nullptr;

inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path temp = temporary_path(path);
  auto problem = [&](std::string_view what) {
    return error(cat(path.string(), ": cannot save: ", what, " (temporary file ", temp.string(), ")"));
  };
  const std::size_t half = bytes.size() / 2;
#if CTNN_HAS_POSIX_IO
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw problem(cat("cannot create the temporary file: ", std::generic_category().message(errno)));
  try {
    auto write_all = [&](std::string_view part) {
      while (!part.empty()) {
        const ::ssize_t w = ::write(fd, part.data(), part.size());
        if (w < 0) {
          if (errno == EINTR) continue;
          throw problem(cat("write failed: ", std::generic_category().message(errno)));
        }
        part.remove_prefix(static_cast<std::size_t>(w));
      }
    };
    write_all(bytes.substr(0, half));
    if (after_partial_write_hook) after_partial_write_hook(temp);
    write_all(bytes.substr(half));
    if (::fsync(fd) != 0) throw problem(cat("fsync failed: ", std::generic_category().message(errno)));
    const int closed = ::close(fd);
    fd = -1;
    if (closed != 0) throw problem(cat("close failed: ", std::generic_category().message(errno)));
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) throw problem(cat("cannot rename the temporary file over the target: ", ec.message()));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
  // Make the rename itself durable (best effort: some file systems refuse to fsync a directory).
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
#else
  std::FILE* f = std::fopen(temp.string().c_str(), "wb");
  if (!f) throw problem("cannot create the temporary file");
  try {
    if (std::fwrite(bytes.data(), 1, half, f) != half) throw problem("write failed");
    if (after_partial_write_hook) after_partial_write_hook(temp);
    const std::size_t rest = bytes.size() - half;
    if (std::fwrite(bytes.data() + half, 1, rest, f) != rest) throw problem("write failed");
    if (std::fflush(f) != 0) throw problem("flush failed");
    const int closed = std::fclose(f);
    f = nullptr;
    if (closed != 0) throw problem("close failed");
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) throw problem(cat("cannot rename the temporary file over the target: ", ec.message()));
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
#endif
}

inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else out += c;
  }
  out += '"';
}

// The message of a ctnn::error without its "ctnn: " prefix.
inline std::string_view message_of(const error& e) {
  std::string_view m = e.what();
  if (m.starts_with("ctnn: ")) m.remove_prefix(6);
  return m;
}

}  // namespace detail

// The validated header of a safetensors file: its tensors (names, dtypes, shapes, offsets) and metadata.
inline Header read_header(const std::filesystem::path& path) {
  const std::string bytes = detail::read_whole_file(path);
  return detail::parse_file(bytes, path);
}

}  // namespace safetensors

// Writes a state_dict as a safetensors file (F32 for float, F64 for double), atomically.
template <class T>
void save_state_dict(const StateDict<T>& state, const std::filesystem::path& path,
                     const safetensors::Metadata& metadata = {}) {
  constexpr std::string_view dtype = safetensors::dtype_of<T>();
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      safetensors::detail::append_json_string(header, key);
      header += ':';
      safetensors::detail::append_json_string(header, value);
    }
    header += "}";
  }
  std::size_t offset = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& t = state[i];
    if (t.name == "__metadata__") safetensors::detail::fail(path, "cannot save: a tensor may not be named '__metadata__'");
    for (std::size_t j = 0; j < i; ++j)
      if (state[j].name == t.name)
        safetensors::detail::fail(path, cat("cannot save: tensor '", t.name, "' appears twice in the state_dict"));
    std::size_t count = 1;
    for (std::size_t d : t.shape) count *= d;
    if (count != t.values.size())
      safetensors::detail::fail(path, cat("cannot save: tensor '", t.name, "' of shape ", shape_string(t.shape),
                                          " holds ", t.values.size(), " values"));
    if (header.size() > 1) header += ',';
    safetensors::detail::append_json_string(header, t.name);
    header += cat(":{\"dtype\":\"", dtype, "\",\"shape\":[");
    for (std::size_t d = 0; d < t.shape.size(); ++d) header += cat(d ? "," : "", t.shape[d]);
    const std::size_t bytes = count * sizeof(T);
    header += cat("],\"data_offsets\":[", offset, ",", offset + bytes, "]}");
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned

  std::string file;
  file.reserve(8 + header.size() + offset);
  safetensors::detail::store_le(static_cast<std::uint64_t>(header.size()), file);
  file += header;
  for (const auto& t : state)
    for (const T v : t.values) safetensors::detail::store_le(std::bit_cast<safetensors::detail::bits_of<T>>(v), file);
  safetensors::detail::write_file_atomically(path, file);
}

// Reads every tensor of a safetensors file into a state_dict of T (float or double), in header order.
// F32 and F64 tensors convert to T; any other dtype is an error naming the tensor.
template <class T = double>
StateDict<T> load_state_dict_file(const std::filesystem::path& path) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ctnn: load_state_dict_file<T> reads into float or double");
  const std::string bytes = safetensors::detail::read_whole_file(path);
  const safetensors::Header header = safetensors::detail::parse_file(bytes, path);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()) + header.data_start;
  StateDict<T> out;
  out.reserve(header.tensors.size());
  for (const auto& info : header.tensors) {
    StateTensor<T> t{info.name, info.shape, {}};
    const unsigned char* p = data + info.begin;
    if (info.dtype == "F32") {
      t.values.resize((info.end - info.begin) / 4);
      for (auto& v : t.values) {
        v = static_cast<T>(std::bit_cast<float>(safetensors::detail::load_le<std::uint32_t>(p)));
        p += 4;
      }
    } else if (info.dtype == "F64") {
      t.values.resize((info.end - info.begin) / 8);
      for (auto& v : t.values) {
        v = static_cast<T>(std::bit_cast<double>(safetensors::detail::load_le<std::uint64_t>(p)));
        p += 8;
      }
    } else {
      safetensors::detail::fail(path, cat("tensor '", info.name, "' has dtype ", info.dtype,
                                          "; ctnn loads only F32 and F64 tensors"));
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Saves model.state_dict() (PyTorch names and layouts) to a safetensors file, atomically.
template <class Model>
  requires requires(Model& m) { m.state_dict(); }
void save(Model& model, const std::filesystem::path& path, const safetensors::Metadata& metadata = {}) {
  save_state_dict(model.state_dict(), path, metadata);
}

// Loads a safetensors checkpoint into model. The whole file is read and checked, and every name and
// shape matched, before any parameter changes: on any error the model is left as it was.
template <class Model>
  requires requires(Model& m, const StateDict<typename Model::scalar>& s) { m.load_state_dict(s); }
void load(Model& model, const std::filesystem::path& path) {
  const auto state = load_state_dict_file<typename Model::scalar>(path);
  try {
    model.load_state_dict(state);
  } catch (const error& e) {
    safetensors::detail::fail(path, safetensors::detail::message_of(e));
  }
}

}  // namespace ctnn

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
// Limits (safetensors::Limits, checked before anything is allocated for them): a header of at most
// 100 000 000 bytes (the limit of the reference implementation) and at most 1 000 000 tensors. The
// JSON has a fixed depth (the top object, a tensor's or __metadata__'s object, a shape array): nothing
// nests deeper, so no input can recurse. Strings must be valid UTF-8 (no overlong forms, no encoded
// surrogates, nothing above U+10FFFF) and \u escapes must pair surrogates. Duplicate names are found
// by sorting (O(N log N)). Only regular files are read (io/regular_file.hpp): a FIFO, a device such
// as /dev/zero or a directory is an error, not a hang or an endless read.
//
// Writes are atomic (io/atomic_file.hpp, shared with the PNG writer): the bytes go to
// "<name>.tmp-<16 hex digits>" beside the target, are fsync'ed and renamed over it; a symbolic link is
// written through (the link stays, its target is replaced), the target's mode is kept, stale
// temporaries of killed saves are removed by the next save, and on any failure (a full disk
// included) the temporary file is removed and an existing <path> is left exactly as it was.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../nn/sequential.hpp"
#include "atomic_file.hpp"
#include "regular_file.hpp"

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
// What a header may hold; read_header and the loaders use the defaults.
struct Limits {
  std::uint64_t max_header_bytes = 100'000'000;
  std::size_t max_tensors = 1'000'000;
};

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
  header_parser(std::string_view text, const std::filesystem::path& path, const Limits& limits = {})
      : s_(text), path_(path), limits_(limits) {}

  Header parse() {
    Header h;
    skip_ws();
    expect('{', "the header must be a JSON object");
    skip_ws();
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
          if (h.tensors.size() == limits_.max_tensors)
            invalid(cat("more than ", limits_.max_tensors, " tensors (safetensors::Limits::max_tensors)"));
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
    // Duplicate names, by sorting: O(N log N) (80 000 names take milliseconds, not the 28 s of pairs).
    std::vector<const TensorInfo*> by_name;
    by_name.reserve(h.tensors.size());
    for (const auto& t : h.tensors) by_name.push_back(&t);
    std::sort(by_name.begin(), by_name.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->name < b->name; });
    for (std::size_t i = 1; i < by_name.size(); ++i)
      if (by_name[i]->name == by_name[i - 1]->name)
        fail(path_, cat("the header is not valid safetensors JSON: tensor ", in_quotes(by_name[i]->name), " appears twice"));
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
  // The rest of a multi-byte UTF-8 sequence whose lead byte (already consumed) is `lead`; anything but
  // well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) is an error.
  void copy_utf8_sequence(unsigned char lead, std::string& out) {
    std::size_t extra = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) extra = 1;
    else if (lead == 0xE0) extra = 2, lo = 0xA0;
    else if (lead == 0xED) extra = 2, hi = 0x9F;
    else if (lead >= 0xE1 && lead <= 0xEF) extra = 2;
    else if (lead == 0xF0) extra = 3, lo = 0x90;
    else if (lead >= 0xF1 && lead <= 0xF3) extra = 3;
    else if (lead == 0xF4) extra = 3, hi = 0x8F;
    else {
      --pos_;
      invalid("a string is not valid UTF-8");
    }
    out += static_cast<char>(lead);
    for (std::size_t i = 0; i < extra; ++i) {
      const auto b = pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : 0;
      if (b < (i == 0 ? lo : 0x80) || b > (i == 0 ? hi : 0xBF)) invalid("a string is not valid UTF-8");
      out += static_cast<char>(b);
      ++pos_;
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
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20) invalid("control character inside a string");
      if (u >= 0x80) {
        copy_utf8_sequence(u, out);
        continue;
      }
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
  Limits limits_;
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
// A regular file only (a FIFO, /dev/zero or a directory is an error, see io/regular_file.hpp).
inline std::string read_whole_file(const std::filesystem::path& path) { return io::read_file(path); }

// Parses and validates the header of a whole file's bytes.
inline Header parse_file(std::string_view bytes, const std::filesystem::path& path, const Limits& limits = {}) {
  if (bytes.size() < 8)
    fail(path, cat("the file is ", bytes.size(),
                   " bytes long, too short for a safetensors file (which starts with an 8-byte header length)"));
  const auto n = load_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > bytes.size() - 8)
    fail(path, cat("the header length ", n, " is beyond the file size (", bytes.size(),
                   " bytes): the file is truncated or not a safetensors file"));
  if (n > limits.max_header_bytes)
    fail(path, cat("the header length ", n, " is more than the limit of ", limits.max_header_bytes,
                   " bytes (safetensors::Limits::max_header_bytes)"));
  const auto header_size = static_cast<std::size_t>(n);
  Header h = header_parser(bytes.substr(8, header_size), path, limits).parse();
  h.data_start = 8 + header_size;
  validate(h, bytes.size() - h.data_start, path);
  return h;
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
inline Header read_header(const std::filesystem::path& path, const Limits& limits = {}) {
  const std::string bytes = detail::read_whole_file(path);
  return detail::parse_file(bytes, path, limits);
}
// The same from a whole file's bytes in memory; `name` names them in errors.
inline Header parse_header(std::string_view bytes, const std::filesystem::path& name, const Limits& limits = {}) {
  return detail::parse_file(bytes, name, limits);
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
  {
    std::vector<const std::string*> names;
    names.reserve(state.size());
    for (const auto& t : state) names.push_back(&t.name);
    std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < names.size(); ++i)
      if (*names[i] == *names[i - 1])
        safetensors::detail::fail(path, cat("cannot save: tensor '", *names[i], "' appears twice in the state_dict"));
  }
  std::size_t offset = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& t = state[i];
    if (t.name == "__metadata__") safetensors::detail::fail(path, "cannot save: a tensor may not be named '__metadata__'");
    std::size_t count = 1;
    for (std::size_t d : t.shape) {
      if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d)
        safetensors::detail::fail(path, cat("cannot save: tensor '", t.name, "' has an impossibly large shape ",
                                            shape_string(t.shape)));
      count *= d;
    }
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
  io::write_file_atomically(path, file);
}

// Reads every tensor of a safetensors file into a state_dict of T (float or double), in header order.
// F32 and F64 tensors convert to T; any other dtype is an error naming the tensor.
// load_state_dict_bytes reads the same from a file's bytes in memory (`name` names them in errors).
template <class T = double>
StateDict<T> load_state_dict_bytes(std::string_view bytes, const std::filesystem::path& name) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "ctnn: load_state_dict_file<T> reads into float or double");
  const std::filesystem::path& path = name;
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
template <class T = double>
StateDict<T> load_state_dict_file(const std::filesystem::path& path) {
  const std::string bytes = safetensors::detail::read_whole_file(path);
  return load_state_dict_bytes<T>(bytes, path);
}

// Saves model.state_dict() (PyTorch names and layouts) to a safetensors file, atomically.
template <class Model>
  requires requires(Model& m) { m.state_dict(); }
void save(Model& model, const std::filesystem::path& path, const safetensors::Metadata& metadata = {}) {
  save_state_dict(model.state_dict(), path, metadata);
}

// load() from a checkpoint's bytes in memory; `name` names them in errors.
template <class Model>
  requires requires(Model& m, const StateDict<typename Model::scalar>& s) { m.load_state_dict(s); }
void load_bytes(Model& model, std::string_view bytes, const std::filesystem::path& name) {
  const auto state = load_state_dict_bytes<typename Model::scalar>(bytes, name);
  try {
    model.load_state_dict(state);
  } catch (const error& e) {
    safetensors::detail::fail(name, safetensors::detail::message_of(e));
  }
}

// Loads a safetensors checkpoint into model. The whole file is read and checked, and every name and
// shape matched, before any parameter changes: on any error the model is left as it was.
template <class Model>
  requires requires(Model& m, const StateDict<typename Model::scalar>& s) { m.load_state_dict(s); }
void load(Model& model, const std::filesystem::path& path) {
  const std::string bytes = safetensors::detail::read_whole_file(path);
  load_bytes(model, bytes, path);
}

}  // namespace ctnn

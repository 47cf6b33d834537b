#pragma once
// The safetensors header's JSON, and nothing more general: a top-level object of tensor entries
// ({"dtype": string, "shape": [integers], "data_offsets": [begin, end]}) and an optional
// "__metadata__" object of strings. Strings take every JSON escape and must be valid UTF-8 (no
// overlong forms, no encoded surrogates, nothing above U+10FFFF; \u escapes must pair surrogates);
// integers are non-negative, without leading zeros, and fit 64 bits. Nothing nests deeper than the
// format does, so no input can recurse. Every error names the file and the byte offset.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format.hpp"

namespace ctnn::safetensors::detail {

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

}  // namespace ctnn::safetensors::detail

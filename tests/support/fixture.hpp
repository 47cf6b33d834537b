#pragma once
// Reads the PyTorch parity fixtures written by tests/fixtures/make_fixtures.py. Standard library only.
//
// A fixture file is plain text:
//   # comment lines
//   <kind> <name> <dtype> <rank> <d0> <d1> ...
//   <values, row-major, separated by white space (any number of lines)>
// kind is `parameter` (a state_dict entry, in state_dict order) or `tensor`; dtype is float32 (values
// printed with 9 significant digits: rounding them to float gives PyTorch's exact float32 values),
// float64 (17 digits, exact) or int64. A scalar is a rank-0 tensor holding one value.
//
//   ctnn_test::Fixture f = ctnn_test::load_fixture("linear");      // CTNN_FIXTURES_DIR "/linear.txt"
//   const auto& x = f.at("input");                                  // shape, values (double)
//   for (const auto& p : f.parameters()) ...                        // the state_dict, in order
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef CTNN_FIXTURES_DIR
#define CTNN_FIXTURES_DIR "tests/fixtures"
#endif

namespace ctnn_test {

struct FixtureTensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<double> values;
  bool is_parameter = false;

  std::size_t size() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

class Fixture {
 public:
  Fixture(std::string path, std::vector<FixtureTensor> tensors) : path_(std::move(path)), tensors_(std::move(tensors)) {}

  const std::string& path() const { return path_; }
  const std::vector<FixtureTensor>& tensors() const { return tensors_; }

  bool contains(const std::string& name) const { return find(name) != nullptr; }

  const FixtureTensor& at(const std::string& name) const {
    if (const auto* t = find(name)) return *t;
    std::string known;
    for (const auto& t : tensors_) known += (known.empty() ? "" : ", ") + t.name;
    throw std::runtime_error("fixture " + path_ + ": no tensor named '" + name + "' (it has: " + known + ")");
  }

  // The value of a rank-0 tensor.
  double scalar(const std::string& name) const {
    const auto& t = at(name);
    if (!t.shape.empty() || t.values.size() != 1)
      throw std::runtime_error("fixture " + path_ + ": tensor '" + name + "' is not a scalar");
    return t.values[0];
  }

  // The state_dict: the `parameter` entries, in file (= PyTorch's state_dict) order.
  std::vector<FixtureTensor> parameters() const {
    std::vector<FixtureTensor> out;
    for (const auto& t : tensors_)
      if (t.is_parameter) out.push_back(t);
    return out;
  }

 private:
  const FixtureTensor* find(const std::string& name) const {
    for (const auto& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }

  std::string path_;
  std::vector<FixtureTensor> tensors_;
};

inline std::string fixture_path(const std::string& case_name) {
  return std::string(CTNN_FIXTURES_DIR) + "/" + case_name + ".txt";
}

// Reads CTNN_FIXTURES_DIR/<case_name>.txt; throws std::runtime_error naming the file on any problem.
inline Fixture load_fixture(const std::string& case_name) {
  const std::string path = fixture_path(case_name);
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("fixture " + path +
                             ": cannot open the file (regenerate the fixtures with tests/fixtures/make_fixtures.py)");
  auto fail = [&](const std::string& what) { return std::runtime_error("fixture " + path + ": " + what); };

  std::vector<FixtureTensor> tensors;
  std::string line;
  std::size_t line_number = 0;
  std::size_t expected = 0;  // values still to read for the last header
  std::string dtype;
  while (std::getline(in, line)) {
    ++line_number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    if (expected == 0) {
      FixtureTensor t;
      std::string kind;
      std::size_t rank = 0;
      if (!(words >> kind >> t.name >> dtype >> rank) || (kind != "tensor" && kind != "parameter"))
        throw fail("line " + std::to_string(line_number) + ": expected '<tensor|parameter> <name> <dtype> <rank> <dims>'");
      if (dtype != "float32" && dtype != "float64" && dtype != "int64")
        throw fail("line " + std::to_string(line_number) + ": unknown dtype '" + dtype + "'");
      t.is_parameter = kind == "parameter";
      t.shape.resize(rank);
      for (auto& d : t.shape)
        if (!(words >> d)) throw fail("line " + std::to_string(line_number) + ": tensor '" + t.name + "' lacks dimensions");
      for (const auto& other : tensors)
        if (other.name == t.name) throw fail("tensor '" + t.name + "' appears twice");
      expected = t.size();
      t.values.reserve(expected);
      tensors.push_back(std::move(t));
      if (expected == 0) continue;
    } else {
      auto& t = tensors.back();
      std::string word;
      while (words >> word) {
        if (expected == 0)
          throw fail("line " + std::to_string(line_number) + ": more values than the shape of '" + t.name + "' holds");
        char* end = nullptr;
        double v;
        if (dtype == "float32") v = static_cast<double>(std::strtof(word.c_str(), &end));
        else v = std::strtod(word.c_str(), &end);
        if (end == word.c_str() || *end != '\0')
          throw fail("line " + std::to_string(line_number) + ": '" + word + "' is not a number (tensor '" + t.name + "')");
        t.values.push_back(v);
        --expected;
      }
    }
  }
  if (expected != 0)
    throw fail("the file ends " + std::to_string(expected) + " values short of tensor '" + tensors.back().name + "'");
  return Fixture(path, std::move(tensors));
}

}  // namespace ctnn_test

// NumPy .npy reader. Format (numpy/lib/format.py): "\x93NUMPY", major, minor, header length
// (uint16 LE for v1, uint32 LE for v2/v3), an ASCII Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw array bytes.
#include <fmt/format.h>

#include <cstring>
#include <fstream>

#include "lib/data/file_io.h"
#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/util/checked_size.h"

namespace mopt {
namespace {

struct NpyHeader {
  torch::ScalarType dtype;
  size_t item_size;
  bool fortran_order;
  std::vector<int64_t> shape;
};

// Value text after `'key':` in the header dict, up to the next top-level comma or brace.
std::string header_value(const std::string& header, const std::string& key,
                         const std::filesystem::path& path) {
  auto pos = header.find("'" + key + "'");
  if (pos == std::string::npos) pos = header.find("\"" + key + "\"");
  if (pos == std::string::npos)
    throw invalid_input(fmt::format("{}: .npy header has no '{}' entry", path.string(), key));
  pos = header.find(':', pos);
  if (pos == std::string::npos)
    throw invalid_input(fmt::format("{}: malformed .npy header", path.string()));
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos < header.size() && header[pos] == '(') {
    auto end = header.find(')', pos);
    if (end == std::string::npos)
      throw invalid_input(fmt::format("{}: malformed .npy shape", path.string()));
    return header.substr(pos, end - pos + 1);
  }
  auto end = header.find_first_of(",}", pos);
  auto value = header.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return value;
}

NpyHeader parse_header(const std::string& header, const std::filesystem::path& path) {
  NpyHeader result{};
  auto descr = header_value(header, "descr", path);
  if (descr.size() < 4 || (descr.front() != '\'' && descr.front() != '"'))
    throw invalid_input(
        fmt::format("{}: unsupported .npy descr {} (structured arrays are not "
                    "tensors)",
                    path.string(), descr));
  descr = descr.substr(1, descr.size() - 2);
  char order = descr[0];
  std::string code = descr.substr(1);
  struct Known {
    const char* code;
    torch::ScalarType dtype;
    size_t size;
  };
  static const Known kKnown[] = {
      {"f4", torch::kFloat, 4}, {"f8", torch::kDouble, 8}, {"f2", torch::kHalf, 2},
      {"i8", torch::kLong, 8},  {"i4", torch::kInt, 4},    {"i2", torch::kShort, 2},
      {"i1", torch::kChar, 1},  {"u1", torch::kByte, 1},   {"b1", torch::kBool, 1},
      {"u2", torch::kUInt16, 2}, {"u4", torch::kUInt32, 4}, {"u8", torch::kUInt64, 8},
  };
  const Known* found = nullptr;
  for (const auto& k : kKnown)
    if (code == k.code) found = &k;
  if (!found)
    throw invalid_input(fmt::format(
        "{}: unsupported .npy dtype '{}'; expected float32/float64/float16, int64/int32/int16/"
        "int8, uint8/16/32/64 or bool",
        path.string(), descr));
  if (order == '>' && found->size > 1)
    throw invalid_input(
        fmt::format("{}: big-endian .npy dtype '{}' is not supported; save it "
                    "with arr.astype(arr.dtype.newbyteorder('<'))",
                    path.string(), descr));
  if (order != '<' && order != '|' && order != '=' && order != '>')
    throw invalid_input(fmt::format("{}: unsupported .npy dtype '{}'", path.string(), descr));
  result.dtype = found->dtype;
  result.item_size = found->size;

  auto fortran = header_value(header, "fortran_order", path);
  if (fortran == "True") {
    result.fortran_order = true;
  } else if (fortran != "False") {
    throw invalid_input(
        fmt::format("{}: malformed .npy fortran_order '{}'", path.string(), fortran));
  }

  auto shape = header_value(header, "shape", path);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    throw invalid_input(fmt::format("{}: malformed .npy shape '{}'", path.string(), shape));
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    auto comma = inner.find(',', pos);
    auto item = inner.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? inner.size() : comma + 1;
    auto first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;  // trailing comma of a 1-tuple
    item = item.substr(first, item.find_last_not_of(' ') - first + 1);
    if (item.back() == 'L') item.pop_back();  // Python 2 longs
    char* end = nullptr;
    long long dim = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || dim < 0)
      throw invalid_input(fmt::format("{}: malformed .npy shape '{}'", path.string(), shape));
    result.shape.push_back(dim);
  }
  return result;
}

}  // namespace

torch::Tensor read_npy(const std::filesystem::path& path) {
  data_detail::require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  char preamble[8];
  if (!in.read(preamble, 8) || std::memcmp(preamble, "\x93NUMPY", 6) != 0)
    throw invalid_input(
        fmt::format("{}: not a .npy file (missing \\x93NUMPY magic)", path.string()));
  auto major = static_cast<unsigned char>(preamble[6]);
  size_t header_len = 0;
  size_t prefix_len = 0;
  if (major == 1) {
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char*>(len), 2))
      throw invalid_input(fmt::format("{}: truncated .npy header", path.string()));
    header_len = len[0] | (len[1] << 8);
    prefix_len = 10;
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char*>(len), 4))
      throw invalid_input(fmt::format("{}: truncated .npy header", path.string()));
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<size_t>(len[3]) << 24);
    prefix_len = 12;
  } else {
    throw invalid_input(fmt::format("{}: unsupported .npy version {}", path.string(), major));
  }
  // A v2/v3 header length is 4 bytes: check it against the file before allocating it.
  if (header_len > std::filesystem::file_size(path) - prefix_len)
    throw invalid_input(fmt::format("{}: truncated .npy header ({} bytes declared)", path.string(), header_len));
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
    throw invalid_input(fmt::format("{}: truncated .npy header", path.string()));
  auto info = parse_header(header, path);
  if (info.fortran_order)
    throw invalid_input(
        fmt::format("{}: Fortran-order .npy arrays are not supported; save "
                    "with np.save(path, np.ascontiguousarray(arr))",
                    path.string()));

  auto declared = checked_byte_count(info.shape, static_cast<int64_t>(info.item_size));
  if (!declared) throw invalid_input(fmt::format("{}: .npy shape too large", path.string()));
  auto expected = static_cast<uint64_t>(*declared);
  uint64_t actual = std::filesystem::file_size(path) - prefix_len - header_len;
  if (actual < expected)
    throw invalid_input(
        fmt::format("{}: truncated .npy file: header says {} bytes of data, "
                    "file has {}",
                    path.string(), expected, actual));
  if (actual > expected)
    throw invalid_input(fmt::format("{}: {} unexpected bytes after the .npy array data",
                                    path.string(), actual - expected));

  auto tensor = torch::empty(info.shape, torch::TensorOptions().dtype(info.dtype));
  if (expected > 0 &&
      !in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(expected)))
    throw invalid_input(fmt::format("{}: read error in .npy data", path.string()));
  return tensor;
}

}  // namespace mopt

// IDX reader (the MNIST/Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// (0, 0, type code, number of dims), one big-endian uint32 per dim, then big-endian data.
// Files are read through zlib's gzread, which passes uncompressed files through unchanged, so
// `.gz` and raw files share one path.
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <memory>

#include "lib/data/file_io.h"
#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/util/checked_size.h"

namespace mopt {
namespace {

struct IdxType {
  unsigned char code;
  torch::ScalarType dtype;
  size_t size;
};
constexpr IdxType kIdxTypes[] = {
    {0x08, torch::kByte, 1}, {0x09, torch::kChar, 1},  {0x0B, torch::kShort, 2},
    {0x0C, torch::kInt, 4},  {0x0D, torch::kFloat, 4}, {0x0E, torch::kDouble, 8},
};
constexpr int kMaxIdxDims = 8;
// Deflate's largest expansion (RFC 1951: 258-byte matches coded in 2 bits each, about 1032:1).
constexpr int64_t kMaxDeflateRatio = 1032;

const IdxType* find_idx_type(unsigned char code) {
  for (const auto& t : kIdxTypes)
    if (t.code == code) return &t;
  return nullptr;
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile open_gz(const std::filesystem::path& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw invalid_input(fmt::format("{}: cannot open for reading", path.string()));
  return file;
}

// Reads up to `size` bytes; returns how many arrived. A corrupt stream is invalid_input, but a
// stream that merely ends early returns short so the caller can say "truncated".
size_t gz_read_all(gzFile_s* file, char* out, size_t size, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < size) {
    auto chunk = static_cast<unsigned>(std::min<size_t>(size - done, INT_MAX / 2));
    int got = gzread(file, out + done, chunk);
    if (got < 0) {
      int errnum = 0;
      const char* message = gzerror(file, &errnum);
      if (errnum == Z_BUF_ERROR) break;  // "unexpected end of file": truncated .gz
      throw invalid_input(fmt::format("{}: corrupt gzip data ({})", path.string(), message));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

}  // namespace

namespace data_detail {

std::string read_decompressed_prefix(const std::filesystem::path& path, size_t max_bytes) {
  require_regular_file(path);
  auto file = open_gz(path);
  std::string bytes(max_bytes, '\0');
  int got = gzread(file.get(), bytes.data(), static_cast<unsigned>(max_bytes));
  bytes.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return bytes;
}

bool is_idx_magic(const std::string& bytes) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) return false;
  auto dims = static_cast<unsigned char>(bytes[3]);
  return find_idx_type(static_cast<unsigned char>(bytes[2])) && dims >= 1 && dims <= kMaxIdxDims;
}

}  // namespace data_detail

torch::Tensor read_idx(const std::filesystem::path& path) {
  data_detail::require_regular_file(path);
  auto file = open_gz(path);
  std::string magic(4, '\0');
  if (gz_read_all(file.get(), magic.data(), 4, path) < 4 || !data_detail::is_idx_magic(magic))
    throw invalid_input(
        fmt::format("{}: not an IDX file (expected magic 00 00 <type> <dims>)", path.string()));
  const IdxType* type = find_idx_type(static_cast<unsigned char>(magic[2]));
  int ndims = static_cast<unsigned char>(magic[3]);

  std::vector<unsigned char> dim_bytes(static_cast<size_t>(ndims) * 4);
  if (gz_read_all(file.get(), reinterpret_cast<char*>(dim_bytes.data()), dim_bytes.size(), path) <
      dim_bytes.size())
    throw invalid_input(fmt::format("{}: truncated IDX header", path.string()));
  std::vector<int64_t> shape;
  for (int i = 0; i < ndims; ++i) {
    const unsigned char* b = &dim_bytes[static_cast<size_t>(i) * 4];
    shape.push_back((int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3]);
  }
  // The header is checked against what the file can hold before anything is allocated: a raw
  // file holds its data byte for byte; deflate expands at most 1032:1, so a .gz of n bytes
  // cannot hold more than 1032 n (a 100-byte file declaring 2^40 elements is refused here).
  auto declared = checked_byte_count(shape, static_cast<int64_t>(type->size));
  const auto file_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  const int64_t header_bytes = 4 + 4 * int64_t{ndims};
  const int64_t can_hold = gzdirect(file.get()) ? file_bytes - header_bytes : file_bytes * kMaxDeflateRatio;
  if (!declared || *declared > can_hold)
    throw invalid_input(fmt::format("{}: IDX header declares shape [{}] ({} bytes of data) but the file can hold at most "
                                    "{} bytes: truncated or corrupt",
                                    path.string(), fmt::join(shape, ", "),
                                    declared ? std::to_string(*declared) : std::string("too many"), can_hold));
  const auto expected = static_cast<size_t>(*declared);

  auto tensor = torch::empty(shape, torch::TensorOptions().dtype(type->dtype));
  size_t got = gz_read_all(file.get(), static_cast<char*>(tensor.data_ptr()), expected, path);
  if (got < expected)
    throw invalid_input(
        fmt::format("{}: truncated IDX file: header says {} bytes of data, "
                    "found {}",
                    path.string(), expected, got));
  char extra;
  if (gz_read_all(file.get(), &extra, 1, path) > 0)
    throw invalid_input(fmt::format("{}: unexpected bytes after the IDX data", path.string()));

  // IDX data is big-endian; this machine (x86/ARM Linux) is little-endian.
  if (type->size > 1) {
    auto* bytes = static_cast<unsigned char*>(tensor.data_ptr());
    for (size_t i = 0; i < expected; i += type->size)
      std::reverse(bytes + i, bytes + i + type->size);
  }
  return tensor;
}

}  // namespace mopt

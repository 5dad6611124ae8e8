// NumPy .npy writer (version 1.0, little-endian, C order), for handing tensors to helper processes.
#include <fmt/format.h>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/util/atomic_file.h"

#include <fstream>

namespace mopt {

void write_npy(const torch::Tensor& tensor, const std::filesystem::path& path) {
  const char* descr = nullptr;
  switch (tensor.scalar_type()) {  // the dtypes read_npy reads
    case torch::kFloat: descr = "<f4"; break;
    case torch::kDouble: descr = "<f8"; break;
    case torch::kHalf: descr = "<f2"; break;
    case torch::kLong: descr = "<i8"; break;
    case torch::kInt: descr = "<i4"; break;
    case torch::kShort: descr = "<i2"; break;
    case torch::kChar: descr = "|i1"; break;
    case torch::kByte: descr = "|u1"; break;
    case torch::kUInt16: descr = "<u2"; break;
    case torch::kUInt32: descr = "<u4"; break;
    case torch::kUInt64: descr = "<u8"; break;
    case torch::kBool: descr = "|b1"; break;
    default: throw runtime_failure(fmt::format("write_npy: {} tensors are not supported", c10::toString(tensor.scalar_type())));
  }
  auto dense = tensor.contiguous();
  std::string shape;
  for (auto d : dense.sizes()) shape += std::to_string(d) + ", ";
  if (dense.dim() > 1) shape.resize(shape.size() - 1);  // "(2, 3)" but "(4,)"
  auto header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  write_atomically(path, [&](const std::filesystem::path& temp) {
    std::ofstream out(temp, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t length = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<const char*>(&length), 2);
    out << header;
    out.write(static_cast<const char*>(dense.data_ptr()), static_cast<std::streamsize>(dense.nbytes()));
    if (!out) throw runtime_failure(fmt::format("cannot write {}", path.string()));
  });
}

}  // namespace mopt

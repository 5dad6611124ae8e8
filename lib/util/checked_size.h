#pragma once
// Sizes declared by untrusted files (tensor dims, IDX and .npy headers, ONNX shapes) multiplied
// without overflow, so a reader can compare them with what the file holds before allocating.
#include <cstdint>
#include <limits>
#include <optional>

namespace mopt {

/// Product of `dims` times `element_size` in bytes; nullopt when a dim is negative or the product
/// does not fit in int64 (a header that declares more than any file could hold).
/// A zero dim does not excuse the others: LibTorch multiplies the non-zero dims too (strides,
/// reshapes of empty tensors) and fails on an overflow there, so their product must fit as well.
template <typename Dims>
std::optional<int64_t> checked_byte_count(const Dims& dims, int64_t element_size = 1) {
  if (element_size < 0) return std::nullopt;
  int64_t nonzero = element_size > 0 ? element_size : 1;
  bool empty = element_size == 0;
  for (auto dim : dims) {
    const auto d = static_cast<int64_t>(dim);
    if (d < 0) return std::nullopt;
    if (d == 0) {
      empty = true;
      continue;
    }
    if (nonzero > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    nonzero *= d;
  }
  return empty ? 0 : nonzero;
}

}  // namespace mopt

#pragma once
// Unsigned little-endian integers in byte buffers (zip records, pickle arguments).
#include <cstdint>

namespace mopt {

/// The `bytes`-byte (1..8) little-endian unsigned integer at `p`.
inline uint64_t read_little_endian(const unsigned char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace mopt

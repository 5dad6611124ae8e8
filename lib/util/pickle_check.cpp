// Opcodes as Python's Lib/pickle.py and pickletools.py define them.
#include "lib/util/pickle_check.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "lib/util/little_endian.h"

namespace mopt {
namespace {

// Bytes of a fixed-size argument; 0 for opcodes without one.
int fixed_argument(unsigned char op) {
  switch (op) {
    case 'K': case 'q': case 'h': case 0x80: case 0x82: return 1;     // BININT1 BINPUT BINGET PROTO EXT1
    case 'M': case 0x83: return 2;                                    // BININT2 EXT2
    case 'J': case 'r': case 'j': case 0x84: return 4;                // BININT LONG_BINPUT LONG_BINGET EXT4
    case 'G': case 0x95: return 8;                                    // BINFLOAT FRAME
    default: return 0;
  }
}

// Bytes of the length prefix of a length-prefixed argument; 0 for other opcodes.
int length_prefix(unsigned char op) {
  switch (op) {
    case 'U': case 'C': case 0x8c: case 0x8a: return 1;               // SHORT_BINSTRING SHORT_BINBYTES SHORT_BINUNICODE LONG1
    case 'T': case 'B': case 'X': case 0x8b: return 4;                // BINSTRING BINBYTES BINUNICODE LONG4
    case 0x8d: case 0x8e: case 0x96: return 8;                        // BINUNICODE8 BINBYTES8 BYTEARRAY8
    default: return 0;
  }
}

// Newline-terminated text arguments: INT LONG FLOAT STRING UNICODE PERSID GET PUT (one), GLOBAL INST (two).
int text_lines(unsigned char op) {
  switch (op) {
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p': return 1;
    case 'c': case 'i': return 2;
    default: return 0;
  }
}

bool no_argument(unsigned char op) {
  static const char kOps[] = "(.012NR]abd}elostu)Q";
  return (op != 0 && std::memchr(kOps, op, sizeof(kOps) - 1) != nullptr) || (op >= 0x85 && op <= 0x89) ||
         op == 0x81 || (op >= 0x8f && op <= 0x94) || op == 0x97 || op == 0x98;
}

}  // namespace

std::string pickle_length_problem(const unsigned char* data, size_t size) {
  size_t at = 0;
  uint64_t memoized = 0;  // picklers number memo entries 0, 1, 2...; LibTorch reserves 2 x the id it reads
  while (at < size) {
    const unsigned char op = data[at];
    const size_t opcode_at = at++;
    const size_t left = size - at;
    if (op == '.') return "";  // STOP
    if (int n = fixed_argument(op)) {
      if (left < static_cast<size_t>(n)) return fmt::format("opcode 0x{:02x} at byte {} is cut off", op, opcode_at);
      if (op == 'q' || op == 'r') {  // BINPUT, LONG_BINPUT
        const uint64_t id = read_little_endian(data + at, n);
        if (id > memoized) return fmt::format("memo id {} at byte {} skips ahead of the {} stored so far", id, opcode_at, memoized);
        memoized += id == memoized ? 1 : 0;
      }
      at += static_cast<size_t>(n);
    } else if (int prefix = length_prefix(op)) {
      if (left < static_cast<size_t>(prefix)) return fmt::format("opcode 0x{:02x} at byte {} is cut off", op, opcode_at);
      const uint64_t length = read_little_endian(data + at, prefix);
      at += static_cast<size_t>(prefix);
      if (length > size - at) {
        return fmt::format("opcode 0x{:02x} at byte {} declares {} bytes, but {} are left", op, opcode_at, length, size - at);
      }
      at += static_cast<size_t>(length);
    } else if (int lines = text_lines(op)) {
      for (int line = 0; line < lines; ++line) {
        const void* newline = std::memchr(data + at, '\n', size - at);
        if (newline == nullptr) return fmt::format("opcode 0x{:02x} at byte {} has no end of line", op, opcode_at);
        at = static_cast<size_t>(static_cast<const unsigned char*>(newline) - data) + 1;
      }
    } else if (op == 0x94) {  // MEMOIZE
      ++memoized;
    } else if (!no_argument(op)) {
      return "";  // not an opcode this walker knows: LibTorch's Unpickler refuses it
    }
  }
  return "";
}

}  // namespace mopt

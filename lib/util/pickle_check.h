#pragma once
// A length check of pickle streams (data.pkl, constants.pkl, code/*.debug_pkl in TorchScript and
// torch.save archives)
// before LibTorch's Unpickler reads them: it reserves whatever length a string or bytes opcode
// declares, and twice any memo id (fuzzing found 4-28 GB reservations from kilobyte files). Walks
// the opcodes of pickle protocols 0-5, checks every declared length against the bytes left and
// every BINPUT id against the entries memoized so far (picklers number them 0, 1, 2...).
#include <cstddef>
#include <string>

namespace mopt {

/// "" when every length-prefixed argument fits in the stream and memo ids run in order; else what
/// does not, where. Stops
/// at STOP or at an opcode it does not know (LibTorch then refuses the stream itself).
std::string pickle_length_problem(const unsigned char* data, size_t size);

}  // namespace mopt

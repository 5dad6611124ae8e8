#pragma once

namespace mopt {

// In an AddressSanitizer build (scripts/sanitize.sh), makes LibTorch's CPU tensors reuse freed
// buffers of the same size instead of taking fresh pages from ASan's allocator on every call; a
// no-op in any other build. Call first thing in main(). True when installed (an ASan build).
//
// Why: ASan maps every allocation over 128 KiB fresh and unmaps it on free, so each activation
// tensor of each forward pass page-faults all its pages again. A minor fault costs 11-14 us on the VMs
// CI runs on (scripts/bench/page_fault_cost.c), which made the sanitized suite several times
// slower than the plain build while checking nothing more. A cached buffer stays poisoned until
// it is handed out again, so mopt code that reads a freed tensor's data is still reported.
bool install_asan_tensor_cache();

}  // namespace mopt

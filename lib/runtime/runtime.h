#pragma once
// Execution settings. LibTorch's defaults here are 1 thread and an engine picked at start-up, so
// every subcommand sets both explicitly, and the engine before any quantized model is loaded
// (packed weights are re-packed at load time for the active engine).
#include <string>
#include <vector>

namespace mopt {

/// Threads (0 = one per logical core) and quantized engine ("" = the host's best).
struct RuntimeSettings {
  int threads = 0;
  std::string engine;
};

/// Applies threads and engine; an unknown or unavailable engine is a usage error. An engine named
/// here (--engine, a profile's) is pinned: an artifact's recorded engine no longer replaces it.
void apply_runtime_settings(const RuntimeSettings& settings);

/// Whether the engine in effect was named (--engine, a profile) rather than defaulted.
bool engine_pinned();

/// Makes `engine` active without pinning it: the engine an INT8 artifact records (mopt.json
/// quantized_engine, applied when it loads) or quantize's measured choice. False when unavailable.
bool use_engine(const std::string& engine);

/// Quantized engines this LibTorch build offers on this CPU, lower-case ("x86", "fbgemm", "onednn", "qnnpack").
std::vector<std::string> available_engines();
/// The engine in effect now.
std::string active_engine();
/// The engine mopt picks by default: x86 (else fbgemm, else onednn) on x86-64, qnnpack on ARM.
std::string default_engine();
/// Sets the intra-op threads of LibTorch and, when LibTorch multiplies fp32 matrices in OpenBLAS,
/// of OpenBLAS's own thread pool (which ignores at::set_num_threads).
void set_threads(int threads);
/// Intra-op threads in effect now.
int active_threads();

}  // namespace mopt

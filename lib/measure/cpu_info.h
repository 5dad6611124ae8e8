#pragma once
#include <string>
#include <vector>

namespace mopt {

/// What the host CPU is and which ISA features matter for inference speed.
struct CpuInfo {
  std::string model;                  ///< "AMD EPYC ..." from /proc/cpuinfo
  std::string architecture;           ///< x86_64, aarch64, ...
  int logical_cores = 0;
  std::vector<std::string> features;  ///< subset of: avx2 fma avx512f avx512_vnni avx_vnni avx512_bf16 amx_tile amx_int8 amx_bf16 neon
};

/// Reads the host's CPU description once (cached).
const CpuInfo& cpu_info();

/// Whether 8-bit integer kernels can saturate on this host: an x86 CPU without VNNI (AVX512-VNNI or
/// AVX-VNNI), where ONNX Runtime, FBGEMM and oneDNN multiply uint8 by int8 with VPMADDUBSW, whose int16
/// sums of two products overflow past 127 x 255 x 2. Quantizers then give up one bit (reduce_range).
bool int8_kernels_saturate();

/// 1-minute load average (-1 if unknown); includes this process's own threads.
double load_average_1m();

/// CPU used by *other* processes since construction, in cores (machine busy time minus this
/// process's and its waited-for children's CPU time, over wall time). A busy machine distorts
/// every timing, badly so when intra-op threads outnumber idle cores (spin-waiting thread pools).
class ForeignLoadMeter {
 public:
  ForeignLoadMeter();
  /// Average number of cores other processes kept busy; -1 if /proc/stat is unreadable.
  double foreign_cores() const;

 private:
  double machine_busy_s_ = 0;
  double own_cpu_s_ = 0;
  double wall_s_ = 0;
};

}  // namespace mopt

#pragma once
// CUDA through the LibTorch mopt links (the CUDA build of the PyTorch wheel). Its CUDA half,
// libtorch_cuda.so and the CUDA libraries it needs, is loaded only when a command asks for a GPU or
// `mopt --version` asks what there is: mapping it costs every process ~0.25 s and ~400 MB
// (docs/design.md), and most runs are on the CPU. Loaded, it registers LibTorch's CUDA kernels,
// allocator, streams and events, which mopt then uses through LibTorch's device-generic API.
#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace mopt {

/// One GPU as the CUDA runtime numbers it.
struct CudaDevice {
  int index = 0;
  std::string name;
  std::string compute_capability;  ///< "9.0"
  double memory_gib = 0;
};

/// What this build and this machine offer.
struct CudaStatus {
  bool built = false;            ///< LibTorch's CUDA half loaded (a CUDA build of LibTorch)
  std::string runtime_version;   ///< LibTorch's CUDA runtime, "13.0"
  std::string cudnn_version;     ///< "9.24.0", the cuDNN LibTorch was built with
  bool graphs = false;           ///< CUDA graphs reachable through at::accelerator::Graph (libmopt_cuda_graphs.so)
  std::string driver_version;    ///< NVIDIA driver, "580.65.06"; empty without one
  std::string driver_cuda;       ///< newest CUDA the driver runs, "13.0"; empty without a driver
  std::vector<CudaDevice> devices;
  std::string unavailable;       ///< why no GPU can be used; empty when `devices` is not
  bool available() const { return built && !devices.empty(); }
};

/// Loads LibTorch's CUDA half (once, thread-safe) and says what it found. Never throws: a CPU-only
/// LibTorch or a machine without a driver is a status, not an error.
const CudaStatus& cuda_status();

/// One line for `mopt --version`: "CUDA 13.0, cuDNN 9.24.0, CUDA graphs; GPU 0: NVIDIA H200 (compute 9.0, 139.8 GiB);
/// driver 580.65.06 (CUDA 13.0)" or "CUDA 13.0, cuDNN 9.24.0, CUDA graphs built in; no GPU usable: <why>".
std::string describe_cuda(const CudaStatus& status);

/// --device: "cpu", "cuda" or "cuda:N". A malformed name, or cuda where no GPU is usable (no driver, no
/// such index, a CPU-only LibTorch), is a usage error (exit 2) that says why.
c10::Device resolve_device(const std::string& name);

}  // namespace mopt

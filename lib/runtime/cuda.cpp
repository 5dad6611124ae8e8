#include "lib/runtime/cuda.h"

#include <ATen/Parallel.h>
#include <ATen/core/GraphImplInterface.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <mutex>
#include <regex>

#include "lib/errors.h"

namespace mopt {
namespace {

// CUDA encodes versions as major * 1000 + minor * 10.
std::string cuda_version_text(long version) { return fmt::format("{}.{}", version / 1000, (version % 1000) / 10); }

// cuDNN 9 encodes major * 10000 + minor * 100 + patch.
std::string cudnn_version_text(long version) {
  return fmt::format("{}.{}.{}", version / 10000, (version % 10000) / 100, version % 100);
}

// A symbol of `library` (a handle, or null when the library is absent), or null.
template <typename Fn>
Fn symbol(void* library, const char* name) {
  return library ? reinterpret_cast<Fn>(dlsym(library, name)) : nullptr;
}

// A symbol of the CUDA runtime, which LibTorch already brought into the process.
template <typename Fn>
Fn cudart_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// The CUDA graph bridge (lib/runtime/cuda_plugin/) lies beside the mopt binary.
bool load_graph_bridge() {
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return false;
  const auto bridge = exe.parent_path() / "libmopt_cuda_graphs.so";
  return dlopen(bridge.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr && at::has_graph_impl(c10::DeviceType::CUDA);
}

// libtorch_cuda.so lies beside libtorch_cpu.so, which this process already maps.
std::filesystem::path torch_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &info) == 0 || !info.dli_fname) return {};
  return std::filesystem::path(info.dli_fname).parent_path();
}

// The CUDA runtime's own words for why no device is usable ("no CUDA-capable device is detected", ...).
std::string runtime_error_text(int code) {
  auto error_string = cudart_symbol<const char* (*)(int)>("cudaGetErrorString");
  return error_string ? error_string(code) : fmt::format("CUDA error {}", code);
}

// Name, compute capability and memory of each device, from the runtime and the driver API.
void describe_devices(CudaStatus& status, int count, void* driver) {
  auto attribute = cudart_symbol<int (*)(int*, int, int)>("cudaDeviceGetAttribute");
  auto init = symbol<int (*)(unsigned)>(driver, "cuInit");
  auto device_get = symbol<int (*)(int*, int)>(driver, "cuDeviceGet");
  auto device_name = symbol<int (*)(char*, int, int)>(driver, "cuDeviceGetName");
  auto total_memory = symbol<int (*)(size_t*, int)>(driver, "cuDeviceTotalMem_v2");
  for (int i = 0; i < count; ++i) {
    CudaDevice device;
    device.index = i;
    int major = 0;
    int minor = 0;
    if (attribute && attribute(&major, 75, i) == 0 && attribute(&minor, 76, i) == 0) {  // cudaDevAttrComputeCapabilityMajor/Minor
      device.compute_capability = fmt::format("{}.{}", major, minor);
    }
    int handle = 0;
    char name[256] = {};
    size_t bytes = 0;
    if (init && init(0) == 0 && device_get && device_get(&handle, i) == 0) {
      if (device_name && device_name(name, sizeof(name), handle) == 0) device.name = name;
      if (total_memory && total_memory(&bytes, handle) == 0) device.memory_gib = static_cast<double>(bytes) / (1 << 30);
    }
    if (device.name.empty()) device.name = "unnamed GPU";
    status.devices.push_back(device);
  }
}

// The driver's version from NVML (the runtime only knows the CUDA version the driver supports).
std::string nvidia_driver_version() {
  void* nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW);
  if (!nvml) return "";
  std::string version;
  auto init = symbol<int (*)()>(nvml, "nvmlInit_v2");
  auto get = symbol<int (*)(char*, unsigned)>(nvml, "nvmlSystemGetDriverVersion");
  auto shutdown = symbol<int (*)()>(nvml, "nvmlShutdown");
  if (init && get && init() == 0) {
    char text[96] = {};
    if (get(text, sizeof(text)) == 0) version = text;
    if (shutdown) shutdown();
  }
  dlclose(nvml);
  return version;
}

CudaStatus probe() {
  CudaStatus status;
  const auto dir = torch_library_dir();
  if (!std::filesystem::exists(dir / "libtorch_cuda.so")) {
    status.unavailable = "this mopt was built against a CPU-only LibTorch (scripts/requirements.txt pins the CUDA build)";
    return status;
  }
  if (!dlopen((dir / "libtorch_cuda.so").c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    status.unavailable = fmt::format("LibTorch's CUDA libraries did not load: {}", dlerror());
    return status;
  }
  const auto& hooks = at::detail::getCUDAHooks();
  try {
    status.runtime_version = cuda_version_text(hooks.versionCUDART());
    // The version LibTorch was built with: asking the loaded cuDNN (versionRuntimeCuDNN) aborted the process
    // under AddressSanitizer ("Cannot load symbol cudnnGetVersion"), and the wheel pins the two together.
    if (hooks.compiledWithCuDNN()) status.cudnn_version = cudnn_version_text(hooks.versionCuDNN());
  } catch (const c10::Error&) {
    // LibTorch answered with its CPU-only hooks: something asked about CUDA before the library was loaded.
    status.unavailable = "LibTorch's CUDA libraries were loaded after LibTorch had settled on the CPU";
    return status;
  }
  status.built = true;
  status.graphs = load_graph_bridge();
  if (auto driver_version = cudart_symbol<int (*)(int*)>("cudaDriverGetVersion")) {
    int version = 0;
    if (driver_version(&version) == 0 && version > 0) status.driver_cuda = cuda_version_text(version);
  }
  // Without the driver library the runtime only says its version is "insufficient".
  void* driver = dlopen("libcuda.so.1", RTLD_NOW);
  if (!driver) {
    status.unavailable = "no NVIDIA driver on this machine (libcuda.so.1 is not installed)";
    return status;
  }
  status.driver_version = nvidia_driver_version();
  int count = 0;
  auto device_count = cudart_symbol<int (*)(int*)>("cudaGetDeviceCount");
  const int code = device_count ? device_count(&count) : -1;
  if (code != 0 || count == 0) {
    status.unavailable = code == 0 ? "no CUDA device is visible (CUDA_VISIBLE_DEVICES?)" : runtime_error_text(code);
    return status;
  }
  describe_devices(status, count, driver);
  return status;
}

}  // namespace

const CudaStatus& cuda_status() {
  static std::once_flag once;
  static CudaStatus status;
  std::call_once(once, [] { status = probe(); });
  return status;
}

std::string describe_cuda(const CudaStatus& status) {
  if (!status.built) return fmt::format("CUDA: none ({})", status.unavailable);
  std::string built = fmt::format("CUDA {}{}{}", status.runtime_version,
                                  status.cudnn_version.empty() ? "" : fmt::format(", cuDNN {}", status.cudnn_version),
                                  status.graphs ? ", CUDA graphs" : "");
  if (!status.available()) return fmt::format("{} built in; no GPU usable: {}", built, status.unavailable);
  std::vector<std::string> devices;
  for (const auto& d : status.devices) {
    devices.push_back(fmt::format("GPU {}: {} (compute {}, {:.1f} GiB)", d.index, d.name, d.compute_capability, d.memory_gib));
  }
  return fmt::format("{}; {}; driver {} (CUDA {})", built, fmt::join(devices, "; "),
                     status.driver_version.empty() ? "unknown" : status.driver_version, status.driver_cuda);
}

c10::Device resolve_device(const std::string& name) {
  static const std::regex pattern(R"((cpu|cuda)(:([0-9]{1,3}))?)");
  std::smatch match;
  if (!std::regex_match(name, match, pattern) || (match[1] == "cpu" && match[2].matched)) {
    throw usage_error(fmt::format("--device '{}': expected cpu, cuda or cuda:N", name));
  }
  if (match[1] == "cpu") return c10::Device(c10::kCPU);
  const auto& status = cuda_status();
  if (!status.available()) throw usage_error(fmt::format("--device {}: {}", name, describe_cuda(status)));
  const int index = match[3].matched ? std::stoi(match[3].str()) : 0;
  if (index >= static_cast<int>(status.devices.size())) {
    throw usage_error(fmt::format("--device {}: there are {} GPU(s), numbered from 0", name, status.devices.size()));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace mopt

#include "lib/runtime/cpu_info.h"

#include <sys/utsname.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace mopt {
namespace {

// Only features that change which kernels run (int8 dot products, bf16, tiles, wide vectors).
const char* const kInterestingFeatures[] = {"avx2",       "fma",         "avx512f",  "avx512_vnni",
                                            "avx_vnni",   "avx512_bf16", "amx_tile", "amx_int8",
                                            "amx_bf16",   "neon",        "asimddp",  "sve"};

CpuInfo read_cpu_info() {
  CpuInfo info;
  utsname name{};
  if (uname(&name) == 0) info.architecture = name.machine;
  info.logical_cores = static_cast<int>(std::thread::hardware_concurrency());

  std::set<std::string> flags;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if ((key == "model name" || key == "Model") && info.model.empty()) info.model = value;
    if ((key == "flags" || key == "Features") && flags.empty()) {
      std::istringstream words(value);
      std::string word;
      while (words >> word) flags.insert(word == "asimd" ? "neon" : word);
    }
  }
  for (const char* feature : kInterestingFeatures) {
    if (flags.count(feature)) info.features.push_back(feature);
  }
  if (info.model.empty()) info.model = "unknown";
  return info;
}

}  // namespace

double load_average_1m() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = read_cpu_info();
  return info;
}

}  // namespace mopt

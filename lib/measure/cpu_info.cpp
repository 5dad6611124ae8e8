#include "lib/measure/cpu_info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

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

namespace {

// Seconds all CPUs spent busy (user+nice+system+irq+softirq+steal), from /proc/stat.
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return -1;
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// This process's CPU time and that of its children it has waited for: the commands time saved files
// in child `mopt bench` processes (and ONNX Runtime in a node helper), whose CPU is not foreign load.
double own_cpu_seconds() {
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    getrusage(who, &usage);
    total += seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }
  return total;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ForeignLoadMeter::ForeignLoadMeter()
    : machine_busy_s_(machine_busy_seconds()), own_cpu_s_(own_cpu_seconds()), wall_s_(wall_seconds()) {}

double ForeignLoadMeter::foreign_cores() const {
  double busy = machine_busy_seconds();
  double wall = wall_seconds() - wall_s_;
  if (busy < 0 || machine_busy_s_ < 0 || wall <= 0) return -1;
  double foreign = (busy - machine_busy_s_) - (own_cpu_seconds() - own_cpu_s_);
  return std::max(0.0, foreign / wall);
}

double load_average_1m() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = read_cpu_info();
  return info;
}

bool int8_kernels_saturate() {
  const auto& info = cpu_info();
  auto has = [&](const char* feature) {
    return std::find(info.features.begin(), info.features.end(), feature) != info.features.end();
  };
  return info.architecture == "x86_64" && !has("avx512_vnni") && !has("avx_vnni");
}

}  // namespace mopt

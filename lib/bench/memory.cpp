#include "lib/bench/memory.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace mopt {
namespace {

// Reads one "Key:   1234 kB" line of /proc/self/status; 0 when missing (non-Linux, hidepid).
double status_field_mb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = key + ":";
  while (std::getline(status, line)) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    std::istringstream fields(line.substr(prefix.size()));
    double kib = 0;
    fields >> kib;
    return fields ? kib / 1024.0 : 0.0;
  }
  return 0.0;
}

}  // namespace

// statm rather than status: one short line, cheap enough for the 20 ms RSS sampler of bench rows.
double current_rss_mb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long size = 0, resident = 0;
  const int read = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (read != 2) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() { return status_field_mb("VmHWM"); }

bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

}  // namespace mopt

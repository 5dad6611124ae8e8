#include "lib/bench/memory.h"

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

double current_rss_mb() { return status_field_mb("VmRSS"); }

double peak_rss_mb() { return status_field_mb("VmHWM"); }

bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

}  // namespace mopt

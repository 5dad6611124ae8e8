#include "lib/measure/memory.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace mopt {
namespace {

// Reads one "Key:   1234 kB" line of a /proc file; 0 when missing (non-Linux, hidepid).
double proc_field_mb(const char* file, const std::string& key) {
  std::ifstream status(file);
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

double peak_rss_mb() { return proc_field_mb("/proc/self/status", "VmHWM"); }

double available_memory_mb() { return proc_field_mb("/proc/meminfo", "MemAvailable"); }

bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

int64_t minor_page_faults() {
  rusage usage{};
  return getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<int64_t>(usage.ru_minflt) : 0;
}

double faulted_mb(double page_faults) { return page_faults * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20); }

bool malloc_tuned() { return !malloc_settings_json()["mmap_threshold_bytes"].is_null(); }

bool maps_memory_afresh(double page_faults_per_call) {
  return faulted_mb(page_faults_per_call) >= kFreshMemoryHintMb && !malloc_tuned();
}

namespace {
constexpr int kMmapThreshold = 32 << 20;
constexpr int kTrimThreshold = 256 << 20;
}  // namespace

bool glibc_allocator_in_use() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

void keep_freed_memory_in_process() {
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

void use_tuned_malloc() {
  keep_freed_memory_in_process();
  setenv("MALLOC_MMAP_THRESHOLD_", std::to_string(kMmapThreshold).c_str(), 1);
  setenv("MALLOC_TRIM_THRESHOLD_", std::to_string(kTrimThreshold).c_str(), 1);
}

nlohmann::json malloc_settings_json() {
  auto read = [](const char* name) -> nlohmann::json {
    const char* value = std::getenv(name);
    if (!value || !*value) return nullptr;
    char* end = nullptr;
    const long long bytes = std::strtoll(value, &end, 10);
    return end && *end == '\0' ? nlohmann::json(bytes) : nlohmann::json(value);
  };
  return {{"mmap_threshold_bytes", read("MALLOC_MMAP_THRESHOLD_")}, {"trim_threshold_bytes", read("MALLOC_TRIM_THRESHOLD_")}};
}

}  // namespace mopt

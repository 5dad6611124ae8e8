#pragma once
// Process memory figures for `mopt bench`, read from Linux's /proc (0 / false elsewhere), and the
// C allocator's settings, which decide whether a model's per-call buffers cost page faults.
#include <nlohmann/json.hpp>

#include <cstdint>

namespace mopt {

/// Resident set size now, in MiB (resident pages of /proc/self/statm); 0 when unavailable.
double current_rss_mb();

/// Peak resident set size since start or the last reset, in MiB (VmHWM); 0 when unavailable.
double peak_rss_mb();

/// Memory the kernel could give processes now without swapping, in MiB (MemAvailable); 0 when unavailable.
double available_memory_mb();

/// Resets the peak to the current RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0), so a
/// peak can be attributed to one phase; false when the kernel or sandbox does not permit it.
bool reset_peak_rss();

/// Minor page faults of this process so far (getrusage): memory mapped and touched afresh.
int64_t minor_page_faults();

/// Memory that `page_faults` page faults map, in MiB (this system's page size).
double faulted_mb(double page_faults);

/// Above this much memory mapped afresh per call, mopt points at the allocator (--malloc-tuned).
inline constexpr double kFreshMemoryHintMb = 1.0;

/// True when the MALLOC_*_ thresholds are set (by --malloc-tuned or by the environment).
bool malloc_tuned();

/// Calls with this many page faults each map over kFreshMemoryHintMb afresh while the thresholds
/// are not set: the C allocator may cost more than the model (docs/measurement.md, "Where the time goes").
bool maps_memory_afresh(double page_faults_per_call);

/// glibc's thresholds as a process can set them: mmap threshold 32 MiB (its maximum) and trim
/// threshold 256 MiB keep freed buffers in the process, so the next call reuses them instead of
/// mapping (and page-faulting) them again.
inline constexpr const char* kTunedMallocEnv = "MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456";

/// False in sanitizer builds, whose allocator replaces glibc's: its thresholds then change nothing.
bool glibc_allocator_in_use();

/// Applies those thresholds to this process (mallopt) and to the environment its children inherit
/// (ONNX Runtime's helper, fresh-process measurements). Call before the model is loaded.
void use_tuned_malloc();

/// Applies them to this process only: for mopt's own long jobs (training), whose children measure
/// artifacts as a deploying process would run them and so must keep glibc's defaults.
void keep_freed_memory_in_process();

/// The allocator settings this process runs with: {"mmap_threshold_bytes", "trim_threshold_bytes"}
/// (null: glibc's dynamic default) from the MALLOC_*_ variables glibc itself reads.
nlohmann::json malloc_settings_json();

}  // namespace mopt

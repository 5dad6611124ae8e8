#pragma once
// Process memory figures for `mopt bench`, read from Linux's /proc (0 / false elsewhere).

namespace mopt {

/// Resident set size now, in MiB (resident pages of /proc/self/statm); 0 when unavailable.
double current_rss_mb();

/// Peak resident set size since start or the last reset, in MiB (VmHWM); 0 when unavailable.
double peak_rss_mb();

/// Resets the peak to the current RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0), so a
/// peak can be attributed to one phase; false when the kernel or sandbox does not permit it.
bool reset_peak_rss();

}  // namespace mopt

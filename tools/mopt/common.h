#pragma once
// Flags every subcommand shares, and the run wrapper that writes the report even on failure.
#include <CLI/CLI.hpp>
#include <c10/core/Device.h>

#include <functional>
#include <string>
#include <vector>

#include "lib/profiles/profile.h"
#include "lib/report/report.h"

namespace mopt::cli {

/// --report, --quiet, --verbose, --threads.
struct CommonArgs {
  std::string report_path;
  bool quiet = false;
  bool verbose = false;
  std::vector<int> threads;  ///< one count, or a list for commands that sweep (bench)
  std::string engine;
};

/// Adds the shared flags to a subcommand; `thread_sweep` lets --threads take a list (1,2,4).
void add_common_flags(CLI::App& command, CommonArgs& args, bool thread_sweep = false);

/// --no-latency: clears `time_latency` (for ComparisonSettings::time_latency).
void add_no_latency_flag(CLI::App& command, bool& time_latency);

/// The process's argv, recorded in reports.
std::vector<std::string>& process_argv();

/// Applies verbosity and runtime settings, runs `body` with a fresh report, and writes the report
/// (with the error recorded if `body` throws, then rethrows).
void run_reported(const std::string& command, const CommonArgs& args, const std::function<void(Report&)>& body);

/// Says so on stdout when other processes kept the machine busy during this run, which makes
/// timings untrustworthy (the report records the figure as environment.foreign_load_cores).
void warn_if_busy(const Report& report);

/// One line saying how a compare_models() result's latencies were taken (fresh processes, threads).
std::string latency_method_note(const nlohmann::json& comparison);

/// When compare_files() timed the files again with tuned allocator thresholds, a line with those
/// figures (nothing otherwise).
void say_allocator_check(const nlohmann::json& comparison);

/// "LABEL  before  after  (speedup)" with the method note and allocator figures, or "LABEL  not
/// measured (--no-latency)", for a compare_models() result.
void say_latency(const nlohmann::json& comparison, const std::string& label);

/// The latency-p50 row (with the speedup) and, when measured, the top-1 accuracy row of a
/// compare_models() result, in the 28/14/14-column layout of the before/after tables.
void say_latency_and_accuracy(const nlohmann::json& comparison);

/// Exit-code table shown in `--help` footers.
const char* exit_codes_help();

/// --device DEVICE, or where `profile` runs when the flag is empty ("cpu" without a profile); a GPU
/// profile on a machine with no usable GPU is a usage error that names the profile and says why.
/// First in a command: LibTorch's CUDA half must load before anything asks LibTorch about CUDA.
c10::Device device_for(const std::string& device_flag, const Profile* profile);

}  // namespace mopt::cli

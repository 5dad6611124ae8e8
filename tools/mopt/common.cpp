#include "tools/mopt/common.h"

#include <algorithm>

#include "lib/errors.h"
#include "lib/eval/model_comparison.h"
#include "lib/measure/cpu_info.h"
#include "lib/measure/memory.h"
#include "lib/runtime/cuda.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"

namespace mopt::cli {

void add_no_latency_flag(CLI::App& command, bool& time_latency) {
  command.add_flag_callback("--no-latency", [&time_latency] { time_latency = false; },
                   "do not time the files (accuracy and output agreement are still checked); the report has no latency "
                   "figures. Timing is most of a conversion's run time");
}

void add_common_flags(CLI::App& command, CommonArgs& args, bool thread_sweep) {
  command.add_option("--report", args.report_path, "write the JSON report to FILE")->type_name("FILE");
  command.add_flag("-q,--quiet", args.quiet, "print nothing (the report is still written)");
  command.add_flag("-v,--verbose", args.verbose, "print details on stderr");
  auto* threads = command.add_option("--threads", args.threads, thread_sweep ? "intra-op threads, or a list to sweep: 1,2 (0 = one per core)"
                                                                            : "intra-op threads (0 = one per core)");
  threads->type_name(thread_sweep ? "N[,N...]" : "N")->check(CLI::NonNegativeNumber);
  if (thread_sweep) threads->delimiter(',');
  else threads->expected(1);
  command.add_option("--engine", args.engine, "quantized engine: x86, fbgemm, onednn or qnnpack (default: x86 on x86-64, qnnpack on ARM)")->type_name("NAME");
}

std::vector<std::string>& process_argv() {
  static std::vector<std::string> argv;
  return argv;
}

void run_reported(const std::string& command, const CommonArgs& args, const std::function<void(Report&)>& body) {
  set_verbosity(args.quiet ? Verbosity::kQuiet : (args.verbose ? Verbosity::kVerbose : Verbosity::kNormal));
  Report report(command, process_argv());
  try {
    apply_runtime_settings({args.threads.empty() ? 0 : args.threads.front(), args.engine});
    body(report);
  } catch (const Error& e) {
    if (!args.report_path.empty()) {
      // A failed gate is a verdict, not an error: the gates in the report already say "fail".
      if (e.code() != ExitCode::kGateFailed) report.set_error(static_cast<int>(e.code()), e.what());
      report.write(args.report_path);
    }
    throw;
  } catch (const c10::Error& e) {
    if (!args.report_path.empty()) {
      report.set_error(static_cast<int>(ExitCode::kRuntimeFailure), short_torch_message(e.what()));
      report.write(args.report_path);
    }
    throw;
  }
  if (!args.report_path.empty()) {
    report.write(args.report_path);
    log_verbose("report written to {}", args.report_path);
  }
}

void warn_if_busy(const Report& report) {
  const auto& metrics = report.metrics();
  if (metrics.contains("latency_measurement") && !latency_measured(metrics)) return;  // --no-latency: nothing timed
  double foreign = report.foreign_load_cores();
  if (foreign > 0.25) {
    say("WARNING: other processes kept {:.1f} of {} cores busy during this run: timings are unreliable", foreign,
        cpu_info().logical_cores);
  }
}

namespace {

// "; the processes disagreed by over 10% (after 38.3-45.8 ms): ..." when a file's own fresh
// processes did, else "": no single `mopt bench` run of it can be expected closer than that range.
std::string process_disagreement(const nlohmann::json& comparison) {
  std::vector<std::string> unsteady;
  for (const char* side : {"before", "after"}) {
    const auto& figures = comparison[side];
    if (figures.value("process_spread", 1.0) <= kSteadyProcessSpread) continue;
    const auto p50s = figures["process_p50_ms"].get<std::vector<double>>();
    const auto [fastest, slowest] = std::minmax_element(p50s.begin(), p50s.end());
    unsteady.push_back(fmt::format("{} {:.3f}-{:.3f} ms", side, *fastest, *slowest));
  }
  if (unsteady.empty()) return "";
  return fmt::format("; the processes disagreed by over 10% ({}): one `mopt bench` run may read anywhere in that range",
                     fmt::join(unsteady, ", "));
}

}  // namespace

std::string latency_method_note(const nlohmann::json& comparison) {
  const auto& m = comparison["latency_measurement"];
  const int rounds = m["rounds"].get<int>();
  const auto& runtime = comparison["runtime"];
  const auto before = runtime["before"].get<std::string>(), after = runtime["after"].get<std::string>();
  // A file whose buffers the C allocator maps afresh every call can be several times faster in a
  // process that keeps them (docs/measurement.md, "Where the time goes"): say which file.
  std::vector<std::string> mapped;
  for (const char* side : {"before", "after"}) {
    const double faults = comparison[side].value("page_faults_per_call", 0.0);
    if (maps_memory_afresh(faults)) mapped.push_back(fmt::format("{:.1f} MB {}", faulted_mb(faults), side));
  }
  const std::string allocator =
      mapped.empty() ? "" : fmt::format("; memory mapped afresh per call: {}, see `mopt bench --malloc-tuned`", fmt::join(mapped, ", "));
  const int extra = m.value("extra_rounds", 0);
  const std::string more = extra > 0 ? fmt::format(" ({} of them because the first {} disagreed by over 10%)", extra, rounds - extra) : "";
  return fmt::format("(latency: each saved file timed by `mopt bench` in {} fresh process{}{}, {} thread(s), {} engine{}{}{})", rounds,
                     rounds == 1 ? "" : "es", more, m["threads"].get<int>(), m["engine"].get<std::string>(),
                     before == after ? "" : fmt::format("; before in {}, after in {}", before, after), allocator,
                     process_disagreement(comparison));
}

void say_allocator_check(const nlohmann::json& comparison) {
  const auto* tuned = tuned_allocator_figures(comparison);
  if (!tuned) return;
  const auto& check = *tuned;
  say("  with {} in the deploying process: {:.3f} -> {:.3f} ms ({:.2f}x), {:.0f} -> {:.0f} page faults per call",
      check["settings"].get<std::string>(), check["before"]["latency"]["p50_ms"].get<double>(),
      check["after"]["latency"]["p50_ms"].get<double>(), check["speedup_p50"].get<double>(),
      check["before"]["page_faults_per_call"].get<double>(), check["after"]["page_faults_per_call"].get<double>());
}

void say_latency(const nlohmann::json& comparison, const std::string& label) {
  if (!latency_measured(comparison)) {
    say("{:<28} {}", label, kNoLatencyReason);
    return;
  }
  say("{:<28} {:>14.3f} {:>14.3f}   ({:.2f}x)", label, comparison["before"]["latency"]["p50_ms"].get<double>(),
      comparison["after"]["latency"]["p50_ms"].get<double>(), comparison["speedup_p50"].get<double>());
  say("  {}", latency_method_note(comparison));
  say_allocator_check(comparison);
}

void say_latency_and_accuracy(const nlohmann::json& comparison) {
  const auto& before = comparison["before"];
  const auto& after = comparison["after"];
  say_latency(comparison, "latency p50 (ms, b=1)");
  if (before.contains("accuracy")) {
    say("{:<28} {:>13.2f}% {:>13.2f}%", "accuracy (top-1)", 100 * before["accuracy"]["top1"].get<double>(),
        100 * after["accuracy"]["top1"].get<double>());
  }
}

const char* exit_codes_help() {
  return "Exit codes: 0 success, 1 runtime failure, 2 usage error, 3 gate failed,\n"
         "            4 invalid input (unreadable/corrupt model, bad data, bad profile),\n"
         "            130 interrupted (Ctrl-C while training; a checkpoint was saved).";
}

c10::Device device_for(const std::string& device_flag, const Profile* profile) {
  if (!device_flag.empty() || !profile) return resolve_device(device_flag.empty() ? "cpu" : device_flag);
  try {
    return resolve_device(profile->device);
  } catch (const Error& e) {
    throw usage_error(fmt::format("profile '{}' runs on an NVIDIA GPU and is checked and measured on one: {}",
                                  profile->name, e.what()));
  }
}

}  // namespace mopt::cli

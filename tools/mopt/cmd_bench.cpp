// mopt bench MODEL: latency/throughput/memory/accuracy figures with CI gates and baselines;
// mopt bench compare A.json B.json: the side-by-side difference of two reports.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <thread>

#include "lib/bench/batch_search.h"
#include "lib/bench/bench_workflow.h"
#include "lib/bench/regression.h"
#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/measure/ci_output.h"
#include "lib/measure/cpu_info.h"
#include "lib/measure/gates.h"
#include "lib/measure/memory.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/profiles/profile.h"
#include "lib/report/read_report.h"
#include "lib/runtime/cuda.h"
#include "lib/runtime/runtime.h"
#include "lib/util/atomic_file.h"
#include "lib/util/log.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"

namespace mopt::cli {
namespace {

struct BenchArgs {
  CommonArgs common;
  DataArgs data;
  std::string model;
  std::string reference;
  std::vector<std::string> batches = {"1"};  ///< sizes, or "auto"
  bool batches_given = false;  ///< --batch on the command line (else an ONNX model's fixed batch is used)
  std::string max_memory;      ///< --max-memory: the budget of --batch auto
  int64_t warmup = 10;
  int64_t iterations = 0;
  double min_time = 0;
  double target_cv = 0;
  double max_time = 60;
  std::vector<std::string> fail_if;
  std::string baseline;
  std::vector<std::string> max_regression;
  std::string profile;
  std::string format = "text";
  std::string junit;
  std::string runtime;  ///< "" = ONNX Runtime for .onnx files, LibTorch otherwise
  bool keep_samples = false;
  bool op_profile = false;
  std::string trace;
  int64_t top = 10;     ///< rows of the op-profile tables on stdout
  double duration = 0;  ///< --duration: soak seconds
  double rate = 0;      ///< --rate: calls per second in a soak (0 = flat out)
  double window = 0;    ///< --window: soak report window (0 = duration / 6)
  bool malloc_tuned = false;
  std::string device;  ///< "" = cpu, or cuda for a GPU profile
  bool cuda_graph = false;
  bool tf32 = false;
  bool no_cudnn_benchmark = false;
};

struct CompareArgs {
  CommonArgs common;
  std::string a, b;
  std::vector<std::string> max_regression;
  std::string junit;
};

StopRule stop_rule(const BenchArgs& args) {
  StopRule rule;
  int chosen = (args.iterations > 0) + (args.min_time > 0) + (args.target_cv > 0) + (args.duration > 0);
  if (chosen > 1) throw usage_error("choose one stop rule: --iterations, --min-time, --target-cv or --duration");
  rule.max_time_s = args.max_time;
  if (args.min_time > 0) {
    rule.kind = StopRule::Kind::kMinTime;
    rule.min_time_s = args.min_time;
  } else if (args.target_cv > 0) {
    rule.kind = StopRule::Kind::kTargetCv;
    rule.target_cv = args.target_cv;
  } else {
    rule.iterations = args.iterations > 0 ? args.iterations : 100;
  }
  return rule;
}

// Page faults per timed call; many of them mean the C allocator maps each call's buffers afresh
// (said once per run: `hinted`).
void print_page_faults(const std::string& label, const nlohmann::json& row, bool& hinted) {
  if (!row.contains("memory") || !row["memory"].contains("page_faults_per_call")) return;
  const double faults = row["memory"]["page_faults_per_call"].get<double>();
  const double mapped_mb = faulted_mb(faults);
  say("{}: {:.0f} page faults per call ({:.1f} MB of memory mapped afresh per call)", label, faults, mapped_mb);
  if (!maps_memory_afresh(faults) || hinted) return;
  hinted = true;
  say("hint: {:.1f} MB mapped afresh per call; where that is glibc handing freed buffers back to the OS (it is for "
      "MobileNetV2, not for ResNet-18 here), setting {} in the deploying process (or jemalloc/tcmalloc) avoids it: "
      "`mopt bench --malloc-tuned` measures whether it does for this model. How much is mapped afresh also depends on "
      "where address-space randomization puts the buffers, so this file's speed can differ from one process to the next",
      mapped_mb, kTunedMallocEnv);
}

// CPU and RSS of one row, and its soak windows when it was a soak.
void print_resources(const nlohmann::json& row, bool& hinted) {
  const auto label = fmt::format("batch={} threads={}", row["batch"].get<int64_t>(), row["threads"].get<int>());
  if (row.contains("cpu")) {
    const auto& c = row["cpu"];
    const auto& r = row["memory"]["rss"];
    say("{}: cpu {:.1f}% of one core, {:.1f}% of {} cores; RSS peak {:.1f} MB, mean {:.1f}, at first inference {:.1f}, at end {:.1f}",
        label, c["percent_one_core"].get<double>(), c["percent"].get<double>(), c["logical_cores"].get<int>(),
        r["peak_mb"].get<double>(), r["mean_mb"].get<double>(), r["first_inference_mb"].get<double>(), r["end_mb"].get<double>());
  }
  print_page_faults(label, row, hinted);
  if (!row.contains("soak")) return;
  const auto& soak = row["soak"];
  say("soak {} ({}): {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}", label, soak["settings"].get<std::string>(), "window s", "calls",
      "p50 ms", "p95 ms", "p99 ms", "RSS MB");
  for (const auto& w : soak["windows"]) {
    if (!w.contains("p50_ms")) continue;
    say("  {:>9} {:>7} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.1f}", fmt::format("{:g}-{:g}", w["start_s"].get<double>(), w["end_s"].get<double>()),
        w["count"].get<int64_t>(), w["p50_ms"].get<double>(), w["p95_ms"].get<double>(), w["p99_ms"].get<double>(),
        w["rss_end_mb"].get<double>());
  }
  if (soak.contains("drift")) {
    say("  drift last vs first window: p50 {:+.1f}%, p99 {:+.1f}%; RSS growth {:+.1f} MB{}{}", soak["drift"]["p50_percent"].get<double>(),
        soak["drift"]["p99_percent"].get<double>(), soak["rss_growth_mb"].get<double>(),
        soak["rss_growth_flagged"].get<bool>() ? " (FLAGGED: possible leak)" : "",
        soak["late_starts"].get<int64_t>() > 0 ? fmt::format("; {} calls started late (the model is slower than --rate)",
                                                             soak["late_starts"].get<int64_t>())
                                               : "");
  }
}

// The op profile's top rows as two tables, then the hints.
void print_op_profile(const nlohmann::json& p, int64_t top) {
  const auto& o = p["overhead"];
  say("op profile (batch={} threads={}, {} iterations): op time {:.3f} ms of {:.3f} ms per inference; profiler overhead "
      "{:.2f}x (p50 {:.3f} ms profiled vs {:.3f} ms)",
      p["batch"].get<int64_t>(), p["threads"].get<int>(), p["iterations"].get<int64_t>(), p["op_total_ms"].get<double>(),
      p["marked_ms"].get<double>(), o["ratio"].get<double>(), o["profiled_p50_ms"].get<double>(), o["unprofiled_p50_ms"].get<double>());
  say("{:<32} {:<18} {:>6} {:>9} {:>6} {:>9} {:>9}  {}", "layer", "type", "calls", "total ms", "share", "p50 ms", "p99 ms",
      "input shapes");
  int64_t shown = 0;
  for (const auto& l : p["layers"]) {
    if (shown++ >= top) break;
    say("{:<32} {:<18} {:>6.0f} {:>9.3f} {:>5.1f}% {:>9.3f} {:>9.3f}  {}", l["layer"].get<std::string>(), l["type"].get<std::string>(),
        l["calls"].get<double>(), l["total_ms"].get<double>(), 100 * l["share"].get<double>(), l["p50_ms"].get<double>(),
        l["p99_ms"].get<double>(), l["input_shapes"].get<std::string>());
  }
  say("{:<32} {:>6} {:>9} {:>9} {:>6} {:>9} {:>9}  {}", "op", "calls", "total ms", "self ms", "share", "p50 ms", "p99 ms",
      "input shapes");
  shown = 0;
  for (const auto& op : p["ops"]) {
    if (shown++ >= top) break;
    const auto& shapes = op["input_shapes"];
    say("{:<32} {:>6.0f} {:>9.3f} {:>9.3f} {:>5.1f}% {:>9.3f} {:>9.3f}  {}", op["op"].get<std::string>(), op["calls"].get<double>(),
        op["total_ms"].get<double>(), op["self_ms"].get<double>(), 100 * op["share"].get<double>(), op["p50_ms"].get<double>(),
        op["p99_ms"].get<double>(), shapes.empty() ? "" : shapes[0].get<std::string>());
  }
  for (const auto& h : p["hints"]) say("hint: {}", h["message"].get<std::string>());
  if (p.contains("trace")) say("trace: {} ({} iterations)", p["trace"]["path"].get<std::string>(), p["trace"]["iterations"].get<int64_t>());
}

// A GPU row's figures beyond the table: the copies' share and the GPU's memory.
void print_gpu_row(const nlohmann::json& row) {
  const auto& copies = row["with_copies"];
  const auto& memory = row["memory"]["gpu"];
  const auto& use = row["gpu_utilization"];
  say("batch={} on {}: with host-device copies p50 {:.3f} ms, {:.1f} samples/s; GPU memory peak {:.1f} MB allocated, "
      "{:.1f} MB reserved of {:.0f} MB; {}", row["batch"].get<int64_t>(), row["device"].get<std::string>(),
      copies["latency"]["p50_ms"].get<double>(), copies["throughput"]["samples_per_s"].get<double>(),
      memory["peak_allocated_mb"].get<double>(), memory["peak_reserved_mb"].get<double>(), memory["total_mb"].get<double>(),
      use["available"].get<bool>()
          ? fmt::format("kernels ran {:.0f}% of the time (max {:.0f}%), SM clock {:.0f} MHz, {:.0f} W (NVML, {} samples)",
                        use["gpu_percent"]["mean"].get<double>(), use["gpu_percent"]["max"].get<double>(),
                        use["sm_clock_mhz"]["mean"].get<double>(), use["power_w"]["mean"].get<double>(),
                        use["samples"].get<int64_t>())
          : fmt::format("utilization not sampled: {}", use["reason"].get<std::string>()));
}

// --batch auto: the sizes tried, the best and why the search stopped.
void print_batch_search(const nlohmann::json& search) {
  std::vector<std::string> tried;
  for (const auto& t : search["tried"]) {
    tried.push_back(fmt::format("{}{}", t["batch"].get<int64_t>(), t["fits"].get<bool>() ? "" : " (over)"));
  }
  const auto best = search["best_batch"].get<int64_t>();
  double best_rate = 0;
  for (const auto& t : search["tried"]) {
    if (t["batch"].get<int64_t>() == best) best_rate = t["samples_per_s"].get<double>();
  }
  say("batch auto: {}; tried {}; budget {:.0f} MB ({}), judged on {}; stopped: {}",
      best > 0 ? fmt::format("best throughput at batch {} ({:.1f} samples/s)", best, best_rate) : "no batch fits",
      fmt::join(tried, ", "), search["budget_mb"].get<double>(), search["budget"].get<std::string>(),
      search["memory_measure"].get<std::string>(), search["stopped_by"].get<std::string>());
}

// --op-profile on a GPU: how busy the GPU was, the top kernels and copies, the hints.
void print_gpu_profile(const nlohmann::json& p, int64_t top) {
  say("GPU profile (batch={}, {} calls): {:.3f} ms per call on the host, GPU busy {:.3f} ms ({:.0f}%), {:.0f} kernels and "
      "copies per call", p["batch"].get<int64_t>(), p["iterations"].get<int64_t>(), p["wall_ms_per_call"].get<double>(),
      p["gpu_ms_per_call"].get<double>(), 100 * p["gpu_busy_share"].get<double>(), p["launches_per_call"].get<double>());
  say("{:<64} {:>6} {:>9} {:>6} {:>9}", "kernel or copy", "calls", "total ms", "share", "mean us");
  int64_t shown = 0;
  for (const auto& k : p["kernels"]) {
    if (shown++ >= top) break;
    say("{:<64} {:>6} {:>9.3f} {:>5.1f}% {:>9.1f}", k["name"].get<std::string>().substr(0, 64), k["calls"].get<int64_t>(),
        k["total_ms"].get<double>(), 100 * k["share"].get<double>(), k["mean_us"].get<double>());
  }
  say("{:<64} {:>8} {:>9} {:>6}", "GPU time by the op that launched it", "launches", "ms/call", "share");
  shown = 0;
  for (const auto& o : p["by_op"]) {
    if (shown++ >= top) break;
    say("{:<64} {:>8.1f} {:>9.3f} {:>5.1f}%", o["op"].get<std::string>().substr(0, 64), o["launches_per_call"].get<double>(),
        o["gpu_ms_per_call"].get<double>(), 100 * o["share"].get<double>());
  }
  for (const auto& h : p["hints"]) say("hint: {}", h["message"].get<std::string>());
  if (p.contains("trace")) say("trace: {}", p["trace"]["path"].get<std::string>());
}

void print_text(const nlohmann::json& metrics, int64_t top) {
  const auto& runtime = metrics["runtime"];
  if (runtime.contains("gpu")) {
    const auto& gpu = runtime["gpu"];
    say("runtime: {} {} on {} ({}, CUDA {}, cuDNN {}{}{})", runtime["name"].get<std::string>(), runtime["version"].get<std::string>(),
        runtime["device"].get<std::string>(), gpu["name"].get<std::string>(), gpu["cuda"].get<std::string>(),
        gpu["cudnn"].get<std::string>(), runtime["cuda_graph"].get<bool>() ? ", CUDA graph" : "", runtime["tf32"].get<bool>() ? ", TF32" : "");
  } else {
    say("runtime: {} {}", runtime["name"].get<std::string>(), runtime["version"].get<std::string>());
  }
  say("{:>5} {:>7} {:>10} {:>10} {:>10} {:>19} {:>6} {:>12} {:>9} {:>6}", "batch", "threads", "p50 ms", "p95 ms", "p99 ms",
      "p50 95% CI", "cv", "samples/s", "peak MB", "cpu %");
  for (const auto& row : metrics["rows"]) {
    const auto& l = row["latency"];
    say("{:>5} {:>7} {:>10.3f} {:>10.3f} {:>10.3f}   [{:>7.3f},{:>7.3f}] {:>6.3f} {:>12.1f} {:>9.1f} {:>6}", row["batch"].get<int64_t>(),
        row["threads"].get<int>(), l["p50_ms"].get<double>(), l["p95_ms"].get<double>(), l["p99_ms"].get<double>(),
        l["p50_ci95_ms"][0].get<double>(), l["p50_ci95_ms"][1].get<double>(), l["cv"].get<double>(),
        row["throughput"]["samples_per_s"].get<double>(), row["memory"]["peak_mb"].get<double>(),
        row.contains("cpu") ? fmt::format("{:.1f}", row["cpu"]["percent"].get<double>()) : std::string("-"));
  }
  if (metrics.contains("batch_search")) print_batch_search(metrics["batch_search"]);
  bool hinted = false;
  for (const auto& row : metrics["rows"]) print_resources(row, hinted);
  for (const auto& row : metrics["rows"]) {
    if (row.contains("with_copies")) print_gpu_row(row);
  }
  for (const auto& h : metrics.value("gpu_hints", nlohmann::json::array())) say("hint: {}", h["message"].get<std::string>());
  const auto& cold = metrics["cold_start"];
  say("cold start: load {:.1f} ms, first inference {:.2f} ms", cold["load_ms"].get<double>(), cold["first_inference_ms"].get<double>());
  const auto& work = metrics["rows"][0]["work"];
  say("work: {:.3f} GMACs per inference at batch {} ({:.1f} GFLOP/s{})", work["macs"].get<double>() / 1e9,
      metrics["rows"][0]["batch"].get<int64_t>(), work["gflops"].get<double>(), work["complete"].get<bool>() ? "" : ", some layers uncounted");
  if (metrics.contains("accuracy")) {
    const auto& a = metrics["accuracy"];
    say("accuracy: top-1 {:.2f}%, top-5 {:.2f}% on {} samples", 100 * a["top1"].get<double>(), 100 * a["top5"].get<double>(),
        a["samples"].get<int64_t>());
  }
  if (metrics.contains("agreement")) {
    const auto& g = metrics["agreement"];
    say("vs reference: {}, max abs diff {:.3g}, cosine {:.6f}, SQNR {:.1f} dB", top1_agreement_text(g),
        g["max_abs_diff"].get<double>(), g["cosine"].get<double>(), g["sqnr_db"].get<double>());
  }
  if (metrics.contains("op_profile")) print_op_profile(metrics["op_profile"], top);
  if (metrics.contains("gpu_profile")) print_gpu_profile(metrics["gpu_profile"], top);
}

void finish_gates(const std::vector<GateResult>& all, const std::string& junit_path, const std::string& suite) {
  if (!junit_path.empty()) write_text_atomically(junit_path, gates_junit_xml(all, suite));
  std::vector<std::string> failed;
  for (const auto& g : all) {
    say("{} {}{}", g.passed ? "PASS" : "FAIL", g.name, g.detail.empty() ? "" : ": " + g.detail);
    if (!g.passed) failed.push_back(g.name);
  }
  if (!failed.empty()) {
    throw Error(ExitCode::kGateFailed, fmt::format("{} gate(s) failed: {}", failed.size(), fmt::join(failed, "; ")));
  }
}

// --device and the GPU flags: what is measured where. First thing in the command: LibTorch's CUDA half
// must load before anything asks LibTorch about CUDA.
std::optional<GpuSettings> gpu_settings(const BenchArgs& args, const std::optional<Profile>& profile) {
  // A GPU profile (datacenter-gpu, jetson-orin) measures on a GPU unless --device says otherwise.
  const bool gpu_profile = profile && profile->device == "cuda";
  const c10::Device device = device_for(args.device, profile ? &*profile : nullptr);
  if (!device.is_cuda()) {
    if (args.cuda_graph || args.tf32 || args.no_cudnn_benchmark) {
      throw usage_error("--cuda-graph, --tf32 and --no-cudnn-benchmark apply to --device cuda");
    }
    return std::nullopt;
  }
  if (args.runtime == "onnxruntime") {
    throw usage_error("--device cuda measures in LibTorch; mopt's ONNX Runtime runs on the CPU (drop --runtime onnxruntime)");
  }
  const std::vector<std::pair<bool, const char*>> cpu_only = {
      {args.duration > 0, "--duration"},
      {profile && !gpu_profile, "--profile with a CPU profile"}, {args.malloc_tuned, "--malloc-tuned"}};
  for (const auto& [given, flag] : cpu_only) {
    if (given) throw usage_error(fmt::format("{} measures on the CPU; it does not combine with --device cuda yet", flag));
  }
  if (args.cuda_graph && !cuda_status().graphs) {
    throw usage_error("--cuda-graph: CUDA graphs are not available in this build (libmopt_cuda_graphs.so did not load "
                      "from beside the mopt binary)");
  }
  return GpuSettings{device, args.cuda_graph, args.tf32, !args.no_cudnn_benchmark};
}

// --batch N[,N...] or --batch auto (with --max-memory), and what auto does not combine with.
void parse_batches(const BenchArgs& args, BenchRequest& settings) {
  settings.batch_auto = args.batches == std::vector<std::string>{"auto"};
  if (!settings.batch_auto) {
    if (!args.max_memory.empty()) throw usage_error("--max-memory is the budget of --batch auto");
    settings.batches.clear();
    for (const auto& text : args.batches) {
      int64_t batch = 0;
      try {
        size_t used = 0;
        batch = std::stoll(text, &used);
        if (used != text.size()) batch = 0;
      } catch (const std::exception&) {
      }
      if (batch <= 0) throw usage_error(fmt::format("--batch '{}': give positive sizes (1,8,32) or auto", text));
      settings.batches.push_back(batch);
    }
    settings.batches_asked = settings.batches;
    return;
  }
  const std::vector<std::pair<bool, const char*>> conflicts = {
      {args.common.threads.size() > 1, "several --threads (it searches at one thread count)"},
      {args.duration > 0, "--duration"},
      {!args.profile.empty(), "--profile (a profile's budgets are stated at its own batch)"}};
  for (const auto& [given, what] : conflicts) {
    if (given) throw usage_error(fmt::format("--batch auto does not combine with {}", what));
  }
  settings.batches = {1};
  if (!args.max_memory.empty()) settings.max_memory = args.max_memory;
  memory_budget_mb(settings.max_memory, 1);  // a malformed budget fails before anything is measured
}

void run_bench_command(const BenchArgs& args, Report& report) {
  if (args.model.empty()) throw usage_error("bench needs a MODEL (or use `mopt bench compare A.json B.json`)");
  std::optional<Profile> profile;
  if (!args.profile.empty()) profile = load_profile(args.profile);
  const auto gpu = gpu_settings(args, profile);
  // Parse every gate before measuring, so a typo fails in milliseconds, not after the run.
  BenchRequest settings;
  for (const auto& text : args.fail_if) settings.gates.push_back(parse_gate(text));
  // An .onnx file is measured where it will be deployed: ONNX Runtime, unless asked otherwise or
  // the profile deploys it with LibTorch.
  settings.runtime = !args.runtime.empty() ? args.runtime
                     : gpu || detect_format(args.model) != ModelFormat::kOnnx ? "libtorch" : "onnxruntime";
  settings.gpu = gpu;
  if (profile) {
    settings.profile = profile;
    settings.profile_runtime = args.runtime.empty() ? profile_runtime_for(*settings.profile, args.model)
                                                    : profile_runtime_name(args.runtime, args.model);
    settings.runtime = measured_runtime(settings.profile_runtime);
    for (const auto& text : budget_gates(*settings.profile)) settings.gates.push_back(parse_gate(text));
  }
  for (const auto& text : args.max_regression) settings.regression_rules.push_back(parse_regression(text));
  if (!settings.regression_rules.empty() && args.baseline.empty()) throw usage_error("--max-regression needs --baseline OLD_REPORT.json");
  if (!args.baseline.empty()) settings.baseline = read_report(args.baseline);

  settings.model_path = args.model;
  settings.reference_path = args.reference;
  parse_batches(args, settings);
  if (!args.batches_given && detect_format(args.model) == ModelFormat::kOnnx) {
    // A model exported with a fixed batch runs at that batch only (ONNX Runtime enforces it).
    if (auto fixed = declared_batch(load_onnx(args.model)); fixed > 1) settings.batches = {fixed};
  }
  for (int t : args.common.threads) settings.threads.push_back(t > 0 ? t : static_cast<int>(std::thread::hardware_concurrency()));
  if (const auto& profile = settings.profile) {
    // The profile's budgets are stated at its batch size and thread count; measure those.
    settings.batches = {profile->budgets.batch};
    // The engine must be set before the model loads (packed weights are re-packed at load).
    if (args.common.engine.empty()) apply_runtime_settings({args.common.threads.empty() ? 0 : args.common.threads.front(), profile->quantized_engine});
    if (args.common.threads.empty()) settings.threads = {std::min<int>(profile->threads, static_cast<int>(std::thread::hardware_concurrency()))};
  }
  if (args.malloc_tuned) use_tuned_malloc();  // before the model and its buffers are allocated
  settings.warmup = args.warmup;
  settings.stop = stop_rule(args);
  settings.keep_samples = args.keep_samples;
  if ((args.rate > 0 || args.window > 0) && !(args.duration > 0)) throw usage_error("--rate and --window need --duration SECONDS");
  if (args.duration > 0) settings.soak = SoakSettings{args.duration, args.rate, args.window};
  settings.op_profile = args.op_profile || !args.trace.empty();
  settings.trace_path = args.trace;
  if (settings.soak) validate(*settings.soak);  // before ONNX Runtime's helper starts
  auto data = with_graph_input(args.data, args.model);
  if (!has_data(data)) throw usage_error("bench needs inputs: --data PATH or --input-shape NAME:1x3x224x224:float32");
  settings.data = load_data(data, "test");

  const bool show_progress = isatty(STDERR_FILENO) && verbosity() != Verbosity::kQuiet;
  auto outcome = run_bench(settings, report, [&](const std::string& row, int64_t done, double elapsed) {
    if (show_progress) fmt::print(stderr, "\r{}: {} iterations, {:.1f}s   ", row, done, elapsed);
  });
  if (show_progress) fmt::print(stderr, "\r{:60}\r", "");
  if (settings.profile && !runs_on_host(*settings.profile)) {
    say("note: profile '{}' targets {}; these figures were measured on this {} host, so its latency, throughput and "
        "memory budgets can only be judged on the target",
        settings.profile->name, settings.profile->architecture, cpu_info().architecture);
  }
  if (args.format == "markdown") {
    say("{}", bench_markdown(report.finalize()));
  } else {
    print_text(outcome.metrics, args.top);
  }
  warn_if_busy(report);
  finish_gates(outcome.gates, args.junit, "mopt.bench");
}

void run_compare_command(const CompareArgs& args, Report& report) {
  std::vector<RegressionRule> rules;
  for (const auto& text : args.max_regression) rules.push_back(parse_regression(text));
  auto a = read_report(args.a);
  auto b = read_report(args.b);
  auto comparison = compare_reports(a, b);
  report.add_input(args.a);
  report.add_input(args.b);
  report.details()["comparison"] = comparison;
  say("{}", render_comparison(comparison));
  std::vector<GateResult> results;
  for (const auto& rule : rules) {
    auto r = check_regressions(rule, a["metrics"], b["metrics"]);
    results.insert(results.end(), r.begin(), r.end());
  }
  for (const auto& g : results) report.add_gate(g.name, g.expression, g.passed, g.value, g.detail);
  finish_gates(results, args.junit, "mopt.bench.compare");
}

}  // namespace

void setup_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "measure latency, throughput, memory, work and accuracy; gate CI on them");
  cmd->add_option("MODEL", args->model, "model to measure: TorchScript (.pt/.ptl), ONNX (.onnx) or an AOTInductor package (.pt2)");
  cmd->add_option("--runtime", args->runtime, "onnxruntime or libtorch (default: onnxruntime for .onnx, libtorch otherwise)")
      ->check(CLI::IsMember({"onnxruntime", "libtorch"}));
  cmd->add_option("--reference", args->reference, "compare outputs with this model (agreement, cosine, SQNR)")->type_name("MODEL");
  cmd->add_option("--batch", args->batches, "batch sizes to sweep, e.g. 1,8,32; or auto: double from 1 while the next "
                  "size fits under --max-memory and throughput still rises, and report the best")
      ->delimiter(',')->type_name("N[,N...]|auto");
  cmd->add_option("--max-memory", args->max_memory, "budget of --batch auto: a fraction of the device's memory (default "
                  "0.9; on the CPU, of what the process could use at the start) or a size such as 4GB")
      ->type_name("F|SIZE");
  cmd->add_option("--warmup", args->warmup, "untimed warm-up calls per row (default 10)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--iterations", args->iterations, "stop after N timed calls (default rule: 100)")->check(CLI::PositiveNumber);
  cmd->add_option("--min-time", args->min_time, "stop after this many seconds of timed calls")->type_name("SECONDS");
  cmd->add_option("--target-cv", args->target_cv, "sample until the coefficient of variation is below X")->type_name("X");
  cmd->add_option("--max-time", args->max_time, "upper bound for --target-cv (default 60 s)")->type_name("SECONDS");
  cmd->add_flag("--keep-samples", args->keep_samples, "record every timed sample in the report (rows[].samples_ms)");
  cmd->add_option("--fail-if", args->fail_if, "fail (exit 3) when EXPR holds, e.g. 'latency.p95_ms > 12'")->type_name("EXPR");
  cmd->add_option("--baseline", args->baseline, "previous report to compare against")->type_name("REPORT.json");
  cmd->add_option("--max-regression", args->max_regression, "allowed regression vs --baseline: latency.p50_ms=5% or accuracy.top1=0.5pt")
      ->type_name("FIELD=LIMIT");
  cmd->add_option("--profile", args->profile, "device profile (name or JSON file): its budgets become gates")->type_name("NAME");
  cmd->add_option("--format", args->format, "stdout format: text or markdown (CI job summaries)")->check(CLI::IsMember({"text", "markdown"}));
  cmd->add_option("--junit", args->junit, "write the gates as JUnit XML")->type_name("FILE");
  cmd->add_flag("--op-profile", args->op_profile,
                "profile the first row's timed calls again under LibTorch's profiler: time per layer (module path) and per "
                "op kind, bottleneck hints, profiler overhead (LibTorch runs); on a GPU, its kernels and copies and how "
                "busy it was");
  cmd->add_option("--trace", args->trace, "write a Chrome/Perfetto trace of the first 5 profiled calls (implies --op-profile)")
      ->type_name("FILE");
  cmd->add_option("--top", args->top, "rows of the op-profile tables on stdout (default 10; the report has all)")->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--duration", args->duration, "soak: call for this long (after warm-up), report latency per window, drift "
                                                "and RSS growth")->type_name("SECONDS")->check(CLI::PositiveNumber);
  cmd->add_option("--rate", args->rate, "soak at a fixed request rate (calls per second; default flat out)")
      ->type_name("N")->check(CLI::PositiveNumber);
  cmd->add_flag("--malloc-tuned", args->malloc_tuned,
                "keep freed memory in the process (what MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 "
                "do for any program): models that allocate large buffers per call stop paying page faults for them");
  cmd->add_option("--window", args->window, "soak report window (default duration/6)")->type_name("SECONDS")->check(CLI::PositiveNumber);
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (default cpu; cuda for a GPU --profile): on a GPU, latency "
                  "comes from CUDA events, with and without the host-device copies")->type_name("DEVICE");
  cmd->add_flag("--cuda-graph", args->cuda_graph, "GPU: capture one call in a CUDA graph after warm-up and time its replays");
  cmd->add_flag("--tf32", args->tf32, "GPU: let fp32 matmuls and convolutions use TF32 tensor cores");
  cmd->add_flag("--no-cudnn-benchmark", args->no_cudnn_benchmark, "GPU: skip cuDNN's autotuning during warm-up");
  add_data_flags(*cmd, args->data);
  add_common_flags(*cmd, args->common, /*thread_sweep=*/true);
  cmd->footer(std::string(
                  "Examples:\n"
                  "  mopt bench model.pt --input-shape x:1x3x224x224 --batch 1,8 --threads 1,2 --report bench.json\n"
                  "  mopt bench cnn.pt --data /usr/share/datasets/fashion-mnist --normalize 0.286,0.353 \\\n"
                  "      --fail-if 'latency.p95_ms > 12' --fail-if 'accuracy.top1 < 0.90' --junit gates.xml\n"
                  "  mopt bench new.pt --input-shape 1x784 --baseline old.json --max-regression latency.p50_ms=5%\n"
                  "  mopt bench int8.pt --reference fp32.pt --data inputs.npy\n"
                  "  mopt bench compare old.json new.json --max-regression latency.p50_ms=5%\n"
                  "  mopt bench model.pt --input-shape 1x3x224x224 --profile raspberry-pi-4\n"
                  "  mopt bench model.onnx --threads 1,2          # in ONNX Runtime, input shape from the graph\n"
                  "  mopt bench cnn.pt --input-shape 1x1x28x28 --op-profile --trace cnn.trace.json   # where the time goes\n"
                  "  mopt bench int8.pt --input-shape 1x1x28x28 --duration 60 --rate 100   # soak: drift and RSS growth\n"
                  "  mopt bench cnn.pt --input-shape 1x1x28x28 --fail-if 'cpu.percent > 25'   # CPU budget (% of all cores)\n"
                  "  mopt bench model.onnx --runtime libtorch     # the same file imported into LibTorch\n"
                  "  mopt bench model.pt2 --input-shape x:8x3x224x224 --batch 8   # an AOTInductor package, at a shape it was exported for\n"
                  "  mopt bench model.pt --input-shape 1x3x224x224 --device cuda --batch 1,32 --cuda-graph   # on a GPU\n"
                  "  mopt bench model.pt --input-shape 1x3x224x224 --device cuda --batch auto --max-memory 0.9   # best batch that fits\n\n") +
              exit_codes_help());
  cmd->callback([args, cmd] {
    if (cmd->got_subcommand("compare")) return;
    args->batches_given = cmd->get_option("--batch")->count() > 0;
    run_reported("bench", args->common, [&](Report& report) { run_bench_command(*args, report); });
  });

  auto compare_args = std::make_shared<CompareArgs>();
  auto* compare = cmd->add_subcommand("compare", "side-by-side difference of two bench reports; exit 3 on regression");
  compare->add_option("A", compare_args->a, "baseline report")->required();
  compare->add_option("B", compare_args->b, "candidate report")->required();
  compare->add_option("--max-regression", compare_args->max_regression, "allowed regression of B vs A, e.g. latency.p50_ms=5%")
      ->type_name("FIELD=LIMIT");
  compare->add_option("--junit", compare_args->junit, "write the gates as JUnit XML")->type_name("FILE");
  add_common_flags(*compare, compare_args->common);
  compare->callback([compare_args] {
    run_reported("bench compare", compare_args->common, [&](Report& report) { run_compare_command(*compare_args, report); });
  });
}

}  // namespace mopt::cli

#include "lib/bench/bench_workflow.h"

#include <ATen/DeviceAccelerator.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "lib/bench/batch_search.h"
#include "lib/bench/bottleneck_hints.h"
#include "lib/bench/gpu_hints.h"
#include "lib/bench/gpu_kernels.h"
#include "lib/bench/op_profile_report.h"
#include "lib/bench/profile_instrumentation.h"
#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/measure/latency_stats.h"
#include "lib/measure/memory.h"
#include "lib/measure/resource_monitor.h"
#include "lib/model/flops.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/runtime/cuda.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

json accuracy_metrics(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 2) throw invalid_input(fmt::format("accuracy needs [N, classes] outputs; the model returned {}",
                                                         fmt::join(logits.sizes(), "x")));
  if (labels.max().item<int64_t>() >= logits.size(1)) {
    throw invalid_input(fmt::format("labels go up to {} but the model has {} outputs", labels.max().item<int64_t>(),
                                    logits.size(1)));
  }
  auto top1 = logits.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
  int64_t k = std::min<int64_t>(5, logits.size(1));
  auto topk = std::get<1>(logits.topk(k, 1));
  auto top5 = topk.eq(labels.unsqueeze(1)).any(1).to(torch::kDouble).mean().item<double>();
  return {{"top1", top1}, {"top5", top5}, {"samples", labels.size(0)}};
}

// One sweep row from a timed run, whichever runtime produced it.
json row_json(int64_t batch, int threads, const TimedRun& run, double peak_mb, double increase_mb,
              const BenchRequest& settings) {
  auto stats = summarize_latencies(run.samples_ms);
  json row = {{"batch", batch},
          {"threads", threads},
          {"latency", latency_json(stats)},
          {"throughput",
           {{"inferences_per_s", 1000.0 / stats.mean_ms}, {"samples_per_s", 1000.0 * static_cast<double>(batch) / stats.mean_ms}}},
          {"memory", {{"peak_mb", peak_mb}, {"increase_mb", increase_mb}}},
          {"stop_rule", describe(settings.stop)},
          {"stopped_by", run.stopped_by},
          {"elapsed_s", run.elapsed_s}};
  if (settings.keep_samples) row["samples_ms"] = run.samples_ms;
  return row;
}

// MACs at this input, counted on the LibTorch form of the model. The model already ran, so a
// failure here is a limit of the counter, not bad input: the work is reported as unknown.
json work_json(const Model& model, const std::vector<torch::Tensor>& inputs, double p50_ms) {
  MacCount macs;
  try {
    macs = count_macs(model, inputs);
  } catch (const std::exception& e) {
    macs.complete = false;
    log_verbose("MACs not counted: {}", short_torch_message(e.what()));
  }
  return {{"macs", macs.macs}, {"layers_counted", macs.layers}, {"complete", macs.complete},
          {"gflops", p50_ms > 0 ? 2.0 * static_cast<double>(macs.macs) / (p50_ms * 1e6) : 0.0}};
}

json row_metrics(const Model& model, const std::vector<torch::Tensor>& input, int64_t batch, int threads, double baseline_rss_mb,
                 const BenchRequest& settings, const BenchProgress& progress) {
  set_threads(threads);
  auto label = fmt::format("batch={} threads={}", batch, threads);
  reset_peak_rss();
  ResourceMonitor monitor;
  // Page faults over the timed calls only: warm-up calls touch memory for the first time.
  int64_t calls = 0;
  int64_t faults_before_timed = 0;
  auto call = [&] {
    if (calls == settings.warmup) faults_before_timed = minor_page_faults();
    run_model(model, input);
    if (++calls == 1) monitor.mark_first_inference();
  };
  auto report_progress = [&](int64_t done, double elapsed) { if (progress) progress(label, done, elapsed); };
  // CPU and RSS cover warm-up and timed calls alike: a device budget holds for the whole run.
  monitor.start();
  std::optional<SoakRun> soak;
  TimedRun run;
  if (settings.soak) {
    soak = run_soak(call, settings.warmup, *settings.soak, report_progress);
    run = soak->run;
  } else {
    run = run_timed(call, settings.warmup, settings.stop, report_progress);
  }
  // Read before anything else runs: counting MACs below runs the model again and would add its faults.
  const int64_t faults_after_timed = minor_page_faults();
  monitor.stop();
  double peak = peak_rss_mb();
  auto row = row_json(batch, threads, run, peak, peak - baseline_rss_mb, settings);
  row["work"] = work_json(model, input, row["latency"]["p50_ms"].get<double>());
  row["cpu"] = cpu_json(monitor.cpu());
  row["memory"]["rss"] = rss_json(monitor.rss(), 20);
  if (calls > settings.warmup) {
    row["memory"]["page_faults_per_call"] =
        static_cast<double>(faults_after_timed - faults_before_timed) / static_cast<double>(calls - settings.warmup);
  }
  if (soak) {
    row["stop_rule"] = describe(soak->settings);
    row["soak"] = soak_json(*soak);
  }
  return row;
}

// The first row's calls again, under the profiler.
json op_profile_metrics(const Model& model, const json& row, const BenchRequest& settings) {
  const auto input = batch_inputs(settings.data, row["batch"].get<int64_t>());
  set_threads(row["threads"].get<int>());
  OpProfileRequest request;
  request.iterations = row["latency"]["count"].get<int64_t>();
  request.unprofiled_p50_ms = row["latency"]["p50_ms"].get<double>();
  request.macs = row["work"]["macs"].get<int64_t>();
  request.trace_path = settings.trace_path;
  // oneDNN prim ops bypass the dispatcher: profile a copy in which they are wrapped in records.
  std::optional<Model> instrumented;
  if (model.is_torchscript() && has_mkldnn_prims(model.torchscript())) {
    instrumented = model.clone();
    record_mkldnn_prims(instrumented->torchscript());
    // The copy's graph is new to the executor: its first calls profile and optimize it.
    for (int64_t i = 0; i < std::max<int64_t>(settings.warmup, 3); ++i) run_model(*instrumented, input);
  }
  const Model& profiled = instrumented ? *instrumented : model;
  const int64_t faults_before = minor_page_faults();
  auto out = profile_ops([&] { run_model(profiled, input); }, request);
  // The profiler holds buffers longer, which can change whether the C allocator keeps or unmaps
  // them; then profiled and unprofiled calls differ in page faults, not only in the profiler.
  const double profiled_faults = static_cast<double>(minor_page_faults() - faults_before) /
                                 static_cast<double>(out["iterations"].get<int64_t>() + 1);  // + the labelling call
  const double unprofiled_faults = row["memory"].value("page_faults_per_call", 0.0);
  out["overhead"]["page_faults_per_call"] = {{"profiled", profiled_faults}, {"unprofiled", unprofiled_faults}};
  if (auto hint = allocator_hint(profiled_faults, unprofiled_faults)) out["hints"].push_back(hints_json({*hint})[0]);
  out["batch"] = row["batch"];
  out["threads"] = row["threads"];
  return out;
}

// Accuracy (with labels) and agreement with --reference (run in LibTorch) of these outputs.
void add_quality(json& metrics, const torch::Tensor& outputs, const BenchRequest& settings) {
  if (settings.data.has_labels()) metrics["accuracy"] = accuracy_metrics(outputs, settings.data.labels);
  if (settings.reference_path.empty()) return;
  auto reference = load_executable(settings.reference_path);
  auto expected = run_model_batched(reference, settings.data.input_list(), settings.eval_batch);
  auto agreement = compare_outputs(expected, outputs);
  metrics["agreement"] = agreement_json(agreement);
  metrics["agreement"]["samples"] = settings.data.size();
}

json model_json(const BenchRequest& settings, const ParameterTotals& params) {
  return {{"file_mb", static_cast<double>(fs::file_size(settings.model_path)) / 1e6},
          {"parameters", params.count},
          {"parameter_mb", static_cast<double>(params.bytes) / 1e6}};
}

// What this process may use for --batch auto: what the kernel could still give it, plus what it holds.
BatchSearchRules host_search_rules(const BenchRequest& settings, const std::string& memory_measure) {
  const double host_mb = available_memory_mb() + current_rss_mb();
  return batch_search_rules(settings.max_memory, host_mb,
                            fmt::format("the {:.0f} MB this process could use at the start (MemAvailable plus its own RSS)",
                                        host_mb),
                            memory_measure);
}

// The whole sweep in ONNX Runtime's helper process (--batch auto: one helper run per size); MACs
// are counted on the imported model.
json run_bench_onnxruntime(const BenchRequest& settings, const std::vector<int>& threads) {
  auto onnx_model = Model::load(settings.model_path);
  if (!onnx_model.is_onnx()) {
    throw usage_error(fmt::format("--runtime onnxruntime runs ONNX files; '{}' is TorchScript (use --runtime libtorch)",
                                  settings.model_path.string()));
  }
  // ONNX Runtime enforces declared dims (LibTorch's import does not): a fixed batch is the only one.
  const int64_t fixed_batch = declared_batch(onnx_model.onnx());
  if (fixed_batch > 0 && settings.batch_auto) {
    throw usage_error(fmt::format("the model's input has a fixed batch of {}: --batch auto has no other size to try "
                                  "(re-export with a dynamic batch axis)", fixed_batch));
  }
  if (fixed_batch > 0) {
    for (int64_t batch : settings.batches) {
      if (batch != fixed_batch) {
        throw usage_error(fmt::format("the model's input has a fixed batch of {}; ONNX Runtime cannot run batch {} "
                                      "(re-export with a dynamic batch axis, or use --runtime libtorch)",
                                      fixed_batch, batch));
      }
    }
  }
  check_fits_declared_inputs(onnx_model.onnx(), batch_inputs(settings.data, 1), settings.data.description);
  OrtRequest request;
  request.model = settings.model_path;
  request.data_description = settings.data.description;
  request.warmup = settings.warmup;
  request.stop = settings.stop;
  request.soak = settings.soak;
  const bool quality = settings.data.has_labels() || !settings.reference_path.empty();
  if (quality) {
    request.eval_inputs = settings.data.input_list();
    request.eval_threads = threads.front();
    request.eval_batch = fixed_batch > 0 ? fixed_batch : settings.eval_batch;
  }
  if (settings.op_profile) request.profile_iterations = std::clamp<int64_t>(settings.stop.iterations, 1, kMaxProfiledIterations);

  std::optional<Model> imported;
  try {
    imported = to_torchscript(onnx_model);
  } catch (const Error& e) {
    log_verbose("MACs not counted: the model does not import ({})", e.what());
  }
  // Row `i` of a helper run, as a sweep row.
  auto entry_of = [&](const OrtResult& result, size_t i, const OrtRow& row) {
    auto [peak, increase] = result.memory_mb[i];
    auto entry = row_json(row_count(row.inputs), row.threads, result.rows[i], peak, increase, settings);
    double p50 = entry["latency"]["p50_ms"].get<double>();
    entry["work"] = imported ? work_json(*imported, row.inputs, p50)
                             : json{{"macs", 0}, {"layers_counted", 0}, {"complete", false}, {"gflops", 0.0}};
    entry["cpu"] = cpu_json(result.cpu[i]);
    entry["memory"]["rss"] = rss_json(result.rss[i], 20);
    entry["memory"]["page_faults_per_call"] = result.page_faults_per_call[i];
    if (settings.soak) {
      entry["stop_rule"] = describe(*settings.soak);
      entry["soak"] = soak_json(result.soaks[i]);
    }
    return entry;
  };
  OrtResult result;  // the (first) helper run: cold start, session, evaluation outputs and profile
  json rows = json::array();
  json search;
  if (settings.batch_auto) {
    bool first = true;
    auto measure_row = [&](int64_t batch) {
      OrtRequest one = request;
      one.rows = {{threads.front(), batch_inputs(settings.data, batch)}};
      if (!first) one.eval_inputs.clear(), one.profile_iterations = 0;
      log_info("measuring batch {} in ONNX Runtime ...", batch);
      auto run = run_onnxruntime(one);
      auto entry = entry_of(run, 0, one.rows[0]);
      if (first) result = std::move(run), first = false;
      return entry;
    };
    search = search_batch(measure_row, [](const json& row) { return row["memory"]["peak_mb"].get<double>(); },
                          host_search_rules(settings, "the ONNX Runtime helper process's peak RSS"), rows);
  } else {
    for (int t : threads) {
      for (int64_t batch : settings.batches) request.rows.push_back({t, batch_inputs(settings.data, batch)});
    }
    log_info("measuring in ONNX Runtime ({} row(s)) ...", request.rows.size());
    result = run_onnxruntime(request);
    for (size_t i = 0; i < request.rows.size(); ++i) rows.push_back(entry_of(result, i, request.rows[i]));
  }
  json metrics = {{"model", model_json(settings, parameter_totals(onnx_model))},
                  {"runtime", {{"name", "onnxruntime"}, {"version", result.version}, {"session", result.session}, {"malloc", malloc_settings_json()}}},
                  {"cold_start", result.cold_start},
                  {"rows", rows}};
  if (!search.is_null()) metrics["batch_search"] = search;
  if (result.profile) {
    const auto& first = metrics["rows"][0];
    OpProfileRequest profile;
    profile.unprofiled_p50_ms = first["latency"]["p50_ms"].get<double>();
    profile.macs = first["work"]["macs"].get<int64_t>();
    profile.trace_path = settings.trace_path;
    metrics["op_profile"] = onnxruntime_op_profile(*result.profile, profile);
    metrics["op_profile"]["batch"] = first["batch"];
    metrics["op_profile"]["threads"] = first["threads"];
  }
  if (quality) add_quality(metrics, result.eval_outputs, settings);
  return metrics;
}

// The sweep on a GPU: cold start (load, move to the GPU, first call), one row per batch, and quality
// from the GPU's outputs. MACs are counted on the host's copy of the model.
json measure_on_gpu(const BenchRequest& settings, const BenchProgress& progress) {
  const auto& gpu = *settings.gpu;
  apply_gpu_settings(gpu);
  const double baseline_rss = current_rss_mb();
  auto load_start = std::chrono::steady_clock::now();
  const Model host_model = load_runnable(settings.model_path);
  const Model model = model_on_device(host_model, gpu.device);
  const double load_ms = elapsed_ms(load_start);
  auto first_start = std::chrono::steady_clock::now();
  const auto first_input = batch_inputs(settings.data, settings.batches.front());
  run_on_device(model, first_input, gpu.device, row_count(first_input));
  const double first_ms = elapsed_ms(first_start);

  const auto& cuda = cuda_status();
  const auto& device = cuda.devices.at(static_cast<size_t>(gpu.device.index()));
  json metrics = {{"model", model_json(settings, parameter_totals(host_model))},
                  {"runtime", {{"name", "libtorch"},
                               {"version", build_versions()["libtorch"]},
                               {"device", gpu.device.str()},
                               {"gpu", {{"name", device.name},
                                        {"compute_capability", device.compute_capability},
                                        {"cuda", cuda.runtime_version},
                                        {"cudnn", cuda.cudnn_version},
                                        {"driver", cuda.driver_version}}},
                               {"cuda_graph", gpu.cuda_graph},
                               {"tf32", gpu.tf32},
                               {"cudnn_benchmark", gpu.cudnn_benchmark}}},
                  {"cold_start", {{"load_ms", load_ms}, {"first_inference_ms", first_ms}}},
                  {"rows", json::array()}};
  auto measure_row = [&](int64_t batch) {
    const auto label = fmt::format("batch={} {}", batch, gpu.device.str());
    const auto input = batch_inputs(settings.data, batch);
    reset_peak_rss();
    auto row = gpu_row(model, input, batch, gpu, settings.warmup, settings.stop,
                       [&](int64_t done, double elapsed) { if (progress) progress(label, done, elapsed); });
    row["threads"] = at::get_num_threads();
    row["memory"]["peak_mb"] = peak_rss_mb();
    row["memory"]["increase_mb"] = peak_rss_mb() - baseline_rss;
    row["work"] = work_json(host_model, input, row["latency"]["p50_ms"].get<double>());
    if (!settings.keep_samples) row.erase("samples_ms");
    return row;
  };
  if (settings.batch_auto) {
    const double device_mb = device.memory_gib * 1024;
    const auto rules = batch_search_rules(settings.max_memory, device_mb, fmt::format("{}'s {:.0f} MB", device.name, device_mb),
                                          "the caching allocator's peak reserved GPU memory");
    metrics["batch_search"] = search_batch(
        measure_row, [](const json& row) { return row["memory"]["gpu"]["peak_reserved_mb"].get<double>(); }, rules,
        metrics["rows"]);
    at::accelerator::emptyCache();  // what a size that ran out of memory left reserved
  } else {
    for (int64_t batch : settings.batches) metrics["rows"].push_back(measure_row(batch));
  }
  metrics["gpu_hints"] = hints_json(gpu_hints(metrics["rows"], parameter_totals(host_model).mostly_float32(), gpu.tf32));
  if (settings.op_profile || !settings.trace_path.empty()) {  // the first row's calls again, with their kernels
    const auto& first = metrics["rows"][0];
    std::vector<torch::Tensor> device_inputs;
    for (const auto& input : batch_inputs(settings.data, first["batch"].get<int64_t>())) device_inputs.push_back(input.to(gpu.device));
    const auto index = gpu.device.index();
    metrics["gpu_profile"] = profile_gpu_kernels(
        [&] {
          run_model(model, device_inputs);
          at::accelerator::synchronizeDevice(index);
        },
        std::clamp<int64_t>(first["latency"]["count"].get<int64_t>(), 1, kMaxProfiledIterations), settings.trace_path);
    metrics["gpu_profile"]["batch"] = first["batch"];
  }
  if (settings.data.has_labels() || !settings.reference_path.empty()) {
    add_quality(metrics, run_on_device(model, settings.data.input_list(), gpu.device, settings.eval_batch), settings);
  }
  return metrics;
}

}  // namespace

std::vector<torch::Tensor> batch_inputs(const Dataset& data, int64_t batch) {
  std::vector<torch::Tensor> inputs;
  const int64_t rows = data.size();
  for (const auto& input : data.input_list()) inputs.push_back(has_row_axis(input, rows) ? make_batch(input, batch) : input);
  return inputs;
}

torch::Tensor make_batch(const torch::Tensor& inputs, int64_t batch) {
  if (inputs.size(0) >= batch) return inputs.slice(0, 0, batch).contiguous();
  auto index = torch::arange(batch, torch::kLong).remainder(inputs.size(0));
  return inputs.index_select(0, index).contiguous();
}

// The figures: cold start, the batch x threads rows, accuracy and agreement.
static json measure(const BenchRequest& settings, const BenchProgress& progress) {
  if (settings.data.size() == 0) throw usage_error("bench needs inputs: give --data or --input-shape");
  auto threads = settings.threads.empty() ? std::vector<int>{at::get_num_threads()} : settings.threads;
  if (settings.runtime == "onnxruntime") return run_bench_onnxruntime(settings, threads);
  if (settings.gpu) return measure_on_gpu(settings, progress);
  const double baseline_rss = current_rss_mb();

  // Cold start: load, then the first inference, apart from the steady state.
  auto load_start = std::chrono::steady_clock::now();
  Model model = load_runnable(settings.model_path);
  double load_ms = elapsed_ms(load_start);
  auto first_input = batch_inputs(settings.data, settings.batches.front());
  auto first_start = std::chrono::steady_clock::now();
  run_model(model, first_input);
  double first_ms = elapsed_ms(first_start);

  json metrics = {{"model", model_json(settings, parameter_totals(model))},
                  // An AOTInductor package runs its own compiled code, on LibTorch's kernels and allocator.
                  {"runtime", {{"name", model.is_aoti_package() ? "libtorch-aotinductor" : "libtorch"},
                               {"version", build_versions()["libtorch"]},
                               {"malloc", malloc_settings_json()}}},
                  {"cold_start", {{"load_ms", load_ms}, {"first_inference_ms", first_ms}}},
                  {"rows", json::array()}};
  const int original_threads = at::get_num_threads();
  auto measure_row = [&](int64_t batch, int t) {
    return row_metrics(model, batch_inputs(settings.data, batch), batch, t, baseline_rss, settings, progress);
  };
  if (settings.batch_auto) {
    metrics["batch_search"] = search_batch(
        [&](int64_t batch) { return measure_row(batch, threads.front()); },
        [](const json& row) { return row["memory"]["peak_mb"].get<double>(); },
        host_search_rules(settings, "the process's peak RSS"), metrics["rows"]);
  } else {
    for (int t : threads) {
      for (int64_t batch : settings.batches) metrics["rows"].push_back(measure_row(batch, t));
    }
  }
  if (settings.op_profile || !settings.trace_path.empty()) {
    metrics["op_profile"] = op_profile_metrics(model, metrics["rows"][0], settings);
  }
  set_threads(original_threads);

  if (settings.data.has_labels() || !settings.reference_path.empty()) {
    add_quality(metrics, run_model_batched(model, settings.data.input_list(), settings.eval_batch), settings);
  }
  return metrics;
}

namespace {

// --fail-if, --max-regression and the profile's budgets, against what was measured.
std::vector<GateResult> judge(const BenchRequest& request, const json& metrics) {
  std::vector<GateResult> results;
  for (const auto& gate : request.gates) {
    auto r = evaluate_fail_if(gate, metrics);
    results.insert(results.end(), r.begin(), r.end());
  }
  for (const auto& rule : request.regression_rules) {
    auto r = check_regressions(rule, request.baseline["metrics"], metrics);
    results.insert(results.end(), r.begin(), r.end());
  }
  if (metrics.contains("batch_search")) {  // --batch auto: some size must fit the memory budget
    const auto& search = metrics["batch_search"];
    const auto best = search["best_batch"].get<int64_t>();
    const auto& first = search["tried"][0];
    results.push_back({"batch auto", "a batch fits under --max-memory", best > 0, static_cast<double>(best),
                       best > 0 ? fmt::format("best batch {}", best)
                                : fmt::format("batch 1 peaked at {:.0f} MB, over the budget of {:.0f} MB",
                                              first["peak_mb"].get<double>(), search["budget_mb"].get<double>())});
  }
  if (request.profile) {  // the figures only speak for the target if it deploys with the runtime measured
    const auto& runtimes = request.profile->runtimes;
    const bool deployed = std::count(runtimes.begin(), runtimes.end(), request.profile_runtime) > 0;
    results.push_back({"profile runtime", fmt::format("runtime in [{}]", fmt::join(runtimes, ", ")), deployed,
                       std::numeric_limits<double>::quiet_NaN(),
                       fmt::format("measured with {}; profile {} deploys with {}", request.profile_runtime, request.profile->name,
                                   fmt::join(runtimes, ", "))});
  }
  return results;
}

}  // namespace

BenchOutcome run_bench(const BenchRequest& request, Report& report, const BenchProgress& progress) {
  BenchOutcome outcome;
  outcome.metrics = measure(request, progress);
  report.add_input(request.model_path);
  if (!request.reference_path.empty()) report.add_input(request.reference_path);
  report.metrics() = outcome.metrics;
  report.details()["settings"] = {{"batches", request.batch_auto ? json("auto") : json(request.batches_asked)},
                                  {"max_memory", request.batch_auto ? json(request.max_memory) : json(nullptr)},
                                  {"op_profile", request.op_profile},
                                  {"soak", request.soak ? json(describe(*request.soak)) : json(nullptr)},
                                  {"threads", request.threads},
                                  {"warmup", request.warmup},
                                  {"stop_rule", describe(request.stop)},
                                  {"runtime", request.runtime},
                                  {"device", request.gpu ? request.gpu->device.str() : "cpu"},
                                  {"data", request.data.description}};
  if (request.profile) {
    const auto& profile = *request.profile;
    const bool on_host = runs_on_host(profile);
    report.details()["profile"] = {
        {"name", profile.name},
        {"target_architecture", profile.architecture},
        {"runtimes", profile.runtimes},
        {"runtime", request.profile_runtime},
        {"measured_on", on_host ? "host (same architecture as the target)" : "host, not the target"},
        {"budget_gates", budget_gates(profile)},
        {"judged_only_on_target", on_host ? json::array() : json(budget_gates(profile))}};
  }
  outcome.gates = judge(request, outcome.metrics);
  for (const auto& g : outcome.gates) report.add_gate(g.name, g.expression, g.passed, g.value, g.detail);
  return outcome;
}

}  // namespace mopt

#include "lib/bench/gpu_bench.h"

#include <ATen/Context.h>
#include <ATen/DeviceAccelerator.h>
#include <ATen/accelerator/Graph.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <fmt/format.h>

#include <optional>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/measure/gpu_monitor.h"
#include "lib/measure/latency_stats.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// Statistic arrays of the caching allocator are indexed by pool; 0 is all pools together.
constexpr size_t kAllPools = 0;

// One timed phase: each call's time is the GPU's, from a pair of events around it on `stream`.
TimedRun time_with_events(const std::function<void()>& call, const c10::Stream& stream, const StopRule& stop,
                          const std::function<void(int64_t, double)>& progress) {
  c10::Event start(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT);
  c10::Event end(c10::DeviceType::CUDA, c10::EventFlag::BACKEND_DEFAULT);
  std::vector<double> event_ms;
  auto timed_call = [&] {
    start.record(stream);
    call();
    end.record(stream);
    end.synchronize();
    event_ms.push_back(start.elapsedTime(end));
  };
  // The stop rule runs on the host's clock (launch and wait included); the samples reported are the events'.
  TimedRun run = run_timed(timed_call, 0, stop, progress);
  run.samples_ms = event_ms;
  return run;
}

json phase_json(const TimedRun& run, int64_t batch) {
  const auto stats = summarize_latencies(run.samples_ms);
  return {{"latency", latency_json(stats)},
          {"throughput", {{"inferences_per_s", 1000.0 / stats.mean_ms},
                          {"samples_per_s", 1000.0 * static_cast<double>(batch) / stats.mean_ms}}},
          {"stopped_by", run.stopped_by},
          {"elapsed_s", run.elapsed_s}};
}

}  // namespace

void apply_gpu_settings(const GpuSettings& gpu) {
  auto& context = at::globalContext();
  context.setBenchmarkCuDNN(gpu.cudnn_benchmark);
  const auto precision = gpu.tf32 ? at::Float32Precision::TF32 : at::Float32Precision::IEEE;
  for (auto op : {at::Float32Op::MATMUL, at::Float32Op::CONV, at::Float32Op::RNN}) {
    context.setFloat32Precision(at::Float32Backend::CUDA, op, precision);
  }
}

json gpu_row(const Model& model, const std::vector<torch::Tensor>& host_inputs, int64_t batch, const GpuSettings& gpu,
             int64_t warmup, const StopRule& stop, const std::function<void(int64_t, double)>& progress) {
  const auto index = gpu.device.index();
  c10::impl::VirtualGuardImpl guard_impl(c10::DeviceType::CUDA);
  // A stream of our own: CUDA graphs cannot be captured on the default stream.
  const c10::Stream stream = guard_impl.getStreamFromGlobalPool(gpu.device);
  c10::StreamGuard on_stream(stream);

  std::vector<torch::Tensor> pinned;
  std::vector<torch::Tensor> device_inputs;
  for (const auto& input : host_inputs) {
    pinned.push_back(input.contiguous().pin_memory());
    device_inputs.push_back(input.to(gpu.device));
  }
  // The allocator keeps what earlier rows reserved: release it, or their peak would be this row's.
  at::accelerator::synchronizeDevice(index);
  at::accelerator::emptyCache();
  at::accelerator::resetPeakStats(index);
  torch::Tensor device_output;
  // The JIT executor profiles and optimizes over its first calls: a graph captures the optimized one.
  const int64_t calls = std::max<int64_t>(warmup, gpu.cuda_graph ? 3 : 1);
  for (int64_t i = 0; i < calls; ++i) device_output = run_model(model, device_inputs);
  at::accelerator::synchronizeDevice(index);

  // The graph replays one call on the same input and output tensors: the copies fill and empty those.
  std::optional<at::accelerator::Graph> graph;
  if (gpu.cuda_graph) {
    device_output.reset();
    try {
      graph.emplace();
      graph->capture_begin();
      device_output = run_model(model, device_inputs);
      graph->capture_end();
    } catch (const std::exception& e) {
      throw invalid_input(fmt::format("the model cannot be captured in a CUDA graph (run without --cuda-graph): {}",
                                      short_torch_message(e.what())));
    }
    graph->replay();
    at::accelerator::synchronizeDevice(index);
  }
  auto compute = [&] {
    if (graph) {
      graph->replay();
    } else {
      device_output = run_model(model, device_inputs);
    }
  };
  auto host_output = torch::empty(device_output.sizes(), device_output.options().device(c10::kCPU).pinned_memory(true));
  auto with_copies = [&] {
    for (size_t i = 0; i < pinned.size(); ++i) device_inputs[i].copy_(pinned[i], /*non_blocking=*/true);
    compute();
    host_output.copy_(device_output, /*non_blocking=*/true);
  };

  GpuMonitor monitor(index);  // NVML's utilization and clocks over the timed calls
  monitor.start();
  const auto compute_run = time_with_events(compute, stream, stop, progress);
  monitor.stop();
  const auto copies_run = time_with_events(with_copies, stream, stop, progress);
  const auto stats = at::accelerator::getDeviceStats(index);
  const auto [free_bytes, total_bytes] = at::accelerator::getMemoryInfo(index);
  (void)free_bytes;

  json row = phase_json(compute_run, batch);
  row["batch"] = batch;
  row["device"] = gpu.device.str();
  row["cuda_graph"] = gpu.cuda_graph;
  row["with_copies"] = phase_json(copies_run, batch);
  row["stop_rule"] = describe(stop);
  row["samples_ms"] = compute_run.samples_ms;
  row["gpu_utilization"] = monitor.summary();
  row["memory"] = {{"gpu",
                    {{"peak_allocated_mb", static_cast<double>(stats.allocated_bytes[kAllPools].peak) / kMiB},
                     {"peak_reserved_mb", static_cast<double>(stats.reserved_bytes[kAllPools].peak) / kMiB},
                     {"total_mb", static_cast<double>(total_bytes) / kMiB}}}};
  return row;
}

}  // namespace mopt

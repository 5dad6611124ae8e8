// `mopt bench --device cuda`'s hints from a GPU row's own figures, and the NVML monitor where the
// driver is absent (CI): no samples, and the reason.

#include "lib/bench/gpu_hints.h"
#include "lib/bench/gpu_kernels.h"
#include "lib/measure/gpu_monitor.h"
#include "lib/model/graph_stats.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::contains;
using nlohmann::json;

namespace {

json gpu_row(double p50_ms, double with_copies_ms, json utilization, bool cuda_graph = false) {
  return {{"batch", 1},
          {"cuda_graph", cuda_graph},
          {"latency", {{"p50_ms", p50_ms}}},
          {"with_copies", {{"latency", {{"p50_ms", with_copies_ms}}}}},
          {"gpu_utilization", utilization}};
}

json busy(double percent) {
  return {{"available", true}, {"samples", 12}, {"gpu_percent", {{"mean", percent}, {"max", percent}}}};
}

std::vector<std::string> kinds(const std::vector<Hint>& hints) {
  std::vector<std::string> out;
  for (const auto& h : hints) out.push_back(h.kind);
  return out;
}

}  // namespace

TEST_SUITE("gpu-hints") {
  TEST_CASE("a busy GPU computing in fp16 with cheap copies gets no hint") {
    CHECK(gpu_hints(json::array({gpu_row(2.0, 2.5, busy(95))}), /*float32_model=*/false, /*tf32=*/false).empty());
  }

  TEST_CASE("an idle GPU is launch-bound, unless the call is a CUDA graph") {
    auto hints = gpu_hints(json::array({gpu_row(0.9, 1.0, busy(23))}), false, false);
    REQUIRE(kinds(hints) == std::vector<std::string>{"launch-bound"});
    CHECK(contains(hints[0].message, "kernels ran 23% of the time"));
    CHECK(contains(hints[0].message, "--cuda-graph"));
    CHECK(gpu_hints(json::array({gpu_row(0.9, 1.0, busy(23), /*cuda_graph=*/true)}), false, false).empty());
    // Without NVML there is no evidence, so no hint.
    CHECK(gpu_hints(json::array({gpu_row(0.9, 1.0, {{"available", false}, {"reason", "x"}})}), false, false).empty());
  }

  TEST_CASE("copies over half of the call with copies, with the figures") {
    auto hints = gpu_hints(json::array({gpu_row(1.0, 4.0, busy(90))}), false, false);
    REQUIRE(kinds(hints) == std::vector<std::string>{"copies"});
    CHECK(contains(hints[0].message, "75% of a call with copies (3.000 of 4.000 ms"));
    CHECK(hints[0].figures["copy_share"].get<double>() == doctest::Approx(0.75));
  }

  TEST_CASE("a float32 model without TF32 is told about fp16 once, whatever the rows") {
    const auto rows = json::array({gpu_row(2.0, 2.5, busy(95)), gpu_row(3.0, 3.5, busy(95))});
    CHECK(kinds(gpu_hints(rows, /*float32_model=*/true, /*tf32=*/false)) == std::vector<std::string>{"fp32-compute"});
    CHECK(gpu_hints(rows, true, /*tf32=*/true).empty());
  }

  TEST_CASE("weights by precision: float32 vs float16") {
    auto loaded = mopt::test::load_case("conv_bn");
    const auto fp32 = parameter_totals(loaded.model);
    CHECK(fp32.float32_bytes == fp32.bytes);
    CHECK(fp32.mostly_float32());
    torch::jit::Module half = loaded.model.torchscript().clone();
    half.to(torch::kHalf);
    const auto fp16 = parameter_totals(Model::from_torchscript(half));
    CHECK(fp16.half_bytes == fp16.bytes);
    CHECK_FALSE(fp16.mostly_float32());
  }

  TEST_CASE("without NVML the monitor samples nothing and says why") {
    GpuMonitor monitor(0, 5);
    monitor.start();
    monitor.stop();
    const auto summary = monitor.summary();
    if (summary["available"].get<bool>()) return;  // a machine with the NVIDIA driver
    CHECK(contains(summary["reason"].get<std::string>(), "NVML"));
  }
}

TEST_SUITE("gpu-hints") {
  TEST_CASE("kernel summary: busy time counts overlaps once, kernels ranked by time, launch-bound below 60%") {
    // Two calls of 1 ms each on the host; kernels: a 300 us conv and a 100 us copy overlapping it by 50 us.
    std::vector<GpuActivity> activities = {{"conv", 0, 300, 7, "aten::cudnn_convolution"},
                                           {"Memcpy HtoD", 250, 100, 8},
                                           {"conv", 1000, 300, 7, "aten::cudnn_convolution"},
                                           {"Memcpy HtoD", 1250, 100, 8}};
    const auto s = gpu_kernel_summary(activities, {1.0, 1.0});
    CHECK(s["gpu_ms_per_call"].get<double>() == doctest::Approx(0.35));
    CHECK(s["gpu_busy_share"].get<double>() == doctest::Approx(0.35));
    CHECK(s["launches_per_call"].get<double>() == doctest::Approx(2));
    CHECK(s["kernels"][0]["name"] == "conv");
    CHECK(s["kernels"][0]["share"].get<double>() == doctest::Approx(0.75));
    // GPU time by the op that launched it; copies the profiler linked to no op are "(unattributed)".
    REQUIRE(s["by_op"].size() == 2);
    CHECK(s["by_op"][0]["op"] == "aten::cudnn_convolution");
    CHECK(s["by_op"][0]["gpu_ms_per_call"].get<double>() == doctest::Approx(0.3));
    CHECK(s["by_op"][0]["launches_per_call"].get<double>() == doctest::Approx(1));
    CHECK(s["by_op"][1]["op"] == "(unattributed)");
    CHECK(s["by_op"][1]["share"].get<double>() == doctest::Approx(0.25));
    REQUIRE(s["hints"].size() == 1);
    CHECK(s["hints"][0]["kind"] == "launch-bound");
    CHECK(contains(s["hints"][0]["message"].get<std::string>(), "35% of each call"));
    // A busy GPU: no hint.
    CHECK(gpu_kernel_summary({{"gemm", 0, 900, 7}}, {1.0})["hints"].empty());
  }
}

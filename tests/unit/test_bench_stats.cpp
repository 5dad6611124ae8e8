// Measurement primitives of `mopt bench`: latency statistics, the timing loop, RSS figures, MACs.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "lib/eval/evaluate.h"
#include "lib/measure/latency_stats.h"
#include "lib/measure/memory.h"
#include "lib/measure/timed_run.h"
#include "lib/model/flops.h"
#include "lib/model/graph_stats.h"
#include "test_helpers.h"

using namespace mopt;

namespace {

std::vector<double> one_to(int n) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

// A cheap call whose cost does not vary much: a fixed amount of arithmetic the compiler cannot drop.
volatile double g_work_sink = 0;
void steady_work() {
  double acc = 0;
  for (int i = 0; i < 2000; ++i) acc += static_cast<double>(i) * 1e-9;
  g_work_sink = g_work_sink + acc;
}

}  // namespace

TEST_SUITE("bench-stats") {
  TEST_CASE("summary of an odd count: mean, sample std, interpolated percentiles") {
    // Shuffled on purpose: the summary must sort.
    auto s = summarize_latencies({5, 1, 4, 2, 3});
    CHECK(s.count == 5);
    CHECK(s.mean_ms == doctest::Approx(3));
    CHECK(s.std_ms == doctest::Approx(std::sqrt(2.5)));  // sum of squares 10 over n-1 = 4
    CHECK(s.cv == doctest::Approx(std::sqrt(2.5) / 3));
    CHECK(s.min_ms == 1);
    CHECK(s.max_ms == 5);
    CHECK(s.p50_ms == doctest::Approx(3));
    CHECK(s.p90_ms == doctest::Approx(4.6));   // position 0.9 * 4 = 3.6
    CHECK(s.p95_ms == doctest::Approx(4.8));
    CHECK(s.p99_ms == doctest::Approx(4.96));
  }

  TEST_CASE("summary of an even count interpolates the median") {
    auto s = summarize_latencies({4, 3, 2, 1});
    CHECK(s.mean_ms == doctest::Approx(2.5));
    CHECK(s.std_ms == doctest::Approx(std::sqrt(5.0 / 3.0)));
    CHECK(s.p50_ms == doctest::Approx(2.5));
    CHECK(s.p90_ms == doctest::Approx(3.7));  // position 0.9 * 3 = 2.7
    CHECK(s.p99_ms == doctest::Approx(3.97));
  }

  TEST_CASE("one sample: everything is that sample, std and cv are 0") {
    auto s = summarize_latencies({7.5});
    CHECK(s.count == 1);
    CHECK(s.std_ms == 0);
    CHECK(s.cv == 0);
    CHECK(s.p99_ms == 7.5);
    CHECK(s.p50_ci_low_ms == 7.5);
    CHECK(s.p50_ci_high_ms == 7.5);
  }

  TEST_CASE("median CI comes from order statistics and narrows as n grows") {
    // n = 100: ranks floor(50 - 9.8) = 40 and ceil(51 + 9.8) = 61 (the textbook table values).
    auto s100 = summarize_latencies(one_to(100));
    CHECK(s100.p50_ci_low_ms == 40);
    CHECK(s100.p50_ci_high_ms == 61);
    // n = 10: ranks floor(5 - 3.1) = 1 and ceil(6 + 3.1) = 10: the whole range.
    auto s10 = summarize_latencies(one_to(10));
    CHECK(s10.p50_ci_low_ms == 1);
    CHECK(s10.p50_ci_high_ms == 10);
    for (int n : {2, 3, 10, 11, 100, 101, 1000}) {
      auto s = summarize_latencies(one_to(n));
      CAPTURE(n);
      CHECK(s.p50_ci_low_ms <= s.p50_ms);
      CHECK(s.p50_ci_high_ms >= s.p50_ms);
      CHECK(s.p50_ci_low_ms >= s.min_ms);
      CHECK(s.p50_ci_high_ms <= s.max_ms);
    }
    // Relative to the spread of the data, the interval shrinks like 1/sqrt(n).
    auto width = [](int n) {
      auto s = summarize_latencies(one_to(n));
      return (s.p50_ci_high_ms - s.p50_ci_low_ms) / n;
    };
    CHECK(width(100) < width(10));
    CHECK(width(1000) < width(100));
    CHECK(width(10000) < 0.03);
  }

  TEST_CASE("no samples or non-finite samples are a runtime failure") {
    CHECK(test::thrown_code([] { summarize_latencies({}); }) == 1);
    CHECK(test::thrown_code([] { summarize_latencies({1.0, std::nan("")}); }) == 1);
  }

  TEST_CASE("latency_json has every key and the CI as a pair") {
    auto j = latency_json(summarize_latencies({1, 2, 3}));
    for (const char* key : {"count", "mean_ms", "std_ms", "min_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "cv",
                            "p50_ci95_ms"}) {
      CAPTURE(key);
      CHECK(j.contains(key));
    }
    CHECK(j.size() == 11);
    CHECK(j["count"] == 3);
    REQUIRE(j["p50_ci95_ms"].is_array());
    CHECK(j["p50_ci95_ms"].size() == 2);
    CHECK(j["p50_ms"].get<double>() == doctest::Approx(2));
  }

  TEST_CASE("describe names the rule the way the CLI spells it") {
    StopRule iterations;
    CHECK(describe(iterations) == "iterations=100");
    StopRule min_time;
    min_time.kind = StopRule::Kind::kMinTime;
    min_time.min_time_s = 2;
    CHECK(describe(min_time) == "min-time=2s");
    StopRule target;
    target.kind = StopRule::Kind::kTargetCv;
    target.target_cv = 0.05;
    CHECK(describe(target) == "target-cv=0.05 (max-time 60s)");
  }

  TEST_CASE("iterations rule: exact count of timed calls, warm-up excluded") {
    int64_t calls = 0;
    StopRule rule;
    rule.iterations = 37;
    auto run = run_timed([&] { ++calls; }, 5, rule);
    CHECK(calls == 42);
    CHECK(run.samples_ms.size() == 37);
    CHECK(run.stopped_by == "iterations");
    CHECK(run.elapsed_s >= 0);
    for (double s : run.samples_ms) CHECK(s >= 0);
  }

  TEST_CASE("samples measure the call") {
    StopRule rule;
    rule.iterations = 3;
    auto run = run_timed([] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }, 0, rule);
    // Sleeping never returns early; no upper bound is asserted (shared machines are noisy).
    for (double s : run.samples_ms) CHECK(s >= 5.0);
    double total_ms = 0;
    for (double s : run.samples_ms) total_ms += s;
    CHECK(run.elapsed_s * 1000 == doctest::Approx(total_ms).epsilon(1e-6));
  }

  TEST_CASE("min-time rule samples at least that long and at least min-iterations") {
    StopRule rule;
    rule.kind = StopRule::Kind::kMinTime;
    rule.min_time_s = 0.1;
    rule.min_iterations = 20;
    int64_t progress_calls = 0;
    int64_t last_done = 0;
    auto run = run_timed(steady_work, 3, rule, [&](int64_t done, double) {
      ++progress_calls;
      last_done = done;
    });
    CHECK(run.stopped_by == "min-time");
    CHECK(run.elapsed_s >= 0.1);
    CHECK(run.samples_ms.size() >= 20);
    CHECK(progress_calls >= 1);
    CHECK(last_done == static_cast<int64_t>(run.samples_ms.size()));
  }

  TEST_CASE("min-iterations wins over a short min-time") {
    StopRule rule;
    rule.kind = StopRule::Kind::kMinTime;
    rule.min_time_s = 1e-9;
    rule.min_iterations = 50;
    auto run = run_timed([] {}, 0, rule);
    CHECK(run.samples_ms.size() == 50);
    CHECK(run.stopped_by == "min-time");
  }

  TEST_CASE("target-cv rule stops once samples are stable") {
    StopRule rule;
    rule.kind = StopRule::Kind::kTargetCv;
    // Generous: sleeping 1 ms is stable to far better than 100% even on a loaded machine, where a
    // few 20-50 ms preemptions among the first samples once kept CV above 0.5 for the 5 s it had.
    rule.target_cv = 1.0;
    rule.max_time_s = 30;
    rule.min_iterations = 10;
    auto run = run_timed([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); }, 2, rule);
    CHECK(run.samples_ms.size() >= 10);
    REQUIRE(run.stopped_by == "target-cv");
    CHECK(summarize_latencies(run.samples_ms).cv < 1.0);
  }

  TEST_CASE("target-cv rule gives up at max-time when the samples never settle") {
    StopRule rule;
    rule.kind = StopRule::Kind::kTargetCv;
    rule.target_cv = 1e-12;  // unreachable
    rule.max_time_s = 0.05;
    auto run = run_timed(steady_work, 0, rule);
    CHECK(run.stopped_by == "max-time");
    CHECK(run.elapsed_s >= 0.05);
    CHECK(g_work_sink > 0);
  }

  TEST_CASE("a stop rule that cannot stop is a usage error") {
    StopRule zero;
    zero.iterations = 0;
    CHECK(test::thrown_code([&] { run_timed([] {}, 0, zero); }) == 2);
    StopRule no_time;
    no_time.kind = StopRule::Kind::kMinTime;
    CHECK(test::thrown_code([&] { run_timed([] {}, 0, no_time); }) == 2);
    StopRule no_target;
    no_target.kind = StopRule::Kind::kTargetCv;
    CHECK(test::thrown_code([&] { run_timed([] {}, 0, no_target); }) == 2);
    CHECK(test::thrown_code([&] { run_timed([] {}, -1, StopRule{}); }) == 2);
  }

  TEST_CASE("touching 200 MB raises the peak RSS by about that much") {
    const double before = current_rss_mb();
    REQUIRE(before > 0);
    const bool reset = reset_peak_rss();
    constexpr size_t kBytes = size_t{200} << 20;
    double peak_with_block = 0;
    {
      std::vector<unsigned char> block(kBytes);
      std::memset(block.data(), 1, block.size());  // untouched pages would not be resident
      CHECK(current_rss_mb() >= before + 150);
      peak_with_block = peak_rss_mb();
      CHECK(peak_with_block >= before + 150);
      CHECK(block[kBytes / 2] == 1);
    }
    // Without a reset the peak keeps the block; after one it falls back (the block is unmapped).
    // AddressSanitizer's allocator quarantines freed memory instead of unmapping it: no fall there.
    if (reset && reset_peak_rss() && !kAddressSanitizer) CHECK(peak_rss_mb() < peak_with_block - 100);
    MESSAGE(fmt::format("rss before {:.1f} MiB, peak with block {:.1f} MiB, peak reset permitted: {}", before,
                        peak_with_block, reset));
  }
}

TEST_SUITE("flops") {
  TEST_CASE("MLP 784-256-128-10, batch 4: exact MACs") {
    auto model = Model::load(test::fixture("mlp.pt"));
    auto count = count_macs(model, {torch::randn({4, 784})});
    CHECK(count.complete);
    CHECK(count.layers == 3);
    CHECK(count.macs == 4 * (784 * 256 + 256 * 128 + 128 * 10));  // 938,496
    // Batch scales the count linearly.
    CHECK(count_macs(model, {torch::randn({1, 784})}).macs == count.macs / 4);
  }

  TEST_CASE("Fashion-MNIST CNN: MACs by hand from its architecture") {
    auto model = Model::load(test::committed("fashion_cnn.pt"));
    auto count = count_macs(model, {torch::randn({1, 1, 28, 28})});
    // conv1 28x28x32 outputs x (1*3*3) + conv2 14x14x64 x (32*3*3) + fc1 128 x 3136 + fc2 10 x 128
    const int64_t expected = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 128 * 3136 + 10 * 128;  // 4,241,152
    CHECK(count.complete);
    CHECK(count.layers == 4);
    CHECK(count.macs == expected);
  }

  TEST_CASE("ResNet-18 at 224x224: 1.814 GMACs") {
    auto model = Model::load(test::fixture("resnet18.pt"));
    auto count = count_macs(model, {torch::randn({1, 3, 224, 224})});
    CHECK(count.complete);
    CHECK(count.layers == 21);  // 20 convs (incl. 3 downsample) + fc
    // Conv and fc layers of torchvision's resnet18, computed layer by layer.
    CHECK(count.macs == 1814073344);
    MESSAGE(fmt::format("resnet18 MACs: {}", count.macs));
  }

  TEST_CASE("MobileNetV2 at 224x224: 0.30 GMACs (depthwise convs count C_in/groups)") {
    auto model = Model::load(test::fixture("mobilenet_v2.pt"));
    auto count = count_macs(model, {torch::randn({1, 3, 224, 224})});
    CHECK(count.complete);
    CHECK(count.layers == 53);  // 52 convs + classifier
    CHECK(count.macs == 300774272);
    MESSAGE(fmt::format("mobilenet_v2 MACs: {}", count.macs));
  }

  TEST_CASE("counting leaves the model untouched and survives freezing and optimize-for-inference") {
    auto model = Model::load(test::fixture("conv_bn.pt"));
    auto input = torch::randn({2, 3, 16, 16});
    const auto before = count_macs(model, {input});
    CHECK(before.complete);
    CHECK(before.macs > 0);
    CHECK(model.torchscript().is_training() == Model::load(test::fixture("conv_bn.pt")).torchscript().is_training());
    auto frozen = test::run_text(model, "freeze").model;
    CHECK(count_macs(frozen, {input}).macs == before.macs);
    auto optimized = test::run_text(model, "optimize-for-inference").model;
    auto after = count_macs(optimized, {input});
    MESSAGE(fmt::format("conv_bn MACs {} (optimized: {}, complete {})", before.macs, after.macs, after.complete));
    CHECK(after.complete);
    CHECK(after.macs == before.macs);
    // oneDNN's prim::mkldnn_convolution counts like aten::conv2d, in memory and loaded from a file.
    auto onednn = test::run_text(model, "optimize-for-inference{mkldnn=true}").model;
    CHECK(count_macs(onednn, {input}).macs == before.macs);
    CHECK(count_macs(onednn.reloaded(), {input}).macs == before.macs);
  }

  TEST_CASE("a ResNet-18 compiled to oneDNN layouts and saved counts the same MACs") {
    auto model = Model::load(test::fixture("resnet18.pt"));
    auto input = torch::randn({1, 3, 224, 224});
    const auto before = count_macs(model, {input});
    auto onednn = test::run_text(model, "remove-dropout,fold-conv-bn,freeze,optimize-for-inference{mkldnn=true}").model;
    auto loaded = onednn.reloaded();
    run_model(loaded, input);  // as a benchmark run does first
    auto after = count_macs(loaded, {input});
    MESSAGE(fmt::format("resnet18 MACs {} -> {} (complete {})", before.macs, after.macs, after.complete));
    CHECK(after.complete);
    CHECK(after.macs == before.macs);
    // Its weights are oneDNN tensor attributes now, still counted: BatchNorm's scales and shifts of
    // 4800 channels became 4800 conv biases.
    const int64_t parameters = parameter_totals(model).count;
    CHECK(parameter_totals(onednn).count == parameters - 4800);
    CHECK(parameter_totals(loaded).count == parameters - 4800);
  }

  TEST_CASE("transformer: fused encoder layers are counted") {
    auto model = Model::load(test::fixture("transformer.pt"));
    auto count = count_macs(model, {torch::randn({1, 16, 64})});
    MESSAGE(fmt::format("transformer MACs {} over {} ops, complete {}", count.macs, count.layers, count.complete));
    // Per layer: qkv 16x64x192 + scores 16x16x64 + context 16x16x64 + out 16x64x64 + ff 2x16x64x128.
    // In eval mode LibTorch runs each layer as one fused aten::_transformer_encoder_layer_fwd.
    CHECK(count.complete);
    CHECK(count.macs == 2 * (16 * 64 * 192 + 2 * 16 * 16 * 64 + 16 * 64 * 64 + 2 * 16 * 64 * 128));  // 1,114,112
  }

  TEST_CASE("ONNX models are not counted; a wrong input is invalid input") {
    auto onnx = Model::load(test::fixture("mlp.onnx"));
    auto count = count_macs(onnx, {torch::randn({4, 784})});
    CHECK_FALSE(count.complete);
    CHECK(count.macs == 0);
    auto mlp = Model::load(test::fixture("mlp.pt"));
    CHECK(test::thrown_code([&] { count_macs(mlp, {torch::randn({4, 100})}); }) == 4);
  }
}

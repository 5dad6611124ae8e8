// `mopt bench --op-profile` and resource monitoring: record linking, per-layer and per-op tables,
// hints, the Chrome trace, CPU/RSS sampling and soak windows. Behaviour only, never wall-clock figures.
#include <fmt/format.h>
#include <torch/csrc/profiler/orchestration/observer.h>

#include <set>

#include "lib/bench/bottleneck_hints.h"
#include "lib/bench/chrome_trace.h"
#include "lib/bench/op_profile.h"
#include "lib/bench/op_profile_summary.h"
#include "lib/bench/ort_profile.h"
#include "lib/eval/evaluate.h"
#include "lib/measure/resource_monitor.h"
#include "lib/measure/scope_recorder.h"
#include "lib/measure/soak.h"
#include "test_helpers.h"

using namespace mopt;

namespace {

// Synthetic records on one thread, in call order; sequence numbers follow the order of creation.
struct Recorder {
  std::vector<ProfiledEvent> events;
  uint64_t next = 1;
  ProfiledEvent& add(const std::string& name, int64_t start, int64_t duration, bool op = true,
                     std::vector<std::string> path = {}, std::string type = "", std::vector<std::string> dtypes = {"float"}) {
    ProfiledEvent e;
    e.name = name;
    e.start_us = start;
    e.duration_us = duration;
    e.sequence = next++;
    e.is_op = op;
    e.is_marker = name == kIterationMarker;
    if (e.is_marker) e.is_op = false;
    e.module_path = std::move(path);
    e.module_type = std::move(type);
    e.dtypes = std::move(dtypes);
    e.shapes = {{1, 8}};
    events.push_back(e);
    return events.back();
  }
};

// Two iterations of: conv (with a nested kernel) in layer "a.0", relu in "a.1", linear at the top.
std::vector<ProfiledEvent> two_iterations() {
  Recorder r;
  for (int it = 0; it < 2; ++it) {
    const int64_t t = it * 100;
    r.add(kIterationMarker, t, 50, false);
    r.add("forward", t + 1, 48, false);
    r.add("aten::conv2d", t + 2, 20, true, {"a", "0"}, "Conv2d");
    r.add("aten::_convolution", t + 3, 15, true, {"a", "0"}, "Conv2d");
    r.add("aten::relu", t + 22, 5, true, {"a", "1"}, "ReLU");  // starts exactly where conv2d ends: a sibling
    r.add("aten::linear", t + 30, 10 + it * 2, true, {}, "Net");
  }
  link_events(r.events);
  return r.events;
}

bool has_hint(const std::vector<Hint>& hints, const std::string& kind) {
  for (const auto& h : hints) {
    if (h.kind == kind) return true;
  }
  return false;
}

volatile double g_sink = 0;
void busy(int n) {
  double acc = 0;
  for (int i = 0; i < n; ++i) acc += static_cast<double>(i) * 1e-9;
  g_sink = g_sink + acc;
}

}  // namespace

TEST_SUITE("op-profile") {
  TEST_CASE("module hierarchy entries become an instance path and a class") {
    std::vector<std::string> path;
    std::string type;
    parse_module_hierarchy({"TOP(FashionCNN)::forward", "features(Sequential)::forward", "0(Conv2d)::forward",
                            "SELF(Conv2d)::_conv_forward"},
                           path, type);
    CHECK(path == std::vector<std::string>{"features", "0"});
    CHECK(type == "Conv2d");
    parse_module_hierarchy({"TOP(Net)::forward", "3(Block)::forward", "::relu"}, path, type);
    CHECK(module_path_text(path) == "3");
    CHECK(type == "Block");
    parse_module_hierarchy({"TOP(Net)::forward"}, path, type);
    CHECK(path.empty());
    CHECK(type == "Net");
  }

  TEST_CASE("linking: parents from call order and times, iterations from the markers") {
    auto events = two_iterations();
    REQUIRE(events.size() == 12);
    CHECK(events[0].is_marker);
    CHECK(events[0].iteration == 0);
    CHECK(events[1].parent == 0);               // forward inside the marker
    CHECK(events[2].parent == 1);               // conv2d inside forward
    CHECK(events[3].parent == 2);               // the kernel inside conv2d
    CHECK(events[4].parent == 1);               // relu starts at conv2d's end: a sibling, not a child
    CHECK(events[5].parent == 1);
    CHECK(events[6].iteration == 1);
    CHECK(events[11].iteration == 1);

    // A call's last op starting in its marker's last microsecond stays in that iteration; the next
    // marker starting there does not nest.
    Recorder r;
    r.add(kIterationMarker, 0, 10, false);
    r.add("aten::dequantize", 10, 0, true);
    r.add(kIterationMarker, 10, 10, false);
    link_events(r.events);
    CHECK(r.events[1].parent == 0);
    CHECK(r.events[1].iteration == 0);
    CHECK(r.events[2].parent == -1);
    CHECK(r.events[2].iteration == 1);
  }

  TEST_CASE("summary: layers hold top-level op time only, op kinds split self from total") {
    auto s = summarize_profile(two_iterations());
    CHECK(s.iterations == 2);
    CHECK(s.op_total_ms == doctest::Approx((20 + 5 + 11) / 1000.0));  // linear: 10 and 12 us
    CHECK(s.marked_ms == doctest::Approx(0.050));
    REQUIRE(s.layers.size() == 3);
    CHECK(s.layers[0].path == "a.0");           // the largest first
    CHECK(s.layers[0].type == "Conv2d");
    CHECK(s.layers[0].total_ms == doctest::Approx(0.020));
    CHECK(s.layers[0].calls == doctest::Approx(1.0));
    CHECK(s.layers[0].ops == std::vector<std::string>{"aten::conv2d"});
    CHECK(s.layers[1].path == "");              // the top level
    CHECK(s.layers[1].p50_ms == doctest::Approx(0.011));
    CHECK(s.layers[1].p99_ms == doctest::Approx(0.01198));
    double layers = 0, shares = 0;
    for (const auto& l : s.layers) layers += l.total_ms;
    CHECK(layers == doctest::Approx(s.op_total_ms));
    for (const auto& o : s.ops) shares += o.share;
    CHECK(shares == doctest::Approx(1.0));
    for (const auto& o : s.ops) {
      if (o.name == "aten::conv2d") {
        CHECK(o.total_ms == doctest::Approx(0.020));
        CHECK(o.self_ms == doctest::Approx(0.005));
      }
    }
    auto j = summary_json(s);
    CHECK(j["layers"][1]["layer"] == "(top level)");
    CHECK(j["ops"].size() == 4);
  }

  TEST_CASE("hints: top layers always; INT8 boundaries and fp32 ops when the model is quantized") {
    auto fp32 = two_iterations();
    auto hints = bottleneck_hints(summarize_profile(fp32), fp32, 1000);
    CHECK(has_hint(hints, "top-layers"));
    CHECK_FALSE(has_hint(hints, "quantize-boundaries"));
    CHECK_FALSE(has_hint(hints, "fp32-in-int8"));

    Recorder r;
    r.add(kIterationMarker, 0, 100, false);
    r.add("aten::quantize_per_tensor", 1, 10, true, {"quant"}, "QuantStub");
    r.add("quantized::conv2d", 12, 30, true, {"conv"}, "Conv2d", {"QUInt8"});
    r.add("aten::dequantize", 43, 10, true, {"dequant"}, "DeQuantStub", {"QUInt8"});
    r.add("aten::hardswish", 54, 20, true, {"act"}, "Hardswish");
    link_events(r.events);
    auto s = summarize_profile(r.events);
    hints = bottleneck_hints(s, r.events, 0);
    REQUIRE(has_hint(hints, "quantize-boundaries"));
    REQUIRE(has_hint(hints, "fp32-in-int8"));
    for (const auto& h : hints) {
      if (h.kind == "quantize-boundaries") {
        CHECK(h.figures["quantize_calls"].get<double>() == 1.0);
        CHECK(h.figures["dequantize_calls"].get<double>() == 1.0);
        CHECK(h.figures["share"].get<double>() == doctest::Approx(20.0 / 70.0));
      }
      if (h.kind == "fp32-in-int8") {
        CHECK(h.figures["calls"].get<double>() == 1.0);  // hardswish; quantize itself is a boundary
        CHECK(h.message.find("act (aten::hardswish)") != std::string::npos);
      }
    }
  }

  TEST_CASE("ONNX Runtime trace: warm-up runs skipped, kernels assigned to their run, shapes and dtypes read") {
    auto node = [](const std::string& name, const std::string& op, int64_t ts, int64_t dur, const std::string& dtype) {
      return nlohmann::json{{"cat", "Node"}, {"name", name + "_kernel_time"}, {"ts", ts}, {"dur", dur}, {"tid", 7},
                            {"args", {{"op_name", op}, {"input_type_shape", {{{dtype, {1, 3, 8, 8}}}, {{"int8", {4, 3, 3, 3}}}}}}}};
    };
    auto run = [](int64_t ts, int64_t dur) {
      return nlohmann::json{{"cat", "Session"}, {"name", "model_run"}, {"ts", ts}, {"dur", dur}, {"tid", 7}};
    };
    nlohmann::json trace = nlohmann::json::array({run(0, 100), node("/conv/Conv", "QLinearConv", 10, 50, "uint8"),
                                                  run(200, 100), node("/conv/Conv", "QLinearConv", 210, 40, "uint8"),
                                                  node("out_DequantizeLinear", "DequantizeLinear", 260, 20, "uint8"),
                                                  run(400, 100), node("/conv/Conv", "QLinearConv", 410, 60, "uint8"),
                                                  node("/fc/Gemm", "Gemm", 480, 10, "float")});
    auto events = events_from_ort_trace(trace, 1);  // the first run was a warm-up
    auto s = summarize_profile(events);
    CHECK(s.iterations == 2);
    CHECK(s.op_total_ms == doctest::Approx((40 + 20 + 60 + 10) / 2.0 / 1000.0));
    REQUIRE(s.layers.size() == 3);
    CHECK(s.layers[0].path == "/conv/Conv");
    CHECK(s.layers[0].total_ms == doctest::Approx(0.05));
    CHECK(s.layers[0].input_shapes == "1x3x8x8, 4x3x3x3");
    for (const auto& e : events) {
      if (e.is_op && e.name == "QLinearConv") CHECK(e.dtypes == std::vector<std::string>{"uint8", "int8"});
    }
    auto hints = bottleneck_hints(s, events, 0);
    CHECK(has_hint(hints, "quantize-boundaries"));  // DequantizeLinear
    CHECK(has_hint(hints, "fp32-in-int8"));         // the fp32 Gemm beside QLinearConv
    CHECK(events_from_ort_trace(trace, 3).empty());  // every run a warm-up: nothing to report
  }

  TEST_CASE("chrome trace: one event per op per iteration, module spans, children inside parents") {
    auto events = two_iterations();
    auto trace = chrome_trace(events, 1);
    std::map<std::string, int> by_cat;
    std::map<std::string, int> ops;
    for (const auto& e : trace["traceEvents"]) {
      CHECK(e["ph"] == "X");
      by_cat[e["cat"].get<std::string>()]++;
      if (e["cat"] == "cpu_op") ops[e["name"].get<std::string>()]++;
    }
    CHECK(by_cat["iteration"] == 1);
    CHECK(by_cat["cpu_op"] == 4);
    CHECK(ops["aten::conv2d"] == 1);
    CHECK(by_cat["module"] == 3);  // a, a.0, a.1 (the linear runs at the top level)
    CHECK(chrome_trace(events, 2)["traceEvents"].size() == 2 * trace["traceEvents"].size());
  }

  TEST_CASE("scope recorder: every scope on this thread in call order, children inside their parents") {
    std::vector<RecordedScope> records;
    {
      ScopeRecorder recorder;
      CHECK_THROWS_AS(ScopeRecorder(), Error);  // one per thread
      {
        RECORD_USER_SCOPE("outer");
        auto sum = torch::ones({4}) + torch::ones({4});
        CHECK(sum.sum().item<float>() == 8);
      }
      records = recorder.stop();
    }
    REQUIRE(records.size() >= 3);
    CHECK(records[0].name == "outer");
    CHECK(records[0].scope == at::RecordScope::USER_SCOPE);
    std::set<std::string> ops;
    for (size_t i = 1; i < records.size(); ++i) {
      ops.insert(records[i].name);
      CHECK(records[i].start_ns >= records[i - 1].start_ns);
      CHECK(records[i].start_ns >= records[0].start_ns);
      CHECK(records[i].end_ns <= records[0].end_ns);
      CHECK(records[i].end_ns >= records[i].start_ns);
    }
    CHECK(ops.count("aten::ones"));
    CHECK(ops.count("aten::add"));
    // Stopped: nothing more is recorded, and a new recorder may start.
    { RECORD_USER_SCOPE("after"); }
    ScopeRecorder next;
    CHECK(next.stop().empty());
  }

  TEST_CASE("LibTorch capture of the Fashion-MNIST CNN names its conv and linear layers") {
    auto model = Model::load(test::committed("fashion_cnn.pt"));
    auto input = torch::rand({1, 1, 28, 28});
    for (int i = 0; i < 3; ++i) run_model(model, input);
    auto capture = capture_op_profile([&] { run_model(model, input); }, 4);
    CHECK(capture.iteration_ms.size() == 4);
    auto s = summarize_profile(capture.events);
    CHECK(s.iterations == 4);
    std::map<std::string, std::string> types;
    double layers = 0;
    for (const auto& l : s.layers) {
      types[l.path] = l.type;
      layers += l.total_ms;
    }
    CHECK(types["features.0"] == "Conv2d");
    CHECK(types["features.4"] == "Conv2d");
    CHECK(types["classifier.2"] == "Linear");
    CHECK(types["classifier.5"] == "Linear");
    CHECK(s.op_total_ms > 0);
    CHECK(std::abs(layers - s.op_total_ms) <= 0.1 * s.op_total_ms);
    // Every iteration ran the same top-level ops.
    auto trace = chrome_trace(capture.events, 4);
    std::map<int, int> convs;
    for (const auto& e : trace["traceEvents"]) {
      if (e["cat"] == "cpu_op" && e["name"] == "aten::conv2d") convs[e["args"]["iteration"].get<int>()]++;
    }
    CHECK(convs == std::map<int, int>{{0, 2}, {1, 2}, {2, 2}, {3, 2}});
  }

  TEST_CASE("the profiler's flop-counting warnings are dropped; the model's own warnings pass") {
    struct Recording : c10::WarningHandler {
      std::vector<std::string> messages;
      void process(const c10::Warning& warning) override { messages.push_back(warning.msg()); }
    } recording;
    c10::WarningUtils::WarningHandlerGuard guard(&recording);
    auto model = Model::load(test::committed("fashion_cnn.pt"));
    auto input = torch::rand({1, 1, 28, 28});
    capture_op_profile([&] {
      run_model(model, input);
      // What LibTorch's profiler says, while it runs, of ops it cannot count (MaxViT's int and str arithmetic).
      if (torch::profiler::impl::profilerEnabled()) {
        TORCH_WARN("Failed to save extra arguments for flops compuation of op aten::mul, input[0] must be a tensor.");
      }
      TORCH_WARN("the model's own warning");
    }, 2);
    CAPTURE(fmt::format("{}", fmt::join(recording.messages, " | ")));
    CHECK(recording.messages.size() >= 2);
    for (const auto& message : recording.messages) CHECK(message == "the model's own warning");
  }
}

TEST_SUITE("resource-monitor") {
  TEST_CASE("a busy phase uses CPU; RSS is sampled with first-inference and end figures") {
    ResourceMonitor monitor(5);
    monitor.start();
    busy(1000);
    monitor.mark_first_inference();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(60);
    while (std::chrono::steady_clock::now() < until) busy(10000);
    monitor.stop();
    CHECK(monitor.cpu().wall_s > 0);
    CHECK(monitor.cpu().percent_one_core() > 0);
    CHECK(monitor.cpu().percent_all_cores() == doctest::Approx(monitor.cpu().percent_one_core() / monitor.cpu().logical_cores));
    CHECK(monitor.rss().samples.size() >= 2);
    CHECK(monitor.rss().first_inference_mb > 0);
    CHECK(monitor.rss().peak_mb() >= monitor.rss().mean_mb());
    auto j = rss_json(monitor.rss(), 5);
    CHECK(j["samples"].size() <= 51);
    CHECK(j["end_mb"].get<double>() > 0);
  }

  TEST_CASE("soak: windows, drift and the duration stop") {
    SoakSettings s{0.3, 0, 0.1};
    auto soak = run_soak([] { busy(20000); }, 2, s);
    CHECK(soak.run.stopped_by == "duration");
    CHECK(soak.windows.size() == 3);
    size_t in_windows = 0;
    for (size_t w = 0; w < soak.windows.size(); ++w) {
      in_windows += soak.windows[w].count();
      if (w > 0) CHECK(soak.windows[w].begin == soak.windows[w - 1].end);
    }
    CHECK(in_windows == soak.run.samples_ms.size());
    auto j = soak_json(soak);
    CHECK(j.contains("drift"));
    CHECK(j["windows"].size() == 3);
    CHECK(j["rss_growth_flagged"].is_boolean());
    CHECK(describe(s) == "duration=0.3s rate=max window=0.1s");

    // Paced: at 50 calls/s for 0.2 s a fast call runs about 10 times, never hundreds.
    auto paced = run_soak([] { busy(100); }, 0, SoakSettings{0.2, 50, 0});
    CHECK(paced.run.samples_ms.size() <= 11);
    CHECK(paced.windows.size() == static_cast<size_t>(kDefaultWindows));
    CHECK_THROWS_AS(run_soak([] {}, 0, SoakSettings{0, 0, 0}), Error);
    CHECK_THROWS_AS(run_soak([] {}, 0, SoakSettings{1, 0, 2}), Error);
  }
}

// Device profiles: every shipped profile validates and loads; bad files fail with the field and
// its line; budgets become bench gates; host matching. Bad/custom files: tests/fixtures/profiles.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

#include "lib/measure/cpu_info.h"
#include "lib/measure/gates.h"
#include "lib/pipeline/pipeline.h"
#include "lib/profiles/profile.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::committed;
using mopt::test::contains;
using mopt::test::thrown_code;
using mopt::test::thrown_message;

namespace {

std::string fixture_profile(const std::string& name) { return committed("profiles/" + name + ".json").string(); }

// The one error validate_profile_file reports for a fixture.
std::string only_error(const std::string& fixture) {
  auto errors = validate_profile_file(fixture_profile(fixture));
  INFO("fixture ", fixture, ": ", errors.size(), " errors");
  REQUIRE(errors.size() == 1);
  return errors.front();
}

const std::vector<std::string> kShipped = {"android-arm64", "datacenter-gpu", "edge-iot",       "jetson-nano",       "jetson-orin",
                                           "mcu",           "raspberry-pi-4", "x86-64-avx2", "x86-64-avx512-vnni"};

}  // namespace

TEST_SUITE("profiles") {
  TEST_CASE("the shipped profiles validate, load, and are named after their files") {
    CHECK(shipped_profile_names() == kShipped);
    auto profiles = shipped_profiles();
    REQUIRE(profiles.size() == kShipped.size());
    const std::set<std::string> allowed_passes = {"freeze", "fold-conv-bn", "remove-dropout", "optimize-for-inference",
                                                  "eliminate-dead-code", "optimize-for-mobile", "fuse-add-relu", "channels-last",
                                                  "prepack-lstm", "compute-fp16"};
    static const PassRegistry registry = make_default_registry();
    for (const auto& p : profiles) {
      INFO("profile ", p.name);
      CHECK(validate_profile_file(p.source).empty());
      CHECK(p.source.stem().string() == p.name);
      CHECK(p.threads <= p.cores);
      CHECK(!p.description.empty());
      for (const auto& step : parse_pipeline(p.compile_pipeline).steps) CHECK(allowed_passes.count(step.name) == 1);
      CHECK_NOTHROW(validate_pipeline(parse_pipeline(p.compile_pipeline), registry));
      if (p.device == "cuda") {  // GPUs: fp16 compute, channels-last, no CPU kernels' passes
        CHECK(p.precision == "fp16");
        CHECK(p.artifact_format == "pt");
        CHECK(p.compile_pipeline == "remove-dropout,fold-conv-bn,freeze,channels-last,compute-fp16");
      } else if (p.architecture == "x86_64") {
        CHECK(p.quantized_engine == "onednn");
        CHECK(p.compile_pipeline ==
              "remove-dropout,fold-conv-bn,freeze,channels-last,optimize-for-inference{mkldnn=true},prepack-lstm");
      } else {
        CHECK(p.quantized_engine == "qnnpack");
        CHECK(p.compile_pipeline == "remove-dropout,fold-conv-bn,freeze,optimize-for-mobile");
      }
    }
  }

  TEST_CASE("shipped profiles say what the issue asks of each target") {
    auto rpi = load_profile("raspberry-pi-4");
    CHECK(rpi.architecture == "arm64");
    CHECK(rpi.cores == 4);
    CHECK(rpi.quantized_engine == "qnnpack");
    CHECK(rpi.precision == "int8");
    CHECK(*rpi.budgets.latency_p50_ms == 50);
    CHECK(*rpi.budgets.peak_memory_mb == 100);
    CHECK(rpi.quantize.calibrator == "entropy");
    CHECK_FALSE(rpi.quantize.per_channel);

    auto jetson = load_profile("jetson-nano");
    CHECK(jetson.architecture == "arm64");
    CHECK(jetson.precision == "fp16");
    CHECK(jetson.budgets.batch == 16);

    auto android = load_profile("android-arm64");
    CHECK(android.artifact_format == "ptl");
    CHECK(android.quantized_engine == "qnnpack");
    CHECK(contains(android.compile_pipeline, "optimize-for-mobile"));

    auto server = load_profile("x86-64-avx512-vnni");
    CHECK(server.quantized_engine == "onednn");
    CHECK(server.precision == "int8");
    CHECK(std::count(server.isa_features.begin(), server.isa_features.end(), "avx512_vnni") == 1);

    auto laptop = load_profile("x86-64-avx2");
    CHECK(std::count(laptop.isa_features.begin(), laptop.isa_features.end(), "avx2") == 1);

    auto iot = load_profile("edge-iot");
    CHECK(*iot.budgets.latency_p50_ms == 10);
    CHECK(*iot.budgets.throughput_samples_per_s == 100);
    CHECK(*iot.budgets.peak_memory_mb == 100);
    CHECK(*iot.budgets.max_cpu_percent == 25);

    // Channel pruning rounds to the SIMD width: 16 fp32 lanes on AVX-512, 8 on AVX2 and NEON.
    CHECK(server.prune.round_to == 16);
    CHECK(laptop.prune.round_to == 8);
    CHECK(android.prune.round_to == 8);
    CHECK(rpi.prune.round_to == 8);
    CHECK(jetson.prune.round_to == 8);
    CHECK(iot.prune.round_to == 8);

    auto mcu = load_profile("mcu");
    CHECK(mcu.precision == "int8");
    CHECK(mcu.prune.round_to == 1);  // a scalar core: no rounding
    CHECK(*mcu.budgets.model_size_mb == 1);
    CHECK_FALSE(mcu.budgets.latency_p50_ms.has_value());
    CHECK_FALSE(mcu.budgets.peak_memory_mb.has_value());
  }

  TEST_CASE("the channel multiple follows the ISA when a profile does not give one") {
    CHECK(default_round_to({"avx2", "fma", "avx512f"}) == 16);
    CHECK(default_round_to({"avx2", "fma"}) == 8);
    CHECK(default_round_to({"neon", "dotprod"}) == 8);
    CHECK(default_round_to({}) == 1);
  }

  TEST_CASE("a profile loads by name and by path; absent optional fields take their defaults") {
    auto by_name = load_profile("x86-64-avx2");
    auto by_path = load_profile((profiles_dir() / "x86-64-avx2.json").string());
    CHECK(by_name.name == by_path.name);
    CHECK(by_name.raw == by_path.raw);

    auto custom = load_profile(fixture_profile("custom-board"));
    CHECK(custom.name == "custom-board");
    CHECK(custom.source == fixture_profile("custom-board"));
    CHECK(custom.isa_features == std::vector<std::string>{"avx2", "fma"});
    CHECK(custom.cores == 2);
    CHECK(custom.threads == 2);
    CHECK(custom.precision == "fp32");
    CHECK(custom.quantize.mode == "dynamic");
    CHECK(custom.quantize.calibrator == "minmax");  // absent -> default
    CHECK(custom.quantize.per_channel);
    CHECK(custom.prune.round_to == 8);  // absent -> from its isa_features (avx2)
    CHECK(custom.runtimes == std::vector<std::string>{"libtorch"});  // absent -> its artifact_format's (pt)
    CHECK(custom.budgets.batch == 4);
    CHECK(*custom.budgets.latency_p50_ms == doctest::Approx(12.5));
    CHECK(*custom.budgets.min_accuracy_top1 == doctest::Approx(0.9));
    CHECK_FALSE(custom.budgets.max_cpu_percent.has_value());
    CHECK(custom.raw["budgets"]["batch"] == 4);
  }

  TEST_CASE("bench measures with the first of the profile's runtimes that runs the file") {
    auto x86 = load_profile("x86-64-avx2"), android = load_profile("android-arm64"), jetson = load_profile("jetson-nano");
    auto edge = load_profile("edge-iot");
    const auto onnx = mopt::test::fixture("fashion_cnn.onnx"), pt = committed("fashion_cnn.pt");
    CHECK(x86.runtimes == std::vector<std::string>{"onnxruntime", "libtorch"});
    CHECK(profile_runtime_for(x86, pt) == "libtorch");
    CHECK(profile_runtime_for(x86, onnx) == "onnxruntime");
    CHECK(profile_runtime_for(jetson, onnx) == "onnxruntime");
    CHECK(profile_runtime_for(edge, onnx) == "libtorch");  // LibTorch only: the ONNX file is imported
    CHECK(profile_runtime_for(android, "model.ptl") == "libtorch-lite");
    CHECK(profile_runtime_for(android, pt) == "libtorch");  // not among its runtimes: the gate fails
    CHECK(measured_runtime("libtorch-lite") == "libtorch");
  }

  TEST_CASE("an unknown name is a usage error listing the known names; a missing file is invalid input") {
    CHECK(thrown_code([] { load_profile("raspberry-pi-5"); }) == 2);
    auto message = thrown_message([] { load_profile("raspberry-pi-5"); });
    CHECK(contains(message, "unknown profile 'raspberry-pi-5'"));
    for (const auto& name : kShipped) CHECK(contains(message, name));
    CHECK(thrown_code([] { load_profile("/nonexistent/board.json"); }) == 4);
    CHECK(thrown_code([] { load_profile("board.json"); }) == 4);
  }

  TEST_CASE("schema violations name the field and its line") {
    CHECK(only_error("threads-string") == "threads: must be integer, not \"four\" (line 7)");
    CHECK(only_error("missing-name") == "name: required field is missing (line 1)");
    CHECK(only_error("unknown-arch") == "architecture: must be one of x86_64, arm64, armv7, not \"riscv64\" (line 4)");
    CHECK(only_error("negative-budget") == "budgets.peak_memory_mb: must be > 0, not -5 (line 18)");
    CHECK(only_error("bad-round-to") == "prune.round_to: must be >= 1, not 0 (line 13)");
    CHECK(contains(only_error("unknown-field"), "colour: unknown field; known fields here: "));
    CHECK(contains(only_error("unknown-field"), "(line 10)"));
    CHECK(only_error("bad-isa-item") == "isa_features[1]: must match ^[a-z0-9_]+$, not \"AVX-512\" (line 6)");
    CHECK(contains(only_error("not-json"), "(profile): not valid JSON"));
    CHECK(contains(only_error("not-json"), "(line 7)"));

    auto errors = validate_profile_file(fixture_profile("several-errors"));
    std::sort(errors.begin(), errors.end());
    CHECK(errors == std::vector<std::string>{"budgets.peak_memory_mb: must be > 0, not -5 (line 18)",
                                             "quantize.per_channel: must be boolean, not \"yes\" (line 12)"});

    for (const char* bad : {"threads-string", "missing-name", "unknown-arch", "negative-budget", "unknown-field", "not-json"}) {
      INFO("fixture ", bad);
      CHECK(thrown_code([&] { load_profile(fixture_profile(bad)); }) == 4);
    }
    auto message = thrown_message([] { load_profile(fixture_profile("threads-string")); });
    CHECK(contains(message, "threads-string.json"));
    CHECK(contains(message, "threads: must be integer"));
  }

  TEST_CASE("checks the schema cannot express: threads <= cores, engine fits the architecture") {
    CHECK(only_error("threads-exceed-cores") == "threads: must be at most cores (2), not 8 (line 7)");
    CHECK(only_error("onednn-on-arm") == "quantized_engine: onednn runs only on x86_64; use qnnpack on arm64 (line 8)");
    CHECK(only_error("gpu-with-cpu-pass") ==
          "compile_pipeline: optimize-for-inference rewrites for the CPU (oneDNN, XNNPACK); a cuda profile's pipeline "
          "cannot use it (line 12)");
    CHECK(thrown_code([] { load_profile(fixture_profile("threads-exceed-cores")); }) == 4);
    // Pass names are the tool's business (lib knows no pass by name): syntax is fine, so it loads.
    CHECK(load_profile(fixture_profile("unknown-pass")).compile_pipeline == "remove-dropout,fold-conv-bn,freeze,frobnicate");
  }

  TEST_CASE("field_line finds keys, not string values, nested members, array items and absent members") {
    const std::string text =
        "{\n"                                              // 1
        "  \"description\": \"mentions \\\"cores\\\"\",\n"  // 2
        "  \"cores\": 4,\n"                                 // 3
        "  \"quantize\": {\"mode\": \"static\"},\n"         // 4
        "  \"isa_features\": [\n"                           // 5
        "    \"neon\",\n"                                   // 6
        "    \"dotprod\"\n"                                 // 7
        "  ],\n"                                            // 8
        "  \"budgets\": {\n"                                // 9
        "    \"mode\": 1,\n"                                // 10
        "    \"batch\": 1\n"                                // 11
        "  }\n"
        "}\n";
    CHECK(field_line(text, "") == 1);
    CHECK(field_line(text, "/cores") == 3);
    CHECK(field_line(text, "/quantize/mode") == 4);
    CHECK(field_line(text, "/budgets/mode") == 10);
    CHECK(field_line(text, "/budgets/batch") == 11);
    CHECK(field_line(text, "/isa_features") == 5);
    CHECK(field_line(text, "/isa_features/0") == 6);
    CHECK(field_line(text, "/isa_features/1") == 7);
    CHECK(field_line(text, "/budgets/latency_p50_ms") == 9);  // absent: the enclosing object
    CHECK(field_line(text, "/name") == 1);
  }

  TEST_CASE("budgets become bench --fail-if gates") {
    CHECK(budget_gates(load_profile("raspberry-pi-4")) ==
          std::vector<std::string>{"latency.p50_ms > 50", "latency.p95_ms > 80", "memory.increase_mb > 100"});
    auto iot = load_profile("edge-iot");
    CHECK(budget_gates(iot) ==
          std::vector<std::string>{"latency.p50_ms > 10", "throughput.samples_per_s < 100", "memory.increase_mb > 100",
                                   "cpu.percent > 25"});
    CHECK(budget_gates(load_profile("mcu")) == std::vector<std::string>{"model.file_mb > 1"});
    auto custom = load_profile(fixture_profile("custom-board"));
    CHECK(budget_gates(custom) == std::vector<std::string>{"latency.p50_ms > 12.5", "latency.p95_ms > 20",
                                                           "throughput.samples_per_s < 300", "memory.increase_mb > 250",
                                                           "model.file_mb > 5", "accuracy.top1 < 0.9"});
    // Every gate is in the syntax bench parses.
    for (const auto& p : shipped_profiles()) {
      for (const auto& gate : budget_gates(p)) CHECK(parse_gate(gate).text == gate);
    }
  }

  TEST_CASE("runs_on_host matches the host architecture") {
    CHECK(normalize_architecture("x86_64") == "x86_64");
    CHECK(normalize_architecture("amd64") == "x86_64");
    CHECK(normalize_architecture("aarch64") == "arm64");
    CHECK(normalize_architecture("arm64") == "arm64");
    CHECK(normalize_architecture("armv7l") == "armv7");
    CHECK(normalize_architecture("riscv64") == "riscv64");
    if (cpu_info().architecture != "x86_64") {
      MESSAGE("host is ", cpu_info().architecture, ", not x86_64: skipping the host checks");
      return;
    }
    for (const auto& p : shipped_profiles()) {
      INFO("profile ", p.name);
      CHECK(runs_on_host(p) == (p.architecture == "x86_64"));
    }
    CHECK(runs_on_host(load_profile("x86-64-avx2")));
    CHECK_FALSE(runs_on_host(load_profile("raspberry-pi-4")));
    CHECK_FALSE(runs_on_host(load_profile("edge-iot")));
  }

  TEST_CASE("MOPT_PROFILES_DIR overrides where shipped profiles are found") {
    auto dir = test::temp_dir("profiles-dir");
    std::filesystem::copy_file(fixture_profile("custom-board"), dir / "custom-board.json");
    ::setenv("MOPT_PROFILES_DIR", dir.c_str(), 1);
    CHECK(profiles_dir() == dir);
    CHECK(shipped_profile_names() == std::vector<std::string>{"custom-board"});
    CHECK(load_profile("custom-board").threads == 2);  // validated with the shipped schema
    CHECK(thrown_code([] { load_profile("raspberry-pi-4"); }) == 2);
    ::setenv("MOPT_PROFILES_DIR", (dir / "missing").c_str(), 1);
    CHECK(thrown_code([] { profiles_dir(); }) == 4);
    ::unsetenv("MOPT_PROFILES_DIR");
    std::filesystem::remove_all(dir);
    CHECK(shipped_profile_names() == kShipped);
  }
}

// Pipeline text: parse -> print -> parse round-trips; names and options are validated.
#include "lib/data/dataset.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/quantize_preset.h"
#include "passes/register_all_passes.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::thrown_code;

TEST_SUITE("pipeline") {
  TEST_CASE("parse reads passes and options in order") {
    auto p = parse_pipeline(" freeze , fold-conv-bn ,quantize-static{calibrator=entropy  per-channel=true} ");
    REQUIRE(p.steps.size() == 3);
    CHECK(p.steps[0].name == "freeze");
    CHECK(p.steps[2].name == "quantize-static");
    REQUIRE(p.steps[2].options.size() == 2);
    CHECK(p.steps[2].options[0] == std::make_pair(std::string("calibrator"), std::string("entropy")));
    CHECK(p.steps[2].options[1] == std::make_pair(std::string("per-channel"), std::string("true")));
  }

  TEST_CASE("print is canonical and round-trips") {
    for (std::string text : {"freeze", "freeze,fold-conv-bn", "a{x=1 y=2.5},b{},c{s=path/to,x}",
                             "fold-constants{max-size=100}"}) {
      auto first = parse_pipeline(text);
      auto printed = print_pipeline(first);
      CHECK(parse_pipeline(printed) == first);
      CHECK(print_pipeline(parse_pipeline(printed)) == printed);
    }
    CHECK(print_pipeline(parse_pipeline("a{ x=1   y=2 }, b{}")) == "a{x=1 y=2},b");
  }

  TEST_CASE("syntax errors are usage errors naming the column") {
    for (std::string text : {"", ",", "freeze,", "a{x}", "a{x=}", "a{x=1", "a{x=1 x=2}", "a b"}) {
      CAPTURE(text);
      CHECK(thrown_code([&] { parse_pipeline(text); }) == 2);
    }
    try {
      parse_pipeline("freeze,{");
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("column 8") != std::string::npos);
    }
  }

  TEST_CASE("unknown passes and options list the valid names") {
    auto registry = make_default_registry();
    try {
      validate_pipeline(parse_pipeline("freeze,fuze-conv-bn"), registry);
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK(std::string(e.what()).find("fuze-conv-bn") != std::string::npos);
      CHECK(std::string(e.what()).find("fold-conv-bn") != std::string::npos);
    }
    try {
      validate_pipeline(parse_pipeline("freeze{optimise=true}"), registry);
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK(std::string(e.what()).find("optimize-numerics") != std::string::npos);
    }
  }

  TEST_CASE("option values are type-checked") {
    auto registry = make_default_registry();
    CHECK(thrown_code([&] { validate_pipeline(parse_pipeline("freeze{optimize-numerics=yes}"), registry); }) == 2);
    CHECK(thrown_code([&] { validate_pipeline(parse_pipeline("fold-constants{max-size=1.5}"), registry); }) == 2);
    CHECK(thrown_code([&] { validate_pipeline(parse_pipeline("freeze{optimize-numerics=false}"), registry); }) == -1);
  }

  TEST_CASE("every registered pass is kebab-case, documented and typed") {
    auto registry = make_default_registry();
    CHECK(registry.all().size() >= 9);
    for (const Pass* pass : registry.all()) {
      const auto& info = pass->info();
      CAPTURE(info.name);
      CHECK(info.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos);
      CHECK(!info.summary.empty());
      CHECK(!info.formats.empty());
      for (const auto& option : info.options) CHECK(validate_option_value(option.type, option.default_value).empty());
    }
  }

  TEST_CASE("the pass manager records each step and leaves the input alone") {
    auto model = Model::load(mopt::test::fixture("conv_bn.pt"));
    auto result = mopt::test::run_text(model, "remove-dropout,fold-conv-bn");
    REQUIRE(result.records.size() == 2);
    CHECK(result.records[0].name == "remove-dropout");
    CHECK(result.records[1].invocation == "fold-conv-bn");
    CHECK(result.records[1].seconds >= 0);
    CHECK(model.torchscript().hasattr("training"));
  }

  TEST_CASE("a pass that calibrates is refused up front without calibration data, and runs with it") {
    static const PassRegistry registry = make_default_registry();
    CHECK(registry.find("quantize-static")->info().needs_calibration);
    CHECK_FALSE(registry.find("quantize-dynamic")->info().needs_calibration);
    auto model = Model::load(mopt::test::fixture("conv_bn.pt"));
    // The first step would run fine: the pipeline is checked whole before any pass runs.
    CHECK(thrown_code([&] { run_pipeline(model, parse_pipeline("remove-dropout,quantize-static"), registry); }) == 2);

    Dataset calib;
    calib.inputs = torch::randn({16, 3, 8, 8});  // conv_bn.pt: Conv-BN-ReLU, Conv-BN, pool, Linear
    PassContext context;
    context.calibration = &calib;
    auto result = run_pipeline(model, parse_pipeline("quantize-static{calib-batch=4}"), registry, {}, context);
    CHECK(result.records.at(0).stats.rewrites > 0);
    CHECK(result.records.at(0).stats.details["calibration_samples"] == 16);
  }

  TEST_CASE("the skip option of the quantize passes splits on commas and drops empty parts") {
    CHECK(split_skip_option("") == std::vector<std::string>{});
    CHECK(split_skip_option("features.0,,classifier.*,") == std::vector<std::string>{"features.0", "classifier.*"});
  }

  TEST_CASE("quantize's modes as passes: on a GPU fp16/bf16 compute in half precision on the fp32 baseline") {
    QuantizeSettings cpu;
    cpu.mode = "fp16";
    CHECK(print_pipeline(quantize_pipeline(cpu)) == "store-weights{dtype=fp16}");
    CHECK_FALSE(quantizes_fp32_baseline(cpu));
    QuantizeSettings gpu = cpu;
    gpu.gpu = true;
    CHECK(print_pipeline(quantize_pipeline(gpu)) == "compute-fp16");
    CHECK(quantizes_fp32_baseline(gpu));
    gpu.mode = "bf16";
    CHECK(print_pipeline(quantize_pipeline(gpu)) == "compute-bf16");
    validate_pipeline(quantize_pipeline(gpu), make_default_registry());
    for (const char* mode : {"static", "dynamic", "bf16-compute"}) {
      gpu.mode = mode;
      CHECK(thrown_code([&] { quantize_pipeline(gpu); }) == 2);
    }
    gpu.mode = "fp16";
    gpu.onnx_output = true;
    CHECK(thrown_code([&] { quantize_pipeline(gpu); }) == 2);
    // The GPU's fp32 baselines use no oneDNN pass (CPU only).
    for (const auto& text : fp32_baseline_pipelines(/*gpu=*/true)) {
      CHECK(text.find("optimize-for-inference") == std::string::npos);
      validate_pipeline(parse_pipeline(text), make_default_registry());
    }
  }
}

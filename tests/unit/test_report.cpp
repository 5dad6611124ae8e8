// Reports validate against the shipped schema; inspect's counts agree with PyTorch's.

#include <fstream>

#include "lib/inspect/model_summary.h"
#include "lib/report/report.h"
#include "tests/unit/report_schema_check.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::fixture;
using nlohmann::json;

namespace {

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("a full optimize-style report validates") {
    auto model = Model::load(fixture("conv_bn.pt"));
    auto result = mopt::test::run_text(model, "freeze,fold-conv-bn");
    auto dir = mopt::test::temp_dir("report");
    result.model.save(dir / "out.pt");

    Report report("optimize", {"mopt", "optimize"});
    report.add_input(fixture("conv_bn.pt"), &model);
    report.add_output(dir / "out.pt", &result.model);
    report.set_pipeline("freeze,fold-conv-bn", result.records);
    report.metrics()["before"] = {{"latency_p50_ms", 1.0}};
    report.add_gate("latency", "latency.p50_ms < 10", true, 1.0);
    report.write(dir / "report.json");

    auto doc = read_json(dir / "report.json");
    CHECK(mopt::test::report_schema_errors(doc) == "");
    CHECK(doc["verdict"] == "pass");
    CHECK(doc["inputs"][0]["sha256"].get<std::string>().size() == 64);
    CHECK(doc["inputs"][0]["parameters"] == 1610);
    CHECK(doc["passes"].size() == 2);
    CHECK(doc["environment"]["threads"].get<int>() >= 1);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("failed gates and errors set the verdict") {
    Report failing("bench", {});
    failing.add_gate("p95", "latency.p95_ms > 12", false, 13.0);
    CHECK(failing.finalize()["verdict"] == "fail");
    CHECK(mopt::test::report_schema_errors(failing.finalize()) == "");
    Report erroring("optimize", {});
    erroring.set_error(4, "bad model");
    CHECK(erroring.finalize()["verdict"] == "error");
    CHECK(mopt::test::report_schema_errors(erroring.finalize()) == "");
  }

  TEST_CASE("the schema rejects malformed reports") {
    Report report("inspect", {});
    auto doc = report.finalize();
    doc.erase("environment");
    CHECK(mopt::test::report_schema_errors(doc) != "");
    doc = report.finalize();
    doc["verdict"] = "maybe";
    CHECK(mopt::test::report_schema_errors(doc) != "");
  }

  TEST_CASE("inspect counts parameters like PyTorch's sum(p.numel())") {
    auto index = read_json(fixture("fixtures.json"));
    for (const char* name : {"resnet18.pt", "mobilenet_v2.pt", "mlp.pt", "conv_bn.pt"}) {
      CAPTURE(name);
      auto summary = summarize_model(Model::load(fixture(name)), fixture(name));
      CHECK(summary["parameters"] == index["files"][name]["parameters"]);
      CHECK(summary["format"] == "torchscript");
      CHECK(!summary["layers"].empty());
    }
    auto resnet = summarize_model(Model::load(fixture("resnet18.pt")), fixture("resnet18.pt"));
    CHECK(resnet["parameters"] == 11689512);
    CHECK(resnet["op_histogram"]["aten::conv2d"] == 20);
  }

  TEST_CASE("inspect reads ONNX inputs, outputs and layers") {
    auto summary = summarize_model(Model::load(fixture("mlp.onnx")), fixture("mlp.onnx"));
    CHECK(summary["format"] == "onnx");
    REQUIRE(summary["inputs"].size() == 1);
    CHECK(summary["inputs"][0]["dtype"] == "float");
    CHECK(summary["inputs"][0]["shape"].size() == 2);
    CHECK(summary["op_histogram"]["Gemm"] == 3);
    CHECK(summary["parameters"] == 235146);
    CHECK(summary["layers"].size() == 3);
  }
}

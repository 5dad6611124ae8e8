// single-row-matvec: one-row calls of large linear layers take aten::mv, other calls the layer as it
// was; outputs agree with the input model at every batch size, and the file saves and loads.
#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::load_case;
using mopt::test::run_text;

namespace {

bool same_outputs(const Model& a, const Model& b, const torch::Tensor& input) {
  return torch::allclose(run_model(a, input), run_model(b, input), 1e-4, 1e-5);
}

}  // namespace

TEST_SUITE("single-row-matvec") {
  TEST_CASE("the MLP's two large layers take the one-row path; the 10x128 one is below the size floor") {
    auto c = load_case("mlp");
    auto result = run_text(c.model, "single-row-matvec");
    CHECK(result.records.at(0).stats.rewrites == 2);  // 256x784 and 128x256; 10x128 < 16384 elements
    CHECK(op_count(result.model, "aten::mv") == 2);
    const auto row = c.input.slice(0, 0, 1);
    CHECK(same_outputs(result.model, c.model, row));
    CHECK(same_outputs(result.model, c.model, c.input));  // the saved input's whole batch: the old path
    CHECK((run_model(result.model, c.input) - c.expected).abs().max().item<double>() < 1e-4);
  }

  TEST_CASE("after optimize-for-inference (linear as matmul with a transposed weight), saved and loaded") {
    auto dir = mopt::test::temp_dir("single-row-matvec");
    for (const auto* name : {"resnet18", "mobilenet_v2"}) {
      CAPTURE(name);
      auto c = load_case(name);
      auto result = run_text(c.model, "freeze,optimize-for-inference{mkldnn=true},single-row-matvec");
      CHECK(result.records.back().stats.rewrites == 1);  // the classifier
      result.model.save(dir / "model.pt");
      auto loaded = Model::load(dir / "model.pt");
      CHECK(op_count(loaded, "aten::mv") == 1);
      const auto row = c.input.slice(0, 0, 1);
      CHECK(same_outputs(loaded, c.model, row));
      CHECK(same_outputs(loaded, c.model, torch::cat({row, row * 0.5})));
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("an input of unknown rank is checked at run time: a 3-D call keeps the old path") {
    torch::manual_seed(0);
    torch::jit::Module module("Head");
    module.register_attribute("training", c10::BoolType::get(), false);
    module.register_parameter("weight", torch::randn({200, 100}), false);
    module.register_parameter("bias", torch::randn({200}), false);
    module.define(R"(
      def forward(self, x):
          return torch.linear(torch.relu(x), self.weight, self.bias)
    )");
    module.eval();
    auto model = Model::from_torchscript(module);
    auto result = run_text(model, "single-row-matvec");
    CHECK(result.records.at(0).stats.rewrites == 1);
    CHECK(result.records.at(0).stats.details["froze_first"].get<bool>());
    for (const auto& shape : std::vector<std::vector<int64_t>>{{1, 100}, {4, 100}, {1, 3, 100}, {100}}) {
      CAPTURE(shape);
      CHECK(same_outputs(result.model, model, torch::randn(shape)));
    }
  }

  TEST_CASE("does not fire on small layers, nor without linear layers; 3-D calls keep their outputs") {
    auto transformer = load_case("transformer");  // its largest weight is 192x64 = 12288 elements
    CHECK(run_text(transformer.model, "single-row-matvec").records.at(0).stats.rewrites == 0);
    auto lowered = run_text(transformer.model, "single-row-matvec{min-weight-elements=1}");
    CHECK(same_outputs(lowered.model, transformer.model, transformer.input));  // 3-D: the run-time check says no
    auto conv = load_case("conv_bn");
    CHECK(run_text(conv.model, "single-row-matvec").records.at(0).stats.rewrites == 0);
  }
}

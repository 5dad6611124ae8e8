// Golden tests for specialize-input-shape and fuse-add-relu: structure (op counts), numbers
// (outputs vs the fixture's PyTorch output and vs the unchanged model), save/load, and
// must-not-fire cases; each pass is called by its registered name.
#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::fixture;
using mopt::test::run_text;

namespace {

using Case = mopt::test::FixtureCase;
using mopt::test::load_case;

double max_diff(const Model& a, const Model& b, const torch::Tensor& input) {
  return (run_model(a, input) - run_model(b, input)).abs().max().item<double>();
}

int64_t shape_queries(const Model& m) {
  return op_count(m, "aten::size") + op_count(m, "aten::dim") + op_count(m, "aten::len") + op_count(m, "prim::dtype");
}

Model defined_module(const std::string& source) {
  torch::jit::Module module("Shapes");
  module.register_attribute("training", c10::BoolType::get(), false);  // as scripted nn.Modules have
  module.define(source);
  module.eval();
  return Model::from_torchscript(module);
}

// Shape arithmetic of the kinds the pass exists for: a batch-size branch and a computed view size.
Model batch_branch_module() {
  return defined_module(R"(
    def forward(self, x):
        if x.size(0) == 1:
            y = x * 2.0
        else:
            y = x * 3.0
        n = x.size(0)
        return y.view(n, x.dim() * 0 + x.size(1) * x.size(2))
  )");
}

// No shape-dependent op anywhere: nothing to fold.
Model plain_module() {
  return defined_module(R"(
    def forward(self, x):
        return x * 2.0 + 1.0
  )");
}

}  // namespace

TEST_SUITE("shape-passes") {
  TEST_CASE("specialize-input-shape folds a batch-size branch and view sizes, and keeps outputs") {
    auto model = batch_branch_module();
    auto input = torch::randn({1, 4, 5});
    REQUIRE(op_count(model, "prim::If") == 1);
    auto result = run_text(model, "specialize-input-shape{shape=1x4x5}");
    const auto& record = result.records.at(0);
    CHECK(record.stats.rewrites == 4);  // size(0) (freezing merged the two), size(1), size(2), dim()
    CHECK(record.stats.details["folded"]["aten::size"].get<int64_t>() == 3);
    CHECK(record.stats.details["folded"]["aten::dim"].get<int64_t>() == 1);
    CHECK(record.stats.details["shape"].get<std::string>() == "1x4x5:float32");
    CHECK(record.stats.details["froze_first"].get<bool>());
    CHECK(record.stats.details["guard"].get<bool>());
    // What is left of shape logic is the guard: one size + one dtype query feeding one If.
    CHECK(op_count(result.model, "prim::If") == 1);
    CHECK(op_count(result.model, "aten::size") == 1);
    CHECK(op_count(result.model, "aten::dim") == 0);
    CHECK(op_count(result.model, "aten::mul") == 1);  // the x * 3.0 branch is gone
    CHECK(max_diff(result.model, model, input) == 0);
    CHECK(op_count(model, "aten::size") == 4);  // the input model is untouched
  }

  TEST_CASE("a specialized model saves, loads back and rejects other shapes and dtypes with a clear error") {
    auto model = batch_branch_module();
    auto dir = mopt::test::temp_dir("specialize");
    auto result = run_text(model, "specialize-input-shape{shape=1x4x5}");
    result.model.save(dir / "s.pt");
    auto loaded = Model::load(dir / "s.pt");
    auto input = torch::randn({1, 4, 5});
    CHECK(max_diff(loaded, model, input) == 0);
    CHECK(op_count(loaded, "aten::dim") == 0);
    for (const auto& wrong : {torch::randn({2, 4, 5}), torch::randn({1, 4, 5}).to(torch::kDouble)}) {
      try {
        run_model(loaded, wrong);
        FAIL("a wrong input was accepted");
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("specialized for inputs 1x4x5:float32") != std::string::npos);
      }
    }
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("specialize-input-shape does not fire twice") {
    auto once = run_text(batch_branch_module(), "specialize-input-shape{shape=1x4x5}").model;
    auto twice = run_text(once, "specialize-input-shape{shape=1x4x5}");
    CHECK(twice.records.at(0).stats.rewrites == 0);
    CHECK(op_histogram(twice.model) == op_histogram(once));
  }

  TEST_CASE("specialize-input-shape on ResNet-18: the flatten check folds, outputs are identical") {
    auto c = load_case("resnet18");
    auto frozen = run_text(c.model, "freeze{optimize-numerics=false}").model;
    REQUIRE(op_count(frozen, "aten::len") == 1);
    auto result = run_text(frozen, "freeze{optimize-numerics=false},specialize-input-shape{shape=1x3x224x224}");
    CHECK(result.records.at(1).stats.rewrites == 1);
    CHECK(op_count(result.model, "aten::len") == 0);
    CHECK(max_diff(result.model, frozen, c.input) == 0);
    CHECK((run_model(result.model, c.input) - c.expected).abs().max().item<double>() < 1e-4);
  }

  TEST_CASE("specialize-input-shape on the transformer: masks become None, shape checks and branches fold") {
    auto c = load_case("transformer");
    auto frozen = run_text(c.model, "freeze{optimize-numerics=false}").model;
    auto result = run_text(c.model, "specialize-input-shape{shape=1x16x64}");
    const auto& details = result.records.at(0).stats.details;
    CHECK(result.records.at(0).stats.rewrites > 0);
    CHECK(details["none_inputs"] == nlohmann::json({"mask", "src_key_padding_mask"}));
    // The masks' checks and the None branches go; what stays is the fast-path test on grad mode and
    // autocast, which only the running process knows.
    CHECK(details["branches_after"].get<int64_t>() < details["branches_before"].get<int64_t>() / 2);
    CHECK(details["nodes_after"].get<int64_t>() < details["nodes_before"].get<int64_t>() * 6 / 10);
    CHECK(shape_queries(result.model) < shape_queries(frozen));
    CHECK(max_diff(result.model, frozen, c.input) == 0);
    CHECK((run_model(result.model.reloaded(), c.input) - c.expected).abs().max().item<double>() < 1e-4);

    auto again = run_text(result.model.reloaded(), "specialize-input-shape{shape=1x16x64}");  // does not fire twice
    CHECK(again.records.at(0).stats.rewrites == 0);
    CHECK(again.records.at(0).stats.details["none_inputs"].empty());
    CHECK(op_histogram(again.model) == op_histogram(result.model));
  }

  TEST_CASE("specialize-input-shape leaves a graph alone when a tensor is resized in place") {
    auto model = defined_module(R"(
    def forward(self, x):
        y = x.clone()
        y.unsqueeze_(0)
        return y.view(y.size(0), -1)
  )");
    auto result = run_text(model, "specialize-input-shape{shape=2x3}");
    CHECK(result.records.at(0).stats.rewrites == 0);
    CHECK(result.records.at(0).stats.details.contains("skipped"));
    auto input = torch::randn({2, 3});
    CHECK(max_diff(result.model, model, input) == 0);
  }

  TEST_CASE("specialize-input-shape takes several inputs separated by ';'") {
    auto model = defined_module(R"(
    def forward(self, x, y):
        return x.view(x.size(0), -1) + y.size(0)
  )");
    auto result = run_text(model, "specialize-input-shape{shape=2x3x4;x:5:int64}");
    CHECK(result.records.at(0).stats.rewrites == 2);
    CHECK(result.records.at(0).stats.details["shape"].get<std::string>() == "2x3x4:float32;5:int64");
    auto x = torch::randn({2, 3, 4});
    auto y = torch::zeros({5}, torch::kLong);
    auto out = result.model.torchscript().forward({x, y}).toTensor();
    CHECK(torch::equal(out, x.view({2, -1}) + 5));
  }

  TEST_CASE("specialize-input-shape does not fire on a model without shape-dependent ops") {
    auto plain = run_text(plain_module(), "specialize-input-shape{shape=3x4}");
    CHECK(plain.records.at(0).stats.rewrites == 0);
    CHECK(!plain.records.at(0).stats.details["guard"].get<bool>());
    CHECK(op_histogram(plain.model) == op_histogram(plain_module()));

    // A real CNN whose flatten needs no size query: frozen histogram unchanged, outputs identical.
    auto cnn = Model::load(mopt::test::committed("fashion_cnn.pt"));
    auto frozen = run_text(cnn, "freeze{optimize-numerics=false}").model;
    auto result = run_text(frozen, "specialize-input-shape{shape=1x1x28x28}");
    CHECK(result.records.at(0).stats.rewrites == 0);
    CHECK(op_histogram(result.model) == op_histogram(frozen));
    auto input = torch::randn({1, 1, 28, 28});
    CHECK(max_diff(result.model, frozen, input) == 0);
  }

  TEST_CASE("specialize-input-shape refuses a missing, malformed or unrunnable shape") {
    auto model = batch_branch_module();
    CHECK(mopt::test::thrown_code([&] { run_text(model, "specialize-input-shape"); }) == 2);
    CHECK(mopt::test::thrown_code([&] { run_text(model, "specialize-input-shape{shape=1xx4}"); }) == 2);
    CHECK(mopt::test::thrown_code([&] { run_text(model, "specialize-input-shape{shape=1x4x5;1x4x5}"); }) == 2);
    CHECK(mopt::test::thrown_code([&] { run_text(model, "specialize-input-shape{shape=1x4}"); }) == 4);  // view fails
  }

  TEST_CASE("fuse-add-relu turns ResNet-18's 8 residual add+relu pairs into _add_relu_, outputs identical") {
    auto c = load_case("resnet18");
    auto frozen = run_text(c.model, "freeze{optimize-numerics=false}").model;
    REQUIRE(op_count(frozen, "aten::add_") == 8);
    auto result = run_text(c.model, "fuse-add-relu");
    const auto& record = result.records.at(0);
    CHECK(record.stats.rewrites == 8);
    CHECK(record.stats.details["froze_first"].get<bool>());
    CHECK(op_count(result.model, "aten::_add_relu_") + op_count(result.model, "aten::_add_relu") == 8);
    CHECK(op_count(result.model, "aten::add_") == 0);
    CHECK(op_count(result.model, "aten::relu_") == op_count(frozen, "aten::relu_") - 8);
    auto reloaded = result.model.reloaded();
    CHECK(max_diff(reloaded, frozen, c.input) == 0);
    CHECK((run_model(reloaded, c.input) - c.expected).abs().max().item<double>() < 1e-4);
  }

  TEST_CASE("fuse-add-relu does not fire where no relu follows an add") {
    auto c = load_case("mobilenet_v2");  // residual adds, but no activation after them
    auto frozen = run_text(c.model, "freeze{optimize-numerics=false}").model;
    REQUIRE(op_count(frozen, "aten::add") > 0);
    auto result = run_text(frozen, "fuse-add-relu");
    CHECK(result.records.at(0).stats.rewrites == 0);
    CHECK(op_histogram(result.model) == op_histogram(frozen));
  }

  TEST_CASE("fuse-add-relu{inplace=true} makes a CNN's relus in place and keeps outputs") {
    auto cnn = Model::load(mopt::test::committed("fashion_cnn.pt"));
    auto frozen = run_text(cnn, "freeze{optimize-numerics=false}").model;
    REQUIRE(op_count(frozen, "aten::relu") == 3);
    auto result = run_text(frozen, "fuse-add-relu{inplace=true}");
    CHECK(result.records.at(0).stats.rewrites == 3);
    CHECK(result.records.at(0).stats.details["activations_made_in_place"].get<int64_t>() == 3);
    CHECK(op_count(result.model, "aten::relu_") == 3);
    auto input = torch::randn({2, 1, 28, 28});
    CHECK(max_diff(result.model.reloaded(), frozen, input) == 0);
  }
}

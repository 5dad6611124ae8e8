// Quantizing models that branch on `self.training` (torchvision's stochastic depth, as in
// EfficientNet): the fixture reproduces LibTorch's InsertObservers failure, and
// resolve_inference_branches removes exactly the training-only code so static and dynamic INT8 work.
#include <fmt/format.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>

#include <set>

#include "lib/model/graph_stats.h"
#include "lib/model/graph_walk.h"
#include "lib/onnx/import/onnx_importer.h"
#include "passes/quantize/inference_branches.h"
#include "passes/quantize/jit_observers.h"
#include "passes/quantize/observer_diagnosis.h"
#include "lib/quantize/quantize_errors.h"
#include "passes/quantize/static_quantizer.h"
#include "passes/quantize/unused_submodules.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::load_case;

namespace {

// Tensor-valued prim::If nodes (what observers trip over; the raise-only checks stochastic_depth
// makes on p and mode, and BatchNorm's momentum choice, stay and do not matter) and `training` reads, over every method graph once
// (instances of one module type share their graphs).
std::pair<int64_t, int64_t> ifs_and_training_reads(const torch::jit::Module& module) {
  int64_t ifs = 0, reads = 0;
  std::set<torch::jit::Graph*> seen;
  std::function<void(torch::jit::Block*)> visit = [&](torch::jit::Block* block) {
    for (auto* node : block->nodes()) {
      bool tensor_output = false;
      for (auto* output : node->outputs()) tensor_output = tensor_output || output->type()->isSubtypeOf(*c10::TensorType::get());
      ifs += node->kind() == c10::prim::If && tensor_output;
      reads += node->kind() == c10::prim::GetAttr && node->s(c10::attr::name) == "training";
      for (auto* sub : node->blocks()) visit(sub);
    }
  };
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) {
      auto graph = method.graph();
      if (seen.insert(graph.get()).second) visit(graph->block());
    }
  }
  return {ifs, reads};
}

torch::Tensor run(const torch::jit::Module& module, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  return output_tensors(const_cast<torch::jit::Module&>(module).forward({input})).front();
}


}  // namespace

TEST_SUITE("quantize-branches") {
  TEST_CASE("the stochastic-depth fixture reproduces InsertObservers' inconsistent-branch error") {
    auto c = load_case("stochastic_depth");
    auto module = c.model.torchscript().clone();
    module.eval();
    module = torch::jit::FoldConvBatchNorm(module);  // as mopt's quantizer does first
    torch::jit::QConfig qconfig{quant::make_activation_observer(), quant::make_weight_observer(true)};
    std::string message;
    try {
      torch::jit::InsertObservers(module, "forward", {{"", qconfig}}, false, torch::jit::QuantType::STATIC);
    } catch (const c10::Error& e) {
      message = e.what();
    }
    CHECK(message.find("observed consistently") != std::string::npos);
  }

  TEST_CASE("resolve_inference_branches removes the training-only branches and keeps the output") {
    auto c = load_case("stochastic_depth");
    auto module = c.model.torchscript().clone();
    module.eval();
    const auto expected = run(module, c.input);
    CHECK(torch::allclose(expected, c.expected, 1e-5, 1e-5));
    const auto [ifs_before, reads_before] = ifs_and_training_reads(module);
    CHECK(reads_before >= 3);  // StochasticDepth (one type, two instances), TrainingNoise, the net; BatchNorms
    CHECK(ifs_before == 2);  // TrainingNoise and the net; stochastic_depth's sits in a called function

    CHECK(quant::resolve_inference_branches(module) == reads_before);
    const auto [ifs_after, reads_after] = ifs_and_training_reads(module);
    CHECK(reads_after == 0);
    CHECK(ifs_after == 0);
    CHECK(torch::equal(run(module, c.input), expected));
    CHECK(quant::resolve_inference_branches(module) == 0);  // nothing left to do: a no-op

    // A module without training branches is left alone.
    auto mlp = Model::load(mopt::test::fixture("mlp.pt")).torchscript().clone();
    mlp.eval();
    const auto mlp_input = read_npy(mopt::test::fixture("mlp.input.npy"));
    const auto mlp_before = run(mlp, mlp_input);
    quant::resolve_inference_branches(mlp);
    CHECK(torch::equal(run(mlp, mlp_input), mlp_before));
  }

  TEST_CASE("a module whose code writes `training` keeps its branches (the flag is not a constant)") {
    torch::jit::Module net("Net");
    net.register_attribute("training", c10::BoolType::get(), false);
    net.define(R"(
      def forward(self, x):
          if self.training:
              self.training = False
              return x * 2.0
          return x
    )");
    CHECK(quant::resolve_inference_branches(net) == 0);
    CHECK(ifs_and_training_reads(net).first == 1);
  }

  TEST_CASE("static and dynamic INT8 of the stochastic-depth fixture run and stay close to fp32") {
    auto c = load_case("stochastic_depth");
    quant::QuantConfig config;
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, config);
    const auto output = run(result.model.reloaded().torchscript(), c.input);
    CHECK(output.sizes() == c.expected.sizes());
    CHECK(test::sqnr_db(c.expected, output) > 20.0);
    CHECK(op_histogram(result.model).count("quantized::conv2d") + op_histogram(result.model).count("quantized::conv2d_relu") > 0);
    CHECK(c.model.torchscript().hasattr("training"));  // the input model is untouched ...
    CHECK(ifs_and_training_reads(c.model.torchscript()).second >= 3);  // ... its branches too

    const auto dynamic = quant::quantize_dynamic(c.model, config);
    CHECK(run(dynamic.reloaded().torchscript(), c.input).sizes() == c.expected.sizes());
  }

  TEST_CASE("a training-only classifier is left out and a NamedTuple output saves and reloads (GoogLeNet)") {
    auto c = load_case("aux_classifier");
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, quant::QuantConfig{});
    CHECK(result.training_only_submodules == std::vector<std::string>{"aux"});
    // Was: "Return value was annotated as having type AuxOutputs but is actually of type Any" on load.
    const auto reloaded = result.model.reloaded();
    torch::NoGradGuard no_grad;
    const auto outputs = const_cast<torch::jit::Module&>(reloaded.torchscript()).forward({c.input}).toTuple();
    REQUIRE(outputs->elements().size() == 2);
    CHECK(outputs->elements()[1].isNone());
    CHECK(test::sqnr_db(c.expected, outputs->elements()[0].toTensor()) > 20.0);
    CHECK(c.model.torchscript().hasattr("aux"));  // the input model keeps its classifier

    const auto dynamic = quant::quantize_dynamic(c.model, quant::QuantConfig{});
    CHECK(const_cast<torch::jit::Module&>(dynamic.reloaded().torchscript()).forward({c.input}).isTuple());
  }

  TEST_CASE("submodules a parent reads out of a container are kept (nn.TransformerEncoder's layers)") {
    auto c = load_case("transformer");
    auto module = c.model.torchscript().clone();
    module.eval();
    quant::resolve_inference_branches(module);
    CHECK(quant::drop_unused_submodules(module).empty());
    CHECK(run(module, c.input).sizes() == c.expected.sizes());
  }

  TEST_CASE("a dense block's concatenation of an appended-to list keeps every feature (DenseNet)") {
    auto c = load_case("dense_block");
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, quant::QuantConfig{});
    const auto output = run(result.model.reloaded().torchscript(), c.input);  // was: "Expect weight size to match C"
    CHECK(output.sizes() == c.expected.sizes());
    CHECK(test::sqnr_db(c.expected, output) > 20.0);
  }

  TEST_CASE("a segmentation model's dict output quantizes, and its final resizes run in fp32 on dequantized scores") {
    auto c = load_case("dict_output");
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, quant::QuantConfig{});
    const auto reloaded = result.model.reloaded();
    const auto output = run(reloaded.torchscript(), c.input);  // "out", the dict's first value
    CHECK(output.sizes() == c.expected.sizes());
    CHECK(test::sqnr_db(c.expected, output) > 15.0);
    // Both returned maps ("out", "aux") are resized to the input's size after a dequantize, not
    // resized in INT8 and dequantized at 16x the size (LRASPP: 10.3 -> 7.8 ms at 1 thread with this).
    int64_t float_resizes = 0;
    for (auto* node : all_nodes(reloaded.torchscript().get_method("forward").graph()->block())) {
      float_resizes += node->kind() == c10::aten::upsample_bilinear2d && node->input(0)->node()->kind() == c10::aten::dequantize;
    }
    CHECK(float_resizes == 2);
  }

  TEST_CASE("an InsertObservers failure is traced to the smallest failing layers and worded in one line") {
    auto c = load_case("stochastic_depth");
    auto module = c.model.torchscript().clone();
    module.eval();
    module = torch::jit::FoldConvBatchNorm(module);
    torch::jit::QConfig qconfig{quant::make_activation_observer(), quant::make_weight_observer(true)};
    // Unresolved, both residual blocks (stochastic depth after a conv) and the noise module fail on
    // their own; their parents (blocks, the net) are not reported.
    CHECK(quant::modules_failing_observers(module, qconfig, torch::jit::QuantType::STATIC) ==
          std::vector<std::string>{"blocks.0", "blocks.1", "noise"});
    CHECK(quant::modules_failing_observers(module, qconfig, torch::jit::QuantType::STATIC, 1).size() == 1);
    quant::resolve_inference_branches(module);
    CHECK(quant::modules_failing_observers(module, qconfig, torch::jit::QuantType::STATIC).empty());

    std::string what;
    try {
      auto unresolved = torch::jit::FoldConvBatchNorm(load_case("attribute_branch").model.torchscript().clone());
      torch::jit::InsertObservers(unresolved, "forward", {{"", qconfig}}, false, torch::jit::QuantType::STATIC);
    } catch (const c10::Error& e) {
      what = e.what();
    }
    REQUIRE_FALSE(what.empty());
    CHECK(quant::torch_error_reason(what) ==
          "branches for `if` should return values that are observed consistently");
    CHECK(quant::torch_error_location(what) == "torchvision/ops/stochastic_depth.py:32");
    const std::string message = quant::quantization_failure("inserting observers", what, "block", "Do this").what();
    CHECK(message == "quantization failed while inserting observers: branches for `if` should return values that are "
                     "observed consistently (at torchvision/ops/stochastic_depth.py:32) in layer block. Do this");
    CHECK(quant::torch_error_location("File \"code/__torch__.py\", line 3\n  File \"code/x.py\", line 9\n") ==
          "code/x.py, line 9");  // a traceback's innermost frame
    CHECK(quant::torch_error_location("no place named") == "");
  }

  TEST_CASE("quantize_static names the layer when InsertObservers fails, as a runtime failure") {
    auto c = load_case("attribute_branch");
    try {
      quant::quantize_static(c.model, Dataset{c.input}, quant::QuantConfig{});
      FAIL("quantize_static should fail on attribute_branch.pt");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kRuntimeFailure);
      CHECK(std::string(e.what()).find("in layer block.") != std::string::npos);
      CHECK(std::string(e.what()).find("prim::If") == std::string::npos);
    }
    // Calibration data the model cannot take is the user's input.
    const auto resolvable = load_case("stochastic_depth").model;
    CHECK(mopt::test::thrown_code([&] { quant::quantize_static(resolvable, Dataset{torch::rand({4, 784})}, quant::QuantConfig{}); }) ==
          4);
  }

  TEST_CASE("the activation table names layers observed in helper methods and branches (GoogLeNet's _forward)") {
    torch::manual_seed(0);
    torch::jit::Module conv("Conv");
    conv.register_attribute("training", c10::BoolType::get(), false);
    conv.register_parameter("weight", torch::randn({4, 3, 3, 3}), false);
    conv.define("def forward(self, x):\n    return torch.conv2d(x, self.weight)\n");
    torch::jit::Module net("Net");
    net.register_attribute("training", c10::BoolType::get(), false);
    net.register_module("features", conv);
    net.define(R"(
def forward(self, x):
    return self._forward(x)

def _forward(self, x):
    y = self.features.forward(x)
    if bool(x.size(0) > 0):
        y = torch.relu(y)
    return y
)");
    net.eval();
    const auto result = quant::quantize_static(Model::from_torchscript(net), Dataset{torch::rand({2, 3, 8, 8})}, quant::QuantConfig{});
    std::set<std::string> layers;
    for (const auto& record : result.activations) layers.insert(record.layer);
    CAPTURE(fmt::format("{}", fmt::join(layers, ", ")));
    CHECK(layers.count("features") == 1);
    for (const auto& layer : layers) CHECK(layer.find("_observer_") == std::string::npos);
  }
  TEST_CASE("an op's row in the activation table names the layer it follows (an imported ONNX model's ReLUs)") {
    const auto imported = to_torchscript(Model::load(test::fixture("fashion_cnn.onnx")));
    const auto result = quant::quantize_static(imported, Dataset{torch::rand({4, 1, 28, 28})}, quant::QuantConfig{});
    std::set<std::string> layers;
    for (const auto& record : result.activations) layers.insert(record.layer);
    CAPTURE(fmt::format("{}", fmt::join(layers, ", ")));
    CHECK(layers.count("aten::relu (after features_0)") == 1);  // BatchNorm features_1 is folded into the conv
    CHECK(layers.count("aten::relu (after classifier_2)") == 1);
  }
}

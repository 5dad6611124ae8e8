// ReLU6 kept INT8 and folded into the quantized op before it (MobileNetV2-style models), and the
// clamps the fold must leave alone.
#include <fmt/format.h>
#include <torch/csrc/jit/ir/irparser.h>


#include "lib/quantize/quant_boundaries.h"
#include "passes/quantize/relu6_folding.h"
#include "passes/quantize/static_quantizer.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::op_counts;
using mopt::test::run_graph;
using mopt::test::load_case;

namespace {


torch::Tensor run(torch::jit::Module& module, const std::vector<c10::IValue>& inputs) {
  torch::NoGradGuard no_grad;
  return module.forward(inputs).toTensor();
}


// quantized::add(a, b, scale, zero_point) followed by `clamp` (IR reading %y; constants %lo = 0,
// %hi = 6, %m1 = -1, %p1 = 1). A scale written "%scale" is a graph input instead of a constant.
std::shared_ptr<torch::jit::Graph> add_then_clamp(const std::string& scale, int zero_point, const std::string& clamp,
                                                  bool return_sum = false) {
  auto graph = std::make_shared<torch::jit::Graph>();
  const bool scale_is_input = scale.rfind("%", 0) == 0;
  torch::jit::parseIR(fmt::format(R"IR(
graph(%a : Tensor, %b : Tensor{}):
  %s : float = prim::Constant[value={}]()
  %z : int = prim::Constant[value={}]()
  %lo : float = prim::Constant[value=0.]()
  %hi : float = prim::Constant[value=6.]()
  %m1 : float = prim::Constant[value=-1.]()
  %p1 : float = prim::Constant[value=1.]()
  %y : Tensor = quantized::add(%a, %b, {}, %z)
  %r : Tensor = {}
  return ({})
)IR", scale_is_input ? ", %scale : float" : "", scale_is_input ? "1." : scale, zero_point, scale_is_input ? scale : "%s", clamp,
                                  return_sum ? "%r, %y" : "%r"), graph.get());
  return graph;
}

// Two quint8 tensors covering [-3, 5] and [-2, 6], so their sum crosses both clamp bounds.
std::vector<c10::IValue> quantized_pair() {
  auto a = torch::linspace(-3, 5, 400).reshape({4, 100});
  auto b = torch::linspace(6, -2, 400).reshape({4, 100}) * torch::linspace(0, 1, 400).reshape({4, 100});
  return {torch::quantize_per_tensor(a, 8.0 / 255, 96, torch::kQUInt8),
          torch::quantize_per_tensor(b, 8.0 / 255, 64, torch::kQUInt8)};
}

torch::Tensor float_relu6_sum(const std::vector<c10::IValue>& pair, double upper) {
  return (pair[0].toTensor().dequantize() + pair[1].toTensor().dequantize()).clamp(0, upper);
}

// Folds the clamp of `graph`; returns the outputs before and after.
std::pair<torch::Tensor, torch::Tensor> fold_and_run(const std::shared_ptr<torch::jit::Graph>& graph, int64_t expected_folds) {
  const auto inputs = quantized_pair();
  auto before = run_graph(graph, inputs);
  CHECK(quant::fold_relu6_into_quantized_ops(*graph) == expected_folds);
  return {before, run_graph(graph, inputs)};
}

}  // namespace

TEST_SUITE("quantize-relu6") {
  TEST_CASE("static INT8 of the MobileNetV2-style fixture folds its ReLU6 clamps and stays INT8 end to end") {
    auto c = load_case("relu6_net");
    const auto result = quant::quantize_static(c.model, Dataset{c.input}, quant::QuantConfig{});
    // stem, expand, depthwise (conv2d_relu), the residual add + F.relu6 (add_relu), fc + hardtanh(0, 2) (linear_relu)
    CHECK(result.relu6_folded == 5);
    auto ops = op_counts(*result.model.torchscript().get_method("forward").graph());
    CHECK(ops["quantized::conv2d_relu"] == 3);
    CHECK(ops["quantized::add_relu"] == 1);
    CHECK(ops["quantized::linear_relu"] == 1);
    CHECK(ops["aten::hardtanh"] == 2);  // after `shared`, whose output is read again, and nn.Hardtanh(-1, 1)
    CHECK(ops["aten::relu6"] + ops["aten::hardtanh_"] == 0);
    const auto boundaries = quant::quantization_boundaries(result.model);
    CHECK(boundaries["quantize"].get<int64_t>() == 1);  // neither F.relu6 nor the dropout leaves INT8
    CHECK(boundaries["dequantize"].get<int64_t>() == 1);
    auto reloaded = result.model.reloaded().torchscript();
    CHECK(test::sqnr_db(c.expected, run(reloaded, {c.input})) > 30.0);
  }

  TEST_CASE("relu6 becomes hardtanh(x, 0, 6) before observers, with the same output") {
    auto c = load_case("relu6_net");
    auto module = c.model.torchscript().clone();
    module.eval();
    CHECK(quant::relu6_as_hardtanh(module) == 2);  // the two F.relu6 calls, inlined
    CHECK(op_counts(*module.get_method("forward").graph())["aten::relu6"] == 0);
    CHECK(torch::allclose(run(module, {c.input}), c.expected, 1e-5, 1e-6));
    CHECK(quant::relu6_as_hardtanh(module) == 0);
  }

  TEST_CASE("a folded clamp is ReLU6 at the finer scale [0, 6] / 255") {
    auto graph = add_then_clamp("0.05", 10, "aten::hardtanh_(%y, %lo, %hi)");
    auto [before, after] = fold_and_run(graph, 1);
    CHECK(op_counts(*graph)["quantized::add_relu"] == 1);
    CHECK(after.q_zero_point() == 0);
    CHECK(after.q_scale() == doctest::Approx(6.0 / 255));
    const auto truth = float_relu6_sum(quantized_pair(), 6.0);
    const auto error_after = (after.dequantize() - truth).abs();
    CHECK(error_after.max().item<double>() <= 0.5 * 6.0 / 255 + 1e-6);
    CHECK(error_after.mean().item<double>() < (before.dequantize() - truth).abs().mean().item<double>());
  }

  TEST_CASE("when the old output range ends below the clamp, the fold keeps that end") {
    // scale 0.01, zero point 100: the add's output held [-1, 1.55], so 1.55 is the upper end.
    auto [before, after] = fold_and_run(add_then_clamp("0.01", 100, "aten::relu6(%y)"), 1);
    CHECK(after.q_scale() == doctest::Approx(1.55 / 255));
    CHECK(after.dequantize().max().item<double>() <= 1.55 + 1e-6);
    const auto truth = float_relu6_sum(quantized_pair(), 1.55);
    CHECK((after.dequantize() - truth).abs().max().item<double>() <= 0.5 * 1.55 / 255 + 1e-6);
    CHECK((after.dequantize() - before.dequantize()).abs().max().item<double>() <= 0.5 * (0.01 + 1.55 / 255) + 1e-6);
  }

  TEST_CASE("clamps the fold must leave alone") {
    SUBCASE("the quantized output is read again") {
      auto [before, after] = fold_and_run(add_then_clamp("0.05", 10, "aten::hardtanh(%y, %lo, %hi)", /*return_sum=*/true), 0);
      CHECK(torch::equal(before.int_repr(), after.int_repr()));
    }
    SUBCASE("a clamp that is not ReLU6-like") {
      fold_and_run(add_then_clamp("0.05", 10, "aten::hardtanh(%y, %m1, %p1)"), 0);
    }
    SUBCASE("output qparams that are not constants") {
      auto graph = add_then_clamp("%scale", 10, "aten::hardtanh(%y, %lo, %hi)");
      CHECK(quant::fold_relu6_into_quantized_ops(*graph) == 0);
    }
  }
}

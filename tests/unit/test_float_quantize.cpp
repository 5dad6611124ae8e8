// The fp32-op quantize of mopt's LibTorch 1.13 INT8 files is restored for the ONNX exporter, and
// quantized concatenations are rewritten as LibTorch computes them.
#include <torch/csrc/jit/ir/irparser.h>

#include "lib/model/float_quantize.h"
#include "tests/unit/test_helpers.h"

using namespace mopt;
using mopt::test::op_counts;
using mopt::test::run_graph;

namespace {

std::shared_ptr<torch::jit::Graph> quantize_graph(const std::string& scale, int zero_point) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%x : Tensor):
  %s : float = prim::Constant[value=)IR" + scale + R"IR(]()
  %z : int = prim::Constant[value=)IR" + std::to_string(zero_point) + R"IR(]()
  %t : int = prim::Constant[value=13]()
  %q : Tensor = aten::quantize_per_tensor(%x, %s, %z, %t)
  return (%q)
)IR", graph.get());
  return graph;
}

// The largest difference, in quantized steps, between two quantized tensors of the same shape.
int largest_step_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.int_repr().to(torch::kInt) - b.int_repr().to(torch::kInt)).abs().max().item<int>();
}

// quantized::cat([a, b], dim, 0.08, 90) of the graph's two inputs.
std::shared_ptr<torch::jit::Graph> quantized_cat_graph(int dim) {
  auto graph = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(R"IR(
graph(%a : Tensor, %b : Tensor):
  %dim : int = prim::Constant[value=)IR" + std::to_string(dim) + R"IR(]()
  %s : float = prim::Constant[value=0.08]()
  %z : int = prim::Constant[value=90]()
  %xs : Tensor[] = prim::ListConstruct(%a, %b)
  %q : Tensor = quantized::cat(%xs, %dim, %s, %z)
  return (%q)
)IR", graph.get());
  return graph;
}

}  // namespace

TEST_SUITE("float-quantize") {
  TEST_CASE("the fp32-op quantize of a LibTorch 1.13 file gives back quantize_per_tensor, and only that") {
    auto graph = std::make_shared<torch::jit::Graph>();
    torch::jit::parseIR(R"IR(
graph(%x : Tensor):
  %s : float = prim::Constant[value=0.1]()
  %z : int = prim::Constant[value=128]()
  %inv : float = prim::Constant[value=10.]()
  %zf : float = prim::Constant[value=128.]()
  %lo : float = prim::Constant[value=0.]()
  %hi : float = prim::Constant[value=255.]()
  %one : int = prim::Constant[value=1]()
  %u8 : int = prim::Constant[value=0]()
  %no : bool = prim::Constant[value=0]()
  %none : NoneType = prim::Constant()
  %m : Tensor = aten::mul(%x, %inv)
  %r : Tensor = aten::round_(%m)
  %a : Tensor = aten::add_(%r, %zf, %one)
  %c : Tensor = aten::clamp_(%a, %lo, %hi)
  %b : Tensor = aten::to(%c, %u8, %no, %no, %none)
  %q : Tensor = aten::_make_per_tensor_quantized_tensor(%b, %s, %z)
  return (%q)
)IR", graph.get());
    CHECK(restore_quantize_per_tensor(*graph) == 1);
    const auto ops = op_counts(*graph);
    CHECK(ops.at("aten::quantize_per_tensor") == 1);
    for (const char* gone : {"aten::mul", "aten::round_", "aten::add_", "aten::clamp_", "aten::to",
                             "aten::_make_per_tensor_quantized_tensor"}) {
      CHECK(ops.count(gone) == 0);
    }
    const auto x = torch::randn({4, 8});
    CHECK(torch::equal(run_graph(graph, {x}).int_repr(), run_graph(quantize_graph("0.1", 128), {x}).int_repr()));
  }

  TEST_CASE("quantized cat as LibTorch computes it for mixed qparams: dequantize, cat, quantize") {
    auto graph = quantized_cat_graph(1);
    auto rewritten = graph->copy();
    const auto cats = rewrite_quantized_cats(*rewritten);  // the inputs' rank is unknown: the slow path
    CHECK(cats.dequantized == 1);
    CHECK(cats.channels_last == 0);
    const auto ops = op_counts(*rewritten);
    CHECK(ops.count("quantized::cat") == 0);
    CHECK(ops.at("aten::dequantize") == 2);
    torch::manual_seed(1);
    const auto a = torch::quantize_per_tensor(torch::randn({1, 6, 5, 7}) * 3, 0.1, 100, torch::kQUInt8);
    const auto b = torch::quantize_per_tensor(torch::randn({1, 10, 5, 7}) * 2, 0.05, 30, torch::kQUInt8);
    // LibTorch's own slow path (inputs not channels-last): the same bytes.
    CHECK(torch::equal(run_graph(rewritten, {a, b}).int_repr(), run_graph(graph, {a, b}).int_repr()));
    // Its channels-last path requantizes directly: within one step.
    const auto a_nhwc = a.contiguous(at::MemoryFormat::ChannelsLast), b_nhwc = b.contiguous(at::MemoryFormat::ChannelsLast);
    CHECK(largest_step_difference(run_graph(rewritten, {a_nhwc, b_nhwc}), run_graph(graph, {a_nhwc, b_nhwc})) <= 1);
  }

  TEST_CASE("a quantized cat of 4-D inputs along channels is put on LibTorch's channels-last path") {
    // ShuffleNetV2's shape: one half of a chunked tensor next to a branch's output.
    auto graph = std::make_shared<torch::jit::Graph>();
    torch::jit::parseIR(R"IR(
graph(%x : Tensor, %y : Tensor):
  %one : int = prim::Constant[value=1]()
  %two : int = prim::Constant[value=2]()
  %s : float = prim::Constant[value=0.08]()
  %z : int = prim::Constant[value=90]()
  %parts : Tensor[] = aten::chunk(%x, %two, %one)
  %x1 : Tensor, %x2 : Tensor = prim::ListUnpack(%parts)
  %n : int = prim::Constant[value=1]()
  %c : int = prim::Constant[value=10]()
  %h : int = prim::Constant[value=5]()
  %w : int = prim::Constant[value=7]()
  %size : int[] = prim::ListConstruct(%n, %c, %h, %w)
  %b : Tensor = aten::view(%y, %size)
  %xs : Tensor[] = prim::ListConstruct(%x1, %b)
  %q : Tensor = quantized::cat(%xs, %one, %s, %z)
  return (%q)
)IR", graph.get());
    graph->inputs()[0]->setType(c10::TensorType::get()->withDim(4));
    auto rewritten = graph->copy();
    const auto cats = rewrite_quantized_cats(*rewritten);
    CHECK(cats.channels_last == 1);
    CHECK(cats.dequantized == 0);
    const auto ops = op_counts(*rewritten);
    CHECK(ops.at("aten::contiguous") == 2);
    CHECK(ops.at("quantized::cat") == 1);
    CHECK(ops.count("aten::dequantize") == 0);
    torch::manual_seed(2);
    const auto x = torch::quantize_per_tensor(torch::randn({1, 12, 5, 7}) * 3, 0.1, 100, torch::kQUInt8)
                       .contiguous(at::MemoryFormat::ChannelsLast);  // so its halves are strided views
    const auto y = torch::quantize_per_tensor(torch::randn({350}) * 2, 0.05, 30, torch::kQUInt8);
    const auto fast = run_graph(rewritten, {x, y});
    CHECK(fast.is_contiguous(at::MemoryFormat::ChannelsLast));
    // LibTorch's slow path (what the graph ran before) requantizes through fp32: within one step.
    CHECK(largest_step_difference(fast, run_graph(graph, {x, y})) <= 1);
    CHECK(torch::allclose(fast.dequantize(), run_graph(graph, {x, y}).dequantize(), 0, 0.08 + 1e-6));
  }

  TEST_CASE("a quantized cat of a list appended to after its construction is left as it is") {
    // DenseNet's dense block: features = [x]; features.append(layer(features)); cat(features, 1).
    auto graph = std::make_shared<torch::jit::Graph>();
    torch::jit::parseIR(R"IR(
graph(%x : Tensor, %y : Tensor):
  %one : int = prim::Constant[value=1]()
  %s : float = prim::Constant[value=0.08]()
  %z : int = prim::Constant[value=90]()
  %features : Tensor[] = prim::ListConstruct(%x)
  %appended : Tensor[] = aten::append(%features, %y)
  %q : Tensor = quantized::cat(%features, %one, %s, %z)
  return (%q)
)IR", graph.get());
    for (auto* input : graph->inputs()) input->setType(c10::TensorType::get()->withDim(4));
    auto rewritten = graph->copy();
    const auto cats = rewrite_quantized_cats(*rewritten);
    CHECK(cats.channels_last == 0);
    CHECK(cats.dequantized == 0);
    torch::manual_seed(3);
    const auto x = torch::quantize_per_tensor(torch::randn({1, 6, 5, 7}), 0.05, 90, torch::kQUInt8);
    const auto y = torch::quantize_per_tensor(torch::randn({1, 4, 5, 7}), 0.05, 90, torch::kQUInt8);
    const auto joined = run_graph(rewritten, {x, y});
    CHECK(joined.size(1) == 10);  // both elements, the appended one too
    CHECK(torch::equal(joined.int_repr(), run_graph(graph, {x, y}).int_repr()));
  }

  TEST_CASE("a quantized cat along another dimension keeps the written-out slow path") {
    auto graph = quantized_cat_graph(2);
    for (auto* input : graph->inputs()) input->setType(c10::TensorType::get()->withDim(4));
    const auto cats = rewrite_quantized_cats(*graph);
    CHECK(cats.channels_last == 0);
    CHECK(cats.dequantized == 1);
  }
}

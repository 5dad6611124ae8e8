// ONNX importer tests: small graphs built in C++, imported, run in LibTorch and compared with
// reference computations; weighted ops become real layers; dynamic dims stay dynamic; bad graphs
// are refused with exit 4 naming the node. (The conformance suites run in ctest's onnx_conformance.)
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "lib/errors.h"
#include "lib/data/readers.h"
#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/import/onnx_importer.h"
#include "tests/unit/test_helpers.h"
#include "tests/unit/onnx_test_builder.h"

using namespace mopt;
using namespace mopt::testing;
using onnx::TensorProto;

namespace {

at::Tensor run(const ImportedOnnx& imported, std::vector<c10::IValue> inputs) {
  torch::NoGradGuard no_grad;
  auto module = imported.module;
  return module.forward(std::move(inputs)).toTensor();
}

// The import fails as invalid input (exit 4) with a message holding `fragment`.
void expect_invalid(const onnx::ModelProto& model, const std::string& fragment) {
  try {
    import_onnx(model);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kInvalidInput);
    std::string message = e.what();
    INFO(message);
    CHECK(message.find(fragment) != std::string::npos);
  }
}

// Sets dim `i` of a graph input to a symbolic name (dynamic).
void make_dynamic(onnx::ModelProto& model, int input, int dim, const std::string& name) {
  model.mutable_graph()->mutable_input(input)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(dim)->set_dim_param(name);
}

int count_submodules_of_kind(const torch::jit::Module& module, const std::string& kind) {
  int count = 0;
  for (const auto& child : module.named_children()) {
    auto name = child.value.type()->name()->qualifiedName();
    count += name.size() >= kind.size() && name.compare(name.size() - kind.size(), kind.size(), kind) == 0;
  }
  return count;
}

// Conv(3->4, 3x3, pad 1) -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm(4->2).
onnx::ModelProto small_cnn(bool weights_in_constant_nodes) {
  torch::manual_seed(0);
  OnnxGraphBuilder b(13);
  b.input("x", {1, 3, 8, 8}).output("y", {1, 2});
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"conv.weight", torch::randn({4, 3, 3, 3})}, {"conv.bias", torch::randn({4})},
      {"bn.weight", torch::rand({4}) + 0.5},      {"bn.bias", torch::randn({4})},
      {"bn.running_mean", torch::randn({4})},      {"bn.running_var", torch::rand({4}) + 0.5},
      {"fc.weight", torch::randn({2, 4})},         {"fc.bias", torch::randn({2})}};
  for (const auto& [name, value] : tensors) {
    if (weights_in_constant_nodes) b.constant(name, value);
    else b.initializer(name, value);
  }
  set_attr_ints(b.node("Conv", {"x", "conv.weight", "conv.bias"}, {"c"}), "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, {"n"});
  b.node("Relu", {"n"}, {"r"});
  b.node("GlobalAveragePool", {"r"}, {"p"});
  b.node("Flatten", {"p"}, {"f"});
  set_attr(b.node("Gemm", {"f", "fc.weight", "fc.bias"}, {"y"}), "transB", 1);
  return b.build();
}

at::Tensor small_cnn_reference(const onnx::ModelProto& model, const at::Tensor& x) {
  auto get = [&](const std::string& name) {
    for (const auto& init : model.graph().initializer()) {
      if (init.name() == name) return *tensor_to_torch(init);
    }
    for (const auto& node : model.graph().node()) {
      if (node.op_type() == "Constant" && node.output(0) == name) return *tensor_to_torch(node.attribute(0).t());
    }
    return at::Tensor();
  };
  auto c = torch::conv2d(x, get("conv.weight"), get("conv.bias"), 1, 1);
  auto n = torch::batch_norm(c, get("bn.weight"), get("bn.bias"), get("bn.running_mean"), get("bn.running_var"), false,
                             0.1, 1e-5, false);
  auto p = torch::relu(n).mean({2, 3});
  return torch::linear(p, get("fc.weight"), get("fc.bias"));
}

}  // namespace

TEST_SUITE("onnx_import") {
  TEST_CASE("a small CNN imports as Conv2d/BatchNorm2d/Linear layers and matches the reference") {
    for (bool constant_nodes : {false, true}) {
      CAPTURE(constant_nodes);
      auto model = small_cnn(constant_nodes);
      auto imported = import_onnx(model);
      CHECK(count_submodules_of_kind(imported.module, ".Conv2d") == 1);
      CHECK(count_submodules_of_kind(imported.module, ".BatchNorm2d") == 1);
      CHECK(count_submodules_of_kind(imported.module, ".Linear") == 1);
      // Weights held in Constant nodes are parameters exactly like initializers (4 conv + BN affine + fc).
      int64_t parameters = 0;
      for (const auto& p : imported.module.parameters()) parameters += p.numel();
      CHECK(parameters == 4 * 3 * 3 * 3 + 4 + 4 + 4 + 2 * 4 + 2);
      CHECK(imported.names["parameters"].contains("conv.weight"));
      auto x = torch::randn({1, 3, 8, 8});
      CHECK(torch::allclose(run(imported, {x}), small_cnn_reference(model, x), 1e-4, 1e-5));
    }
  }

  TEST_CASE("Dropout is the identity at inference, and in training mode too when its ratio is 0 (Swin)") {
    for (double ratio : {0.0, 0.1}) {
      CAPTURE(ratio);
      OnnxGraphBuilder b(13);
      b.input("x", {2, 5}).output("y", {2, 5});
      b.initializer("ratio", torch::tensor(static_cast<float>(ratio))).initializer("training", torch::tensor(true));
      b.node("Dropout", {"x", "ratio", "training"}, {"y"});
      auto model = b.build();
      if (ratio == 0.0) {
        auto x = torch::randn({2, 5});
        CHECK(torch::equal(run(import_onnx(model), {x}), x));
      } else {
        CHECK_THROWS_WITH(import_onnx(model), doctest::Contains("Dropout in training mode (ratio > 0)"));
      }
    }
  }

  TEST_CASE("the imported module survives save and load, and exposes the graph's input names") {
    auto imported = import_onnx(small_cnn(false));
    std::stringstream buffer;
    imported.module.save(buffer);
    auto loaded = torch::jit::load(buffer);
    auto x = torch::randn({1, 3, 8, 8});
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(loaded.forward({x}).toTensor(), run(imported, {x})));
    CHECK(imported.names["inputs"] == nlohmann::json::array({"x"}));
    CHECK(imported.names["outputs"] == nlohmann::json::array({"y"}));
  }

  TEST_CASE("dynamic dims stay dynamic: Shape/Gather/Concat/Reshape are computed at run time") {
    // y = Reshape(x, Concat(Shape(x)[0], [-1])): flattens any [N, ...] input.
    OnnxGraphBuilder b(13);
    b.input("x", {2, 3, 4}).output("y", {2, 12});
    b.initializer("zero", torch::tensor(int64_t{0})).initializer("minus_one", torch::tensor({int64_t{-1}}));
    b.node("Shape", {"x"}, {"s"});
    b.node("Gather", {"s", "zero"}, {"n"});
    b.initializer("axes0", torch::tensor({int64_t{0}}));
    b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
    set_attr(b.node("Concat", {"n1", "minus_one"}, {"shape"}), "axis", 0);
    b.node("Reshape", {"x", "shape"}, {"y"});
    auto model = b.build();
    make_dynamic(model, 0, 0, "N");
    make_dynamic(model, 0, 2, "T");
    auto imported = import_onnx(model);
    for (auto shape : {std::vector<int64_t>{2, 3, 4}, std::vector<int64_t>{5, 3, 7}}) {
      auto x = torch::randn(shape);
      auto y = run(imported, {x});
      CHECK(y.sizes() == at::IntArrayRef({shape[0], shape[1] * shape[2]}));
      CHECK(torch::equal(y, x.reshape({shape[0], -1})));
    }
  }

  TEST_CASE("a constant-table Gather becomes an Embedding and a constant MatMul a Linear") {
    torch::manual_seed(1);
    auto table = torch::randn({10, 6});
    auto w = torch::randn({6, 3});
    OnnxGraphBuilder b(13);
    b.input("ids", {2, 4}, TensorProto::INT64).output("y", {2, 4, 3});
    b.initializer("embed.weight", table).initializer("proj", w);
    b.node("Gather", {"embed.weight", "ids"}, {"e"});
    b.node("MatMul", {"e", "proj"}, {"y"});
    auto imported = import_onnx(b.build());
    CHECK(count_submodules_of_kind(imported.module, ".Embedding") == 1);
    CHECK(count_submodules_of_kind(imported.module, ".Linear") == 1);
    auto ids = torch::randint(0, 10, {2, 4}, torch::kLong);
    CHECK(torch::allclose(run(imported, {ids}), torch::matmul(table.index_select(0, ids.reshape(-1)).reshape({2, 4, 6}), w),
                          1e-5, 1e-6));
  }

  // A forward ONNX LSTM (gates in ONNX's order: input, output, forget, cell) over x [steps, 1, features].
  at::Tensor onnx_lstm_reference(const at::Tensor& x, const at::Tensor& W, const at::Tensor& R, const at::Tensor& B,
                                 int64_t hidden) {
    auto h = torch::zeros({1, hidden}), c = torch::zeros({1, hidden});
    std::vector<at::Tensor> outputs;
    for (int64_t t = 0; t < x.size(0); ++t) {
      auto gates = torch::matmul(x[t], W[0].t()) + torch::matmul(h, R[0].t()) + B[0].slice(0, 0, 4 * hidden) +
                   B[0].slice(0, 4 * hidden);
      auto chunks = gates.chunk(4, 1);
      auto i = torch::sigmoid(chunks[0]), o = torch::sigmoid(chunks[1]), f = torch::sigmoid(chunks[2]);
      c = f * c + i * torch::tanh(chunks[3]);
      h = o * torch::tanh(c);
      outputs.push_back(h);
    }
    return torch::stack(outputs).unsqueeze(1);
  }

  TEST_CASE("LSTM gates are reordered from ONNX (iofc) to LibTorch (ifgo)") {
    // A forward LSTM with hidden 3: compare with a hand-written ONNX-order cell.
    torch::manual_seed(2);
    int64_t hidden = 3, features = 2, steps = 4;
    auto W = torch::randn({1, 4 * hidden, features}), R = torch::randn({1, 4 * hidden, hidden}), B = torch::randn({1, 8 * hidden});
    OnnxGraphBuilder b(13);
    b.input("x", {steps, 1, features}).output("y", {steps, 1, 1, hidden});
    b.initializer("W", W).initializer("R", R).initializer("B", B);
    set_attr(b.node("LSTM", {"x", "W", "R", "B"}, {"y"}), "hidden_size", hidden);
    auto imported = import_onnx(b.build());
    auto x = torch::randn({steps, 1, features});
    CHECK(torch::allclose(run(imported, {x}), onnx_lstm_reference(x, W, R, B, hidden), 1e-4, 1e-5));
  }

  TEST_CASE("weight arithmetic in an If branch is folded at import, before the LSTM converter reads it") {
    // Silero VAD's shape: y = If(c) then LSTM(x, Concat(Slice(W), Slice(W)), R, B) else LSTM(x, W, R, B),
    // the branch rebuilding the weight on every call unless the importer folds it.
    torch::manual_seed(5);
    int64_t hidden = 3, features = 2;
    auto W = torch::randn({1, 4 * hidden, features}), R = torch::randn({1, 4 * hidden, hidden}), B = torch::randn({1, 8 * hidden});
    OnnxGraphBuilder then_graph(17), else_graph(17);
    then_graph.constant("starts", torch::tensor({int64_t{0}}));
    then_graph.initializer("ends", torch::tensor({int64_t{12}})).initializer("axis", torch::tensor({int64_t{1}}));
    then_graph.initializer("sizes", torch::tensor({int64_t{5}, int64_t{7}}));
    then_graph.node("Slice", {"W", "starts", "ends", "axis"}, {"w_all"});  // W, rebuilt two ways:
    set_attr(then_graph.node("Split", {"W", "sizes"}, {"w_a", "w_b"}), "axis", 1);  // sliced, and split + concatenated
    set_attr(then_graph.node("Concat", {"w_a", "w_b"}, {"w_cat"}), "axis", 1);
    then_graph.node("Add", {"w_cat", "w_all"}, {"w_twice"});
    then_graph.node("Div", {"w_twice", "two"}, {"w_then"});
    set_attr(then_graph.node("LSTM", {"x", "w_then", "R", "B"}, {"y_then"}), "hidden_size", hidden);
    then_graph.output("y_then", {});
    set_attr(else_graph.node("LSTM", {"x", "W", "R", "B"}, {"y_else"}), "hidden_size", hidden);
    else_graph.output("y_else", {});
    OnnxGraphBuilder b(17);
    b.input("x", {1, 1, features}).input("c", {}, TensorProto::BOOL).output("y", {});
    b.initializer("W", W).initializer("R", R).initializer("B", B).initializer("two", torch::tensor(2.0f));
    auto& node = b.node("If", {"c"}, {"y"});
    for (const auto& [name, branch] : {std::pair{"then_branch", &then_graph}, std::pair{"else_branch", &else_graph}}) {
      auto& graph = set_attr_graph(node, name, branch->build().graph());
      graph.mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();  // steps vary
    }
    auto model = b.build();
    model.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
    make_dynamic(model, 0, 0, "steps");
    // inspect counts what the branches hold too: the then-branch's Constant (1) and initializers (1 + 1 + 2).
    const auto stored = Model::from_onnx(model);
    CHECK(parameter_totals(stored).count == W.numel() + R.numel() + B.numel() + 1 + 5);
    CHECK(op_histogram(stored).at("LSTM") == 2);
    auto imported = import_onnx(model);
    INFO(imported.source);
    CHECK(imported.source.find("torch.cat") == std::string::npos);  // folded: nothing rebuilds the weight per call
    CHECK(imported.source.find("torch.slice") == std::string::npos);
    CHECK(count_submodules_of_kind(imported.module, ".LSTM") == 2);  // constant weights: real LSTM layers
    for (int64_t steps : {1, 4}) {
      CAPTURE(steps);
      auto x = torch::randn({steps, 1, features});
      auto expected = onnx_lstm_reference(x, W, R, B, hidden);
      CHECK(torch::allclose(run(imported, {x, torch::tensor(true)}), expected, 1e-4, 1e-5));
      CHECK(torch::allclose(run(imported, {x, torch::tensor(false)}), expected, 1e-4, 1e-5));
    }
  }

  TEST_CASE("the exported LayerNorm decomposition becomes one LayerNorm layer, and only when it matches exactly") {
    torch::manual_seed(3);
    auto weight = torch::rand({8}) + 0.5, bias = torch::randn({8});
    auto build = [&](bool extra_reader) {
      OnnxGraphBuilder b(13);
      b.input("x", {2, 5, 8}).output("y", {2, 5, 8});
      b.initializer("two", torch::tensor(2.0f)).initializer("eps", torch::tensor(1e-5f));
      b.initializer("ln.weight", weight).initializer("ln.bias", bias);
      set_attr_ints(b.node("ReduceMean", {"x"}, {"m"}), "axes", {-1});
      b.node("Sub", {"x", "m"}, {"d"});
      b.node("Pow", {"d", "two"}, {"p"});
      set_attr_ints(b.node("ReduceMean", {"p"}, {"v"}), "axes", {-1});
      b.node("Add", {"v", "eps"}, {"ve"});
      b.node("Sqrt", {"ve"}, {"s"});
      b.node("Div", {"d", "s"}, {"n"});
      b.node("Mul", {"n", "ln.weight"}, {"w"});
      b.node(extra_reader ? "Sub" : "Add", {"w", extra_reader ? "d" : "ln.bias"}, {"y"});  // d read a third time
      return b.build();
    };
    auto x = torch::randn({2, 5, 8});
    auto expected = torch::layer_norm(x, {8}, weight, bias, 1e-5);
    auto fused = import_onnx(build(false));
    CHECK(count_submodules_of_kind(fused.module, ".LayerNorm") == 1);
    CHECK(torch::allclose(run(fused, {x}), expected, 1e-4, 1e-5));
    auto unfused = import_onnx(build(true));  // must not fire: an intermediate is read outside the pattern
    CHECK(count_submodules_of_kind(unfused.module, ".LayerNorm") == 0);
    auto d = x - x.mean(-1, true);
    auto n = d / (d.pow(2).mean(-1, true) + 1e-5).sqrt();
    CHECK(torch::allclose(run(unfused, {x}), n * weight - d, 1e-4, 1e-5));
  }

  TEST_CASE("paddle2onnx's spelled-out hardswish becomes torch.hardswish, and only when it matches exactly") {
    auto build = [&](float sixth) {
      OnnxGraphBuilder b(11);
      b.input("x", {2, 4, 5, 5}).output("y", {2, 4, 5, 5});
      b.initializer("three", torch::tensor({3.0f})).initializer("zero", torch::tensor(0.0f));
      b.initializer("six", torch::tensor(6.0f)).initializer("sixth", torch::tensor(sixth));
      b.node("Add", {"x", "three"}, {"a"});
      b.node("Clip", {"a", "zero", "six"}, {"c"});
      b.node("Mul", {"x", "c"}, {"m"});
      b.node("Mul", {"m", "sixth"}, {"y"});
      return b.build();
    };
    auto x = torch::randn({2, 4, 5, 5}) * 4;
    auto fused = import_onnx(build(1.0f / 6.0f));
    CHECK(fused.source.find("torch.hardswish") != std::string::npos);
    CHECK(fused.source.find("clamp") == std::string::npos);
    CHECK(torch::allclose(run(fused, {x}), torch::hardswish(x), 1e-5, 1e-6));
    auto other = import_onnx(build(0.2f));  // not 1/6: the nodes' own converters
    CHECK(other.source.find("torch.hardswish") == std::string::npos);
    CHECK(torch::allclose(run(other, {x}), x * torch::clamp(x + 3, 0, 6) * 0.2, 1e-5, 1e-6));
  }

  TEST_CASE("a scalar Mul and Add after a Conv fold into its weights (PP-LCNet's affine blocks)") {
    torch::manual_seed(5);
    auto weight = torch::randn({6, 3, 3, 3}), bias = torch::randn({6});
    auto build = [&](bool shared) {
      OnnxGraphBuilder b(13);
      b.input("x", {1, 3, 8, 8}).output("y", {1, 6, 8, 8});
      if (shared) b.output("conv", {1, 6, 8, 8});
      b.initializer("w", weight).initializer("b", bias);
      b.initializer("scale", torch::tensor({0.75f})).initializer("shift", torch::tensor({-0.5f}));
      set_attr_ints(b.node("Conv", {"x", "w", "b"}, {"conv"}), "pads", {1, 1, 1, 1});
      b.node("Mul", {"scale", "conv"}, {"scaled"});
      b.node("Add", {"scaled", "shift"}, {"y"});
      return b.build();
    };
    auto x = torch::randn({1, 3, 8, 8});
    auto conv = torch::conv2d(x, weight, bias, 1, 1);
    auto folded = import_onnx(build(false));
    CHECK(folded.source.find("torch.mul") == std::string::npos);
    CHECK(folded.source.find("torch.add") == std::string::npos);
    CHECK(torch::allclose(run(folded, {x}), conv * 0.75 - 0.5, 1e-4, 1e-5));
    auto kept = import_onnx(build(true));  // the conv's output is also a graph output: nothing folds
    CHECK(kept.source.find("torch.mul") != std::string::npos);
  }

  TEST_CASE("reflect/edge/wrap Pad on any rank: LibTorch's kernels take one or two unpadded leading dims") {
    // Silero VAD (legacy) pads only the last axis of a 1x1x1x512 tensor; also every axis of a 3x5
    // matrix and the last axis of a 5-D tensor.
    struct Case {
      std::vector<int64_t> shape, pads;
    };
    const std::vector<Case> cases = {{{1, 1, 1, 8}, {0, 0, 0, 3, 0, 0, 0, 2}},
                                     {{3, 5}, {1, 2, 2, 1}},
                                     {{2, 1, 2, 1, 6}, {0, 0, 0, 0, 2, 0, 0, 0, 0, 3}}};
    const std::vector<std::pair<std::string, std::string>> modes = {
        {"reflect", "reflect"}, {"edge", "replicate"}, {"wrap", "circular"}};
    torch::manual_seed(3);
    for (const auto& c : cases) {
      auto x = torch::randn(c.shape);
      for (const auto& mode : modes) {
        const std::string& onnx_mode = mode.first;  // not a structured binding: INFO captures it (clang)
        const std::string& torch_mode = mode.second;
        const auto rank = static_cast<int64_t>(c.shape.size());
        std::vector<int64_t> out_shape = c.shape;
        for (int64_t i = 0; i < rank; ++i) out_shape[i] += c.pads[i] + c.pads[i + rank];
        OnnxGraphBuilder b(19);
        b.input("x", c.shape).output("y", out_shape);
        b.initializer("pads", torch::tensor(c.pads));
        set_attr_string(b.node("Pad", {"x", "pads"}, {"y"}), "mode", onnx_mode);
        // Reference: torch.nn.functional.pad on a view whose leading dims fit the kernel.
        int64_t first = 0;  // the first padded axis
        while (c.pads[first] == 0 && c.pads[first + rank] == 0) ++first;
        std::vector<int64_t> torch_pads;
        for (int64_t i = rank - 1; i >= first; --i) torch_pads.insert(torch_pads.end(), {c.pads[i], c.pads[i + rank]});
        std::vector<int64_t> folded = {-1, 1};  // batch and channel dims, then the padded ones
        folded.insert(folded.end(), c.shape.begin() + first, c.shape.end());
        namespace F = torch::nn::functional;
        auto options = F::PadFuncOptions(torch_pads);
        if (torch_mode == "reflect") options.mode(torch::kReflect);
        else if (torch_mode == "replicate") options.mode(torch::kReplicate);
        else options.mode(torch::kCircular);
        auto padded = F::pad(x.reshape(folded), options);
        INFO(onnx_mode << " on rank " << rank);
        CHECK(torch::equal(run(import_onnx(b.build()), {x}), padded.reshape(out_shape)));
      }
    }
  }

  TEST_CASE("a Kx1 Conv over a one-wide input (tf2onnx's Conv1D) runs as conv1d; other widths stay conv2d") {
    torch::manual_seed(4);
    auto w = torch::randn({6, 4, 3, 1}), bias = torch::randn({6});
    for (const int64_t width : {1, 5}) {
      for (const int64_t stride : {1, 2}) {
        CAPTURE(width);
        CAPTURE(stride);
        const std::vector<int64_t> in_shape = {2, 4, 9, width};
        const auto expected = torch::conv2d(torch::zeros(in_shape), w, bias, {stride, 1}, {1, 0});
        OnnxGraphBuilder b(17);
        b.input("x", in_shape).output("y", expected.sizes().vec());
        b.initializer("w", w).initializer("b", bias);
        auto& conv = b.node("Conv", {"x", "w", "b"}, {"y"});
        set_attr_ints(conv, "pads", {1, 0, 1, 0});
        set_attr_ints(conv, "strides", {stride, 1});
        auto imported = import_onnx(b.build());
        const auto x = torch::randn(in_shape);
        CHECK((run(imported, {x}) - torch::conv2d(x, w, bias, {stride, 1}, {1, 0})).abs().max().item<double>() < 1e-5);
        const bool as_1d = imported.source.find("conv1d") != std::string::npos ||
                           imported.module.dump_to_str(true, false, false).find("conv1d") != std::string::npos;
        CHECK(as_1d == (width == 1));
      }
    }
  }

  TEST_CASE("STFT: a windowed real signal, [batch, samples, 1] or [batch, samples] as ONNX Runtime takes it") {
    // onnx-asr's feature extractors (Whisper, NeMo, Kaldi) call STFT on a 2-D waveform.
    torch::manual_seed(6);
    const int64_t samples = 100, length = 16, step = 6;
    const auto window = torch::hann_window(length);
    const auto x = torch::randn({2, samples});
    // torch.stft without centering: [batch, bins, frames] complex -> ONNX's [batch, frames, bins, 2].
    const auto expected = torch::view_as_real(torch::stft(x, length, step, length, window, /*normalized=*/false,
                                                          /*onesided=*/true, /*return_complex=*/true))
                              .permute({0, 2, 1, 3});
    const int64_t frames = (samples - length) / step + 1;
    for (const bool trailing_one : {true, false}) {
      CAPTURE(trailing_one);
      OnnxGraphBuilder b(17);
      b.input("x", trailing_one ? std::vector<int64_t>{2, samples, 1} : std::vector<int64_t>{2, samples});
      b.output("y", {2, frames, length / 2 + 1, 2});
      b.initializer("step", torch::tensor(step)).initializer("window", window);
      // onesided is 1 by default; said explicitly, since ONNX 1.23's shape inference reads 0 when it is absent.
      set_attr(b.node("STFT", {"x", "step", "window"}, {"y"}), "onesided", 1);
      auto y = run(import_onnx(b.build()), {trailing_one ? x.unsqueeze(-1) : x});
      REQUIRE(y.sizes() == expected.sizes());
      CHECK((y - expected).abs().max().item<double>() < 1e-4);
    }
  }

  TEST_CASE("If runs its branch graphs, which read the enclosing graph's values; scopes are checked") {
    // y = If(sum(x) > 0) then relu(x) * 2 else -x: both branches read x from the main graph.
    auto model_with = [](const std::string& then_reads, const std::string& then_output, const std::string& then_op) {
      OnnxGraphBuilder then_graph(17), else_graph(17);
      then_graph.node(then_op, {then_reads}, {"t"});
      then_graph.node("Add", {"t", "t"}, {"t2"});
      then_graph.output(then_output, {2, 3});
      else_graph.node("Neg", {"x"}, {"e"});
      else_graph.output("e", {2, 3});
      OnnxGraphBuilder b(17);
      b.input("x", {2, 3}).output("y", {2, 3}).initializer("zero", torch::zeros({}));
      set_attr(b.node("ReduceSum", {"x"}, {"s"}), "keepdims", 0);
      b.node("Greater", {"s", "zero"}, {"c"});
      auto& node = b.node("If", {"c"}, {"y"});
      set_attr_graph(node, "then_branch", then_graph.build().graph());
      set_attr_graph(node, "else_branch", else_graph.build().graph());
      return b.build();
    };
    auto imported = import_onnx(model_with("x", "t2", "Relu"));
    auto positive = torch::tensor({{1.0f, -2.0f, 3.0f}, {0.5f, 0.0f, -1.0f}});
    CHECK(torch::equal(run(imported, {positive}), torch::relu(positive) * 2));
    CHECK(torch::equal(run(imported, {-positive}), positive));

    expect_invalid(model_with("nothere", "t2", "Relu"), "reads 'nothere', which neither it nor an enclosing graph defines");
    expect_invalid(model_with("x", "missing", "Relu"), "has output 'missing', which neither it nor an enclosing graph defines");
    expect_invalid(model_with("x", "t2", "Bernoulli"), "no converter for Bernoulli (opset 17)");  // listed from inside the branch
  }

  TEST_CASE("unsupported ops are all listed at once, with exit 4") {
    OnnxGraphBuilder b(13);
    b.input("x", {4}).output("y", {4});
    b.node("RandomUniformLike", {"x"}, {"a"});
    b.node("Relu", {"a"}, {"b"});
    b.node("RandomUniformLike", {"b"}, {"c"});
    b.node("RandomNormalLike", {"c"}, {"y"});
    auto model = b.build();
    auto ops = unsupported_ops(model);
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].op_type == "RandomNormalLike");
    CHECK(ops[1].op_type == "RandomUniformLike");
    CHECK(ops[1].nodes.size() == 2);
    expect_invalid(model, "RandomNormalLike");
    expect_invalid(model, "RandomUniformLike (opset 13): nodes RandomUniformLike_1, RandomUniformLike_3");
  }

  TEST_CASE("structural errors name the node: undefined input, cycle, bad initializer, type mismatch") {
    {
      OnnxGraphBuilder b(13);
      b.input("x", {4}).output("y", {4});
      b.node("Add", {"x", "missing"}, {"y"});
      expect_invalid(b.build(), "reads 'missing'");
    }
    {
      OnnxGraphBuilder b(13);
      b.input("x", {4}).output("y", {4});
      b.node("Add", {"x", "b"}, {"a"});
      b.node("Relu", {"a"}, {"b"});
      b.node("Relu", {"a"}, {"y"});
      expect_invalid(b.build(), "cycle");
    }
    {
      OnnxGraphBuilder b(13);
      b.input("x", {4}).output("y", {4});
      b.initializer("w", torch::ones({4}));
      b.node("Add", {"x", "w"}, {"y"});
      auto model = b.build();
      model.mutable_graph()->mutable_initializer(0)->set_dims(0, 5);  // 4 floats, dims say 5
      expect_invalid(model, "initializer 'w'");
    }
    {
      OnnxGraphBuilder b(13);
      b.input("x", {4}).input("i", {4}, TensorProto::INT64).output("y", {4});
      b.node("Add", {"x", "i"}, {"y"});
      expect_invalid(b.build(), "type");
    }
  }

  TEST_CASE("MaxUnpool takes indices from its MaxPool; indices of no known shape are refused before ONNX's inference") {
    auto pool_unpool = [](bool indices_from_pool) {
      OnnxGraphBuilder b(11);
      b.input("x", {1, 1, 4, 4}).output("y", {1, 1, 4, 4});
      auto& pool = b.node("MaxPool", {"x"}, {"p", "i"});
      set_attr_ints(pool, "kernel_shape", {2, 2});
      set_attr_ints(pool, "strides", {2, 2});
      // Indices passed through another node have no declared shape: refused, conservatively,
      // since mopt cannot know before ONNX's inference whether they will have one.
      if (!indices_from_pool) b.node("Identity", {"i"}, {"copy"});
      auto& unpool = b.node("MaxUnpool", {"p", indices_from_pool ? "i" : "copy"}, {"y"});
      set_attr_ints(unpool, "kernel_shape", {2, 2});
      set_attr_ints(unpool, "strides", {2, 2});
      return b.build();
    };
    auto imported = import_onnx(pool_unpool(true));
    auto x = torch::arange(16, torch::kFloat).reshape({1, 1, 4, 4});
    auto y = imported.module.forward({x}).toTensor();
    CHECK(y.sum().item<float>() == doctest::Approx(5 + 7 + 13 + 15));
    try {
      import_onnx(pool_unpool(false));
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kInvalidInput);
      CHECK(std::string(e.what()).find("MaxUnpool's indices 'copy'") != std::string::npos);
    }
  }

  TEST_CASE("graph_input_spec fills a symbolic batch with 1 and names other dynamic dims") {
    auto model = small_cnn(false);
    CHECK(graph_input_spec(model) == "x:1x3x8x8:float32");
    make_dynamic(model, 0, 0, "N");
    CHECK(graph_input_spec(model) == "x:1x3x8x8:float32");
    make_dynamic(model, 0, 2, "H");
    try {
      graph_input_spec(model);
      FAIL("expected a usage error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK(std::string(e.what()).find("input 'x' (H) has dynamic dims") != std::string::npos);
      CHECK(std::string(e.what()).find("e.g. 'x:1x3x?x8:float32'") != std::string::npos);
    }
  }

  TEST_CASE("a two-input model (token ids and mask, as BERT-style exports take them) imports and matches PyTorch") {
    auto model = Model::load(mopt::test::fixture("onnx_import/two_input.onnx"));
    try {
      graph_input_spec(model.onnx());
      FAIL("expected a usage error");
    } catch (const Error& e) {  // both inputs named, with one example spec for all of them
      CHECK(std::string(e.what()).find("inputs 'input_ids' (T), 'attention_mask' (T) have dynamic dims") != std::string::npos);
      CHECK(std::string(e.what()).find("'input_ids:1x?:int64;attention_mask:1x?:int64'") != std::string::npos);
    }
    auto imported = to_torchscript(model);
    auto ids = read_npy(mopt::test::fixture("onnx_import/two_input.input_ids.npy"));
    auto mask = read_npy(mopt::test::fixture("onnx_import/two_input.attention_mask.npy"));
    auto expected = read_npy(mopt::test::fixture("onnx_import/two_input.output.npy"));
    auto got = run_model(imported, std::vector<torch::Tensor>{ids, mask});
    CHECK(torch::allclose(got, expected, 1e-4, 1e-5));
  }
}

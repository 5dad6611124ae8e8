// ONNX QDQ quantizer: which nodes are quantized, how the weights and bias are stored, and that the
// rewritten model validates and computes what the fp32 model does within quantization error.
#include <doctest/doctest.h>
#include <onnx/checker.h>

#include <map>

#include "calibration/qparams.h"
#include "lib/errors.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/quantize/ort_node_times.h"
#include "passes/quantize/onnx/activation_calibration.h"
#include "passes/quantize/onnx/dynamic_quantizer.h"
#include "passes/quantize/onnx/int8_weights.h"
#include "passes/quantize/onnx/qdq_quantizer.h"
#include "tests/unit/onnx_test_builder.h"

using namespace mopt;
using namespace mopt::onnx_quant;
using mopt::testing::OnnxGraphBuilder;

namespace {

// x -> Conv(+bias) -> Relu -> MaxPool -> Flatten -> Gemm(+bias) -> y
onnx::ModelProto conv_gemm_model() {
  torch::manual_seed(7);
  OnnxGraphBuilder b(13);
  b.input("x", {4, 2, 6, 6}).output("y", {4, 5});
  b.initializer("conv.weight", torch::randn({3, 2, 3, 3}) * torch::tensor({1.0, 0.1, 4.0}).reshape({3, 1, 1, 1}));
  b.initializer("conv.bias", torch::randn({3}));
  b.initializer("fc.weight", torch::randn({5, 12}));
  b.initializer("fc.bias", torch::randn({5}));
  b.node("Conv", {"x", "conv.weight", "conv.bias"}, {"c"});
  b.node("Relu", {"c"}, {"r"});
  auto& pool = b.node("MaxPool", {"r"}, {"p"});
  auto* k = pool.add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(2);
  k->add_ints(2);
  auto* s = pool.add_attribute();
  s->set_name("strides");
  s->set_type(onnx::AttributeProto::INTS);
  s->add_ints(2);
  s->add_ints(2);
  b.node("Flatten", {"p"}, {"f"});
  auto& gemm = b.node("Gemm", {"f", "fc.weight", "fc.bias"}, {"y"});
  auto* t = gemm.add_attribute();
  t->set_name("transB");
  t->set_type(onnx::AttributeProto::INT);
  t->set_i(1);
  return b.build();
}

torch::Tensor run(const onnx::ModelProto& model, const torch::Tensor& x) {
  auto imported = import_onnx(model);
  return imported.module.forward({x}).toTensor();
}

const onnx::TensorProto& initializer(const onnx::ModelProto& model, const std::string& name) {
  auto* t = find_initializer(model.graph(), name);
  REQUIRE(t != nullptr);
  return *t;
}

}  // namespace

TEST_SUITE("onnx_qdq") {
  TEST_CASE("plan: Conv and Gemm quantized, Relu folded into the Q, pooling and flatten share parameters") {
    auto model = conv_gemm_model();
    auto plan = plan_qdq(model, QdqOptions{});
    CHECK(plan.targets == std::vector<int>{0, 4});
    CHECK(plan.folded_activation.at(0) == 1);
    CHECK(plan.passthrough == std::vector<int>{2, 3});
    CHECK(plan.calibrate == std::vector<std::string>{"x", "r", "y"});
    CHECK(plan.shares_params.at("f") == "p");

    QdqOptions symmetric;
    symmetric.symmetric_activations = true;  // zero point 0 in int8 is not a Relu: keep it
    CHECK(plan_qdq(model, symmetric).folded_activation.empty());
  }

  TEST_CASE("rewrite: validates, int8 weights and int32 bias dequantize to the fp32 values, outputs agree") {
    auto model = conv_gemm_model();
    auto plan = plan_qdq(model, QdqOptions{});
    auto calib = torch::randn({16, 2, 6, 6});
    auto calibration = calibrate_tensors(model, plan.calibrate, {calib}, "minmax", CalibratorOptions{}, 8, [](const std::string&) {});
    CHECK(calibration.ranges.at("r").min >= 0.0);  // measured after the Relu
    nlohmann::json summary;
    auto qdq = apply_qdq(model, plan, calibration.ranges, QdqOptions{}, summary);
    onnx::checker::check_model(qdq);
    CHECK(summary["quantized_nodes"].dump() == R"({"Conv":1,"Gemm":1})");
    int relus = 0, quantize = 0;
    for (const auto& node : qdq.graph().node()) {
      relus += node.op_type() == "Relu";
      quantize += node.op_type() == "QuantizeLinear";
    }
    CHECK(relus == 0);
    CHECK(quantize == 5);  // x, r, then p and f (r's params, shared), y
    CHECK(find_initializer(qdq.graph(), "conv.weight") == nullptr);  // replaced, not kept beside

    // Weights: per output channel, int8 in [-127, 127], within half a step of the fp32 values.
    auto w = *tensor_to_torch(initializer(model, "conv.weight"));
    auto wq = *tensor_to_torch(initializer(qdq, "conv.weight_quantized"));
    auto ws = *tensor_to_torch(initializer(qdq, "conv.weight_scale"));
    CHECK((wq.scalar_type() == torch::kInt8));
    CHECK(ws.sizes().vec() == std::vector<int64_t>{3});
    CHECK(wq.abs().max().item<int>() == 127);
    auto step = ws.reshape({3, 1, 1, 1});
    CHECK(((wq.to(torch::kFloat) * step - w).abs() <= step / 2 + 1e-7).all().item<bool>());
    // Bias: int32 at x_scale * w_scale.
    auto b = *tensor_to_torch(initializer(model, "conv.bias"));
    auto bq = *tensor_to_torch(initializer(qdq, "conv.bias_quantized"));
    auto bs = *tensor_to_torch(initializer(qdq, "conv.bias_scale"));
    auto xs = tensor_to_torch(initializer(qdq, "x_scale"))->item<float>();
    CHECK((bq.scalar_type() == torch::kInt));
    CHECK(torch::allclose(bs, ws * xs));
    CHECK(((bq.to(torch::kFloat) * bs - b).abs() <= bs / 2 + 1e-7).all().item<bool>());
    // Gemm with transB=1 ([N, K]): per output channel too, and its bias per channel at x_scale * w_scale.
    CHECK(tensor_to_torch(initializer(qdq, "fc.weight_scale"))->sizes().vec() == std::vector<int64_t>{5});
    CHECK(tensor_to_torch(initializer(qdq, "fc.bias_scale"))->sizes().vec() == std::vector<int64_t>{5});

    auto x = torch::randn({4, 2, 6, 6});
    auto expected = run(model, x), got = run(qdq, x);
    auto cosine = torch::cosine_similarity(expected.flatten(), got.flatten(), 0).item<double>();
    CHECK(cosine > 0.99);
    CHECK_FALSE(torch::equal(expected, got));  // it really is quantized
  }

  TEST_CASE("activations of 1e-9 keep their resolution: ONNX Runtime's scale floor, not PyTorch's eps") {
    // PyTorch's observers floor a scale at float32's epsilon (1.2e-7), which quantizes a tensor of
    // 1e-9 (random-weight MobileNetV2's activations) to zeros; ORT's quantizer floors at FLT_MIN.
    auto model = conv_gemm_model();
    auto plan = plan_qdq(model, QdqOptions{});
    auto calib = torch::rand({16, 2, 6, 6}) * 1e-9;
    auto calibration = calibrate_tensors(model, plan.calibrate, {calib}, "minmax", CalibratorOptions{}, 8, [](const std::string&) {});
    nlohmann::json summary;
    auto qdq = apply_qdq(model, plan, calibration.ranges, QdqOptions{}, summary);
    const auto x_scale = tensor_to_torch(initializer(qdq, "x_scale"))->item<float>();
    CHECK(x_scale == doctest::Approx(calib.max().item<float>() / 255).epsilon(1e-3));
    CHECK(choose_qparams({0, 1e-9}, 0, 255, false).scale == doctest::Approx(std::numeric_limits<float>::epsilon()));
  }

  TEST_CASE("Split keeps its input's parameters (ORT runs it INT8); Shape reads the INT8 tensor, no DequantizeLinear of its own") {
    // ShuffleNetV2's channel split and shuffle: left fp32, each Split cost a DQ and two Qs per call in
    // ORT, and each Shape a DQ of the whole tensor.
    torch::manual_seed(3);
    OnnxGraphBuilder b(13);
    b.input("x", {1, 2, 4, 4}).output("y", {1, 2, 4, 4}).output("shape", {4}, onnx::TensorProto::INT64);
    b.initializer("w", torch::randn({4, 2, 1, 1}));
    b.initializer("halves", torch::tensor({2, 2}, torch::kLong));
    b.node("Conv", {"x", "w"}, {"c"});
    testing::set_attr(b.node("Split", {"c", "halves"}, {"s0", "s1"}), "axis", 1);
    b.node("Shape", {"s0"}, {"shape"});
    b.node("Add", {"s0", "s1"}, {"y"});
    auto model = b.build();
    auto plan = plan_qdq(model, QdqOptions{});
    REQUIRE(plan.passthrough.size() == 1);
    CHECK(plan.shares_params.at("s0") == "c");
    CHECK(plan.shares_params.at("s1") == "c");
    auto calibration = calibrate_tensors(model, plan.calibrate, {torch::randn({8, 2, 4, 4})}, "minmax", CalibratorOptions{}, 8,
                                         [](const std::string&) {});
    nlohmann::json summary;
    auto qdq = apply_qdq(model, plan, calibration.ranges, QdqOptions{}, summary);
    onnx::checker::check_model(qdq);
    std::map<std::string, std::string> producer;
    for (const auto& node : qdq.graph().node()) {
      for (const auto& out : node.output()) producer[out] = node.op_type();
    }
    for (const auto& node : qdq.graph().node()) {
      if (node.op_type() == "Split") CHECK(producer[node.input(0)] == "DequantizeLinear");
      if (node.op_type() == "Shape") CHECK(producer[node.input(0)] == "QuantizeLinear");
      if (node.op_type() == "Add") {  // both halves dequantized from their own Qs, with the Conv output's scale
        CHECK(producer[node.input(0)] == "DequantizeLinear");
        CHECK(producer[node.input(1)] == "DequantizeLinear");
      }
    }
  }

  TEST_CASE("--skip keeps matching nodes in fp32 and says why; bad inputs are invalid input") {
    auto model = conv_gemm_model();
    QdqOptions options;
    options.skip = {"fc.*"};  // a weight initializer's name
    auto plan = plan_qdq(model, options);
    CHECK(plan.targets == std::vector<int>{0});
    REQUIRE(plan.skipped.size() == 1);
    CHECK(plan.skipped[0].op_type == "Gemm");
    CHECK(plan.skipped[0].reason == "--skip");

    auto nan = torch::full({4, 2, 6, 6}, NAN);
    CHECK_THROWS_AS(calibrate_tensors(model, {"x"}, {nan}, "minmax", CalibratorOptions{}, 4, [](const std::string&) {}), Error);
    CHECK_THROWS_AS(calibrate_tensors(model, {"x"}, {torch::zeros({0, 2, 6, 6})}, "minmax", CalibratorOptions{}, 4,
                                      [](const std::string&) {}),
                    Error);
    OnnxGraphBuilder old(12);
    old.input("x", {1, 2}).output("y", {1, 2});
    old.node("Add", {"x", "x"}, {"y"});
    try {
      plan_qdq(old.build(), QdqOptions{});
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kInvalidInput);
      CHECK(std::string(e.what()).find("--per-tensor") != std::string::npos);
    }
  }

  TEST_CASE("accuracy fallback: the nodes behind an activation, producer first; a node returned to fp32 says why") {
    auto model = conv_gemm_model();
    auto plan = plan_qdq(model, QdqOptions{});
    CHECK(nodes_touching(model, plan, "r") == std::vector<std::string>{"Conv_1"});  // through its folded Relu
    CHECK(nodes_touching(model, plan, "x") == std::vector<std::string>{"Conv_1"});
    CHECK(nodes_touching(model, plan, "y") == std::vector<std::string>{"Gemm_5"});
    CHECK(nodes_touching(model, plan, "p").empty());  // shared parameters, no quantized node reads it

    QdqOptions options;
    options.keep_fp32 = {{"Conv_1", "accuracy fallback (most sensitive)"}};
    auto fallback = plan_qdq(model, options);
    CHECK(fallback.targets == std::vector<int>{4});
    REQUIRE(fallback.skipped.size() == 1);
    CHECK(fallback.skipped[0].node == "Conv_1");
    CHECK(fallback.skipped[0].reason == "accuracy fallback (most sensitive)");
    // With the Conv in fp32 nothing upstream is quantized: the Gemm's input needs a range of its own.
    CHECK(fallback.calibrate == std::vector<std::string>{"f", "y"});
  }

  TEST_CASE("ORT op profiles traced to source nodes through ORT's renaming; slower INT8 named only at the input edge") {
    const auto model = conv_gemm_model();  // Conv_1 reads the graph input x; Gemm_5 reads the flattened pool
    // Two profiled calls; kernels as ORT names them after its fusions.
    auto profile = [](const std::vector<std::tuple<std::string, std::string, int64_t>>& kernels) {
      nlohmann::json trace = nlohmann::json::array();
      for (int64_t run = 0; run < 2; ++run) {
        const int64_t start = run * 1000;
        trace.push_back({{"cat", "Session"}, {"name", "model_run"}, {"ts", start}, {"dur", 900}, {"tid", 1}});
        int64_t ts = start + 1;
        for (const auto& [name, op, dur] : kernels) {
          trace.push_back({{"cat", "Node"}, {"name", name + "_kernel_time"}, {"ts", ts}, {"dur", dur}, {"tid", 1},
                           {"args", {{"op_name", op}}}});
          ts += dur;
        }
      }
      return OrtProfile{trace, 0, {0.9, 0.9}};
    };
    // fp32: the NCHWc Conv with the Relu fused is named after the Relu's output tensor.
    const auto fp32 = quant::ort_node_times(
        profile({{"r_nchwc", "Conv", 100}, {"ReorderOutput_token_3", "ReorderOutput", 10}, {"Gemm_5", "Gemm", 20}}),
        model.graph());
    const auto int8 = quant::ort_node_times(profile({{"x_quantized_QuantizeLinear", "QuantizeLinear", 30},
                                                     {"Conv_1_token_7", "QLinearConv", 200},
                                                     {"Gemm_5_token_9", "QGemm", 500}}),
                                            model.graph());
    REQUIRE(fp32.count("Conv_1"));
    CHECK(fp32.at("Conv_1").us == doctest::Approx(100));
    CHECK(fp32.at("Conv_1").kernel == "Conv");
    CHECK(int8.at("Conv_1").us == doctest::Approx(200));
    CHECK(int8.at("Conv_1").kernel == "QLinearConv");
    CHECK(fp32.size() == 2);  // the reorder belongs to no node
    CHECK(int8.size() == 2);  // nor does the QuantizeLinear

    // The Gemm is slower still in INT8, but inside the INT8 region: fp32 there would add a Q/DQ pair.
    const auto slower = quant::slower_at_input_edge(model.graph(), fp32, int8);
    REQUIRE(slower.size() == 1);
    CHECK(slower[0].node == "Conv_1");
    CHECK(slower[0].op_type == "Conv");
    CHECK(slower[0].fp32_us == doctest::Approx(100));
    CHECK(slower[0].int8_us == doctest::Approx(200));
    // Within the margin (1.1x and 10 us), nothing is named.
    const auto close = quant::ort_node_times(profile({{"Conv_1_token_7", "QLinearConv", 108}}), model.graph());
    CHECK(quant::slower_at_input_edge(model.graph(), fp32, close).empty());
  }

  TEST_CASE("dynamic MatMul: int8 weight per output column (or per tensor) within half a step, outputs closer per column") {
    torch::manual_seed(5);
    // Columns of very different magnitude, as trained projections have: one scale for all of them
    // rounds the small columns to a few levels.
    auto w = torch::randn({16, 6}) * torch::tensor({4.0, 0.05, 1.0, 0.02, 2.0, 0.1});
    OnnxGraphBuilder b(13);
    b.input("x", {8, 16}).output("y", {8, 6});
    b.initializer("W", w);
    b.node("MatMul", {"x", "W"}, {"y"});
    auto model = b.build();
    auto x = torch::randn({8, 16});
    auto expected = run(model, x);
    std::map<bool, double> error;
    for (bool per_column : {true, false}) {
      CAPTURE(per_column);
      nlohmann::json summary;
      auto q = apply_dynamic(model, {}, per_column, 127, summary);
      onnx::checker::check_model(q);
      CHECK(summary["quantized_nodes"].dump() == R"({"MatMul":1})");
      auto int8 = *tensor_to_torch(initializer(q, "W_quantized"));
      auto scale = *tensor_to_torch(initializer(q, "W_scale"));
      auto zero = *tensor_to_torch(initializer(q, "W_zero_point"));
      CHECK((int8.scalar_type() == torch::kInt8));
      CHECK(scale.sizes().vec() == (per_column ? std::vector<int64_t>{6} : std::vector<int64_t>{}));
      CHECK(zero.sizes() == scale.sizes());
      CHECK(((int8.to(torch::kFloat) * scale - w).abs() <= scale / 2 + 1e-7).all().item<bool>());
      auto got = run(q, x);
      error[per_column] = ((got - expected).abs() / expected.abs().amax(0)).max().item<double>();
    }
    CHECK(error[true] < 0.05);
    CHECK(error[true] < error[false] / 2);  // relative to each column's scale
    // 7-bit weights (reduce-range, for ORT on CPUs without VNNI): each column's largest weight maps to +-63.
    nlohmann::json summary;
    auto seven_bit = *tensor_to_torch(initializer(apply_dynamic(model, {}, true, 63, summary), "W_quantized"));
    CHECK(seven_bit.abs().amax(0).eq(63).all().item<bool>());
    CHECK(int8_weight_limit("on") == 63);
    CHECK(int8_weight_limit("off") == 127);
  }

  TEST_CASE("dynamic LSTM: DynamicQuantizeLSTM with int8 W/R per direction, transposed, within half a step; GRU stays fp32") {
    torch::manual_seed(3);
    const int64_t hidden = 4, in = 3;
    OnnxGraphBuilder b(14);
    b.input("x", {5, 2, in}).output("y", {5, 2, 2, hidden});
    b.initializer("W", torch::randn({2, 4 * hidden, in}));
    b.initializer("R", torch::randn({2, 4 * hidden, hidden}) * torch::tensor({1.0, 0.1}).reshape({2, 1, 1}));
    auto& lstm = b.node("LSTM", {"x", "W", "R"}, {"y"});
    auto* h = lstm.add_attribute();
    h->set_name("hidden_size");
    h->set_type(onnx::AttributeProto::INT);
    h->set_i(hidden);
    auto* d = lstm.add_attribute();
    d->set_name("direction");
    d->set_type(onnx::AttributeProto::STRING);
    d->set_s("bidirectional");
    auto model = b.build();
    nlohmann::json summary;
    auto q = apply_dynamic(model, {}, true, 127, summary);
    onnx::checker::check_model(q);
    CHECK(summary["quantized_nodes"].dump() == R"({"LSTM":1})");
    REQUIRE(q.graph().node_size() == 1);
    const auto& node = q.graph().node(0);
    CHECK(node.op_type() == "DynamicQuantizeLSTM");
    CHECK(node.domain() == "com.microsoft");
    CHECK(node.input_size() == 12);
    CHECK(find_initializer(q.graph(), "W") == nullptr);
    for (const auto& [name, cols] : {std::pair<std::string, int64_t>{"W", in}, {"R", hidden}}) {
      auto fp32 = *tensor_to_torch(initializer(model, name));
      auto int8 = *tensor_to_torch(initializer(q, name + "_quantized"));
      auto scale = *tensor_to_torch(initializer(q, name + "_scale"));
      CHECK((int8.scalar_type() == torch::kInt8));
      CHECK(int8.sizes().vec() == std::vector<int64_t>{2, cols, 4 * hidden});  // [dirs, input, 4*hidden]
      CHECK(scale.sizes().vec() == std::vector<int64_t>{2});  // one per direction
      auto step = scale.reshape({2, 1, 1});
      auto back = int8.transpose(1, 2).to(torch::kFloat) * step;
      CHECK(((back - fp32).abs() <= step / 2 + 1e-7).all().item<bool>());
    }
    // ONNX Runtime has no INT8 GRU: it stays fp32 with its reason, and then nothing is quantized.
    OnnxGraphBuilder g(14);
    g.input("x", {5, 2, in}).output("y", {5, 1, 2, hidden});
    g.initializer("W", torch::randn({1, 3 * hidden, in}));
    g.initializer("R", torch::randn({1, 3 * hidden, hidden}));
    auto& gru = g.node("GRU", {"x", "W", "R"}, {"y"});
    *gru.add_attribute() = *h;
    nlohmann::json gru_summary;
    apply_dynamic(g.build(), {}, true, 127, gru_summary);
    CHECK(gru_summary["quantized_nodes"].empty());
    CHECK(gru_summary["fp32_nodes"][0]["reason"] == "ONNX Runtime has no dynamic INT8 GRU kernel");
  }

  TEST_CASE("integer shape arithmetic (int64 Mul/Add/Concat, as transformers export) is never quantized") {
    OnnxGraphBuilder b(13);
    b.input("x", {2, 4}).output("y", {2, 4}).output("s2", {2}, onnx::TensorProto::INT64);
    b.node("Shape", {"x"}, {"s"});
    b.node("Mul", {"s", "s"}, {"s2"});  // int64 by int64: both "activations", no constant
    b.node("Add", {"x", "x"}, {"y"});
    auto plan = plan_qdq(b.build(), QdqOptions{});
    CHECK(plan.targets == std::vector<int>{2});
    CHECK(plan.calibrate == std::vector<std::string>{"x", "y"});
    CHECK(plan.fp32_op_types.empty());  // Shape and int64 Mul are not float ops left behind
  }

  TEST_CASE("a weight two nodes read is stored once in int8, each reader with its own DequantizeLinear") {
    torch::manual_seed(3);
    const auto weight = torch::randn({8, 8});
    const auto calib = torch::randn({16, 8});
    // The same network with the weight shared, and with two equal copies of it.
    auto quantized = [&](bool shared, nlohmann::json& summary) {
      OnnxGraphBuilder b(13);
      b.input("x", {2, 8}).output("y", {2, 8});
      b.initializer("shared", weight);
      if (!shared) b.initializer("copy", weight.clone());
      b.node("MatMul", {"x", "shared"}, {"h"});
      b.node("Relu", {"h"}, {"r"});
      b.node("MatMul", {"r", shared ? "shared" : "copy"}, {"y"});
      auto model = b.build();
      auto plan = plan_qdq(model, QdqOptions{});
      auto calibration = calibrate_tensors(model, plan.calibrate, {calib}, "minmax", CalibratorOptions{}, 8, [](const std::string&) {});
      return apply_qdq(model, plan, calibration.ranges, QdqOptions{}, summary);
    };
    nlohmann::json summary, copies_summary;
    auto qdq = quantized(true, summary);
    auto copies = quantized(false, copies_summary);
    onnx::checker::check_model(qdq);
    int int8_initializers = 0, weight_dequantize = 0;
    for (const auto& t : qdq.graph().initializer()) int8_initializers += t.data_type() == onnx::TensorProto::INT8 && t.dims_size() == 2;
    for (const auto& node : qdq.graph().node()) weight_dequantize += node.op_type() == "DequantizeLinear" && node.input(0) == "shared_quantized";
    CHECK(int8_initializers == 1);
    CHECK(weight_dequantize == 2);
    CHECK(summary["weights_quantized"] == 1);
    CHECK(copies_summary["weights_quantized"] == 2);
    auto x = torch::randn({2, 8});
    CHECK(torch::equal(run(qdq, x), run(copies, x)));  // stored once, computed the same
    // A MatMul weight [K, N] is per output column: 8 scales, DequantizeLinear on axis 1.
    auto w = *tensor_to_torch(initializer(qdq, "shared_quantized"));
    auto scale = *tensor_to_torch(initializer(qdq, "shared_scale"));
    CHECK(scale.sizes().vec() == std::vector<int64_t>{8});
    CHECK(((w.to(torch::kFloat) * scale - weight).abs() <= scale / 2 + 1e-7).all().item<bool>());
    for (const auto& node : qdq.graph().node()) {
      if (node.op_type() == "DequantizeLinear" && node.input(0) == "shared_quantized") {
        REQUIRE(node.attribute_size() == 1);
        CHECK(node.attribute(0).name() == "axis");
        CHECK(node.attribute(0).i() == 1);
      }
    }
  }

  TEST_CASE("Sigmoid and Softmax inside the graph are quantized (ORT's table kernels); at the output, and ops of kinds not quantized, fp32") {
    OnnxGraphBuilder b(13);
    b.input("x", {2, 4}).output("y", {2, 4});
    b.node("Add", {"x", "x"}, {"a"});
    b.node("Softmax", {"a"}, {"s"});
    b.node("Sigmoid", {"s"}, {"g"});
    b.node("Erf", {"g"}, {"e"});
    b.node("Softmax", {"e"}, {"y"});
    auto plan = plan_qdq(b.build(), QdqOptions{});
    CHECK(plan.targets == std::vector<int>{0, 1, 2});  // ORT runs DQ -> Sigmoid -> Q as QLinearSigmoid
    CHECK(plan.fp32_op_types == std::map<std::string, int>{{"Erf", 1}, {"Softmax", 1}});  // probabilities out stay fp32
  }
}

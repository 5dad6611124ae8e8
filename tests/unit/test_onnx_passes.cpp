// Golden tests for the ONNX graph passes: build a small graph, run the pass by its registered name
// through the pipeline, count ops, check onnx::checker, and compare numbers before/after (LibTorch
// reference always; ONNX Runtime via lib/runtime/ort when it is installed).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/pipeline/pass_manager.h"
#include "passes/register_all_passes.h"
#include "tests/unit/onnx_test_builder.h"

namespace fs = std::filesystem;
using namespace mopt;
using namespace mopt::testing;
using onnx::TensorProto;

namespace {

// Runs `pipeline_text` on a copy of `model` through the real registry and parser.
PipelineResult run_onnx_pipeline(const onnx::ModelProto& model, const std::string& pipeline_text) {
  static const PassRegistry registry = make_default_registry();
  return run_pipeline(Model::from_onnx(model), parse_pipeline(pipeline_text), registry);
}

bool same_proto(const onnx::ModelProto& a, const onnx::ModelProto& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// Relative tolerance stated by the testing pattern for folded/fused float math.
constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;

// ---- ONNX Runtime runner (lib/runtime/ort/run_onnx.js) -------------------------------------------

fs::path ort_dir() { return fs::path(MOPT_SOURCE_DIR) / "scripts" / "ort"; }

bool ort_available() {
  static const bool available = fs::exists(ort_dir() / "node_modules" / "onnxruntime-node") &&
                                std::system("node --version > /dev/null 2>&1") == 0;
  return available;
}

// Writes a float32 C-order .npy (version 1.0).
void write_npy(const fs::path& path, const at::Tensor& tensor) {
  auto data = tensor.to(at::kFloat).contiguous();
  std::string shape;
  for (auto d : data.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  shape = "(" + shape + (data.dim() == 1 ? ",)" : ")");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t length = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&length), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
}

// A per-process scratch folder, removed at exit.
struct ScratchDir {
  fs::path path = fs::temp_directory_path() / fmt::format("mopt-onnx-passes-{}", ::getpid());
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// Runs `model` on `input` through ONNX Runtime; nullopt (with a failure) when the run fails.
std::optional<at::Tensor> run_ort(const onnx::ModelProto& model, const at::Tensor& input, const std::string& tag) {
  static ScratchDir scratch;
  auto model_path = scratch.path / (tag + ".onnx");
  auto input_path = scratch.path / (tag + ".input.npy");
  auto output_path = scratch.path / (tag + ".output.npy");
  Model::from_onnx(model).save(model_path);
  write_npy(input_path, input);
  auto command = fmt::format("node '{}' '{}' '{}' '{}'", (ort_dir() / "run_onnx.js").string(), model_path.string(),
                             input_path.string(), output_path.string());
  int rc = std::system(command.c_str());
  if (rc != 0) {
    FAIL_CHECK("ONNX Runtime failed (rc " << rc << "): " << command);
    return std::nullopt;
  }
  return read_npy(output_path);
}

// Compares ORT's outputs for the model before and after a pass, and against the LibTorch reference.
void check_with_ort(const onnx::ModelProto& before, const onnx::ModelProto& after, const at::Tensor& input,
                    const at::Tensor& reference, const std::string& tag) {
  if (!ort_available()) {
    MESSAGE("ONNX Runtime check skipped: run `cd lib/runtime/ort && npm install --ignore-scripts` (needs node)");
    return;
  }
  auto out_before = run_ort(before, input, tag + "-before");
  auto out_after = run_ort(after, input, tag + "-after");
  if (!out_before || !out_after) return;
  REQUIRE(out_before->sizes() == out_after->sizes());
  CHECK(at::allclose(*out_after, *out_before, kRtol, kAtol));
  CHECK(at::allclose(*out_before, reference, kRtol, kAtol));
}

}  // namespace

TEST_SUITE("onnx-passes") {

// ---- eliminate-identity --------------------------------------------------------------------------

TEST_CASE("eliminate-identity removes inner Identity chains") {
  OnnxGraphBuilder g;
  g.input("X", {2, 3});
  g.node("Identity", {"X"}, {"a"});
  g.node("Relu", {"a"}, {"b"});
  g.node("Identity", {"b"}, {"c"});
  g.node("Identity", {"c"}, {"d"});
  g.node("Neg", {"d"}, {"Y"});
  g.output("Y", {2, 3});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "eliminate-identity");
  const auto& after = result.model.onnx();
  CHECK(count_ops(after, "Identity") == 0);
  CHECK(after.graph().node_size() == 2);
  CHECK(after.graph().node(0).input(0) == "X");
  CHECK(after.graph().node(1).input(0) == "b");
  CHECK(output_names(after) == std::vector<std::string>{"Y"});
  CHECK(result.records.at(0).stats.rewrites == 3);
  CHECK(result.records.at(0).stats.details["nodes_before"] == 5);
  CHECK(result.records.at(0).stats.details["nodes_after"] == 2);
  CHECK(check_model_message(after) == "");
}

TEST_CASE("eliminate-identity keeps graph output names by renaming the producer") {
  OnnxGraphBuilder g;
  g.input("X", {4});
  g.node("Relu", {"X"}, {"r"});
  g.node("Identity", {"r"}, {"Y"});
  g.node("Neg", {"r"}, {"Z"});
  g.output("Y", {4});
  g.output("Z", {4});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "eliminate-identity");
  const auto& after = result.model.onnx();
  CHECK(count_ops(after, "Identity") == 0);
  CHECK(output_names(after) == std::vector<std::string>{"Y", "Z"});
  CHECK(after.graph().node(0).output(0) == "Y");  // Relu now produces the graph output directly
  CHECK(after.graph().node(1).input(0) == "Y");   // and Neg reads the renamed value
  CHECK(result.records.at(0).stats.details["producers_renamed_to_graph_output"] == 1);
  CHECK(check_model_message(after) == "");
}

TEST_CASE("eliminate-identity must not fire when an Identity is the only link between interface names") {
  OnnxGraphBuilder g;
  g.input("X", {4});
  g.node("Identity", {"X"}, {"Y"});  // graph input -> graph output: both names are interface
  g.node("Relu", {"X"}, {"Z"});
  g.node("Identity", {"Z"}, {"W"});  // Z is itself a graph output: cannot rename it to W
  g.output("Y", {4});
  g.output("Z", {4});
  g.output("W", {4});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "eliminate-identity");
  CHECK(same_proto(result.model.onnx(), before));
  CHECK(result.records.at(0).stats.rewrites == 0);
  CHECK(result.records.at(0).stats.details["identities_kept"] == 2);
  CHECK(check_model_message(result.model.onnx()) == "");
}

// ---- eliminate-dead-nodes ------------------------------------------------------------------------

TEST_CASE("eliminate-dead-nodes drops unreachable nodes and their initializers") {
  OnnxGraphBuilder g;
  g.input("X", {2, 2});
  g.initializer("W", at::ones({2, 2}));
  g.initializer("K", at::ones({2, 2}));
  g.node("Add", {"X", "K"}, {"Y"});
  g.node("Neg", {"X"}, {"n"});      // dead
  g.node("Sqrt", {"n"}, {"s"});     // dead
  g.node("Transpose", {"W"}, {"t"});  // dead, and the only reader of W
  g.output("Y", {2, 2});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "eliminate-dead-nodes");
  const auto& after = result.model.onnx();
  CHECK(after.graph().node_size() == 1);
  CHECK(count_ops(after, "Add") == 1);
  CHECK(find_initializer(after.graph(), "W") == nullptr);
  CHECK(find_initializer(after.graph(), "K") != nullptr);
  const auto& stats = result.records.at(0).stats;
  CHECK(stats.details["nodes_removed"] == 3);
  CHECK(stats.details["initializers_removed"] == 1);
  CHECK(stats.rewrites == 4);
  CHECK(check_model_message(after) == "");
}

TEST_CASE("eliminate-dead-nodes must not fire when everything is live") {
  OnnxGraphBuilder g;
  g.input("X", {3});
  g.input("unused", {3});  // graph inputs are interface: never removed
  g.node("Relu", {"X"}, {"r"});
  g.node("Neg", {"r"}, {"Y"});
  g.output("Y", {3});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "eliminate-dead-nodes");
  CHECK(same_proto(result.model.onnx(), before));
  CHECK(result.records.at(0).stats.rewrites == 0);
}

// ---- fold-constants ------------------------------------------------------------------------------

TEST_CASE("fold-constants replaces an initializer-only subgraph by one initializer") {
  torch::manual_seed(7);
  auto w = torch::rand({3, 2}) + 0.5;
  auto bias = torch::randn({6});
  OnnxGraphBuilder g;
  g.input("X", {2, 3});
  g.initializer("W", w);
  g.initializer("B", bias);
  g.node("Transpose", {"W"}, {"wt"});
  g.constant("two", torch::tensor(2.0f));
  g.node("Mul", {"wt", "two"}, {"m"});
  g.node("Sqrt", {"m"}, {"s"});
  g.constant("shape", torch::tensor({2, 3}, torch::kLong));
  g.node("Reshape", {"B", "shape"}, {"rb"});
  g.node("Add", {"s", "rb"}, {"k"});
  g.node("Add", {"X", "k"}, {"Y"});
  g.output("Y", {2, 3});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fold-constants");
  const auto& after = result.model.onnx();
  CHECK(after.graph().node_size() == 1);
  CHECK(count_ops(after, "Constant") == 0);
  REQUIRE(after.graph().initializer_size() == 1);
  CHECK(after.graph().initializer(0).name() == "k");
  const auto& stats = result.records.at(0).stats;
  CHECK(stats.rewrites == 1);
  CHECK(stats.details["nodes_before"] == 8);
  CHECK(stats.details["nodes_after"] == 1);
  CHECK(stats.details["initializers_removed"] == 2);
  CHECK(check_model_message(after) == "");

  // Numbers: the materialized tensor equals the LibTorch evaluation of the removed subgraph.
  auto expected_k = torch::sqrt(w.t() * 2.0f) + bias.reshape({2, 3});
  auto k = initializer_value(after, "k");
  REQUIRE(k.defined());
  CHECK(torch::allclose(k, expected_k, kRtol, kAtol));

  auto x = torch::randn({2, 3});
  check_with_ort(before, after, x, x + expected_k, "fold");
}

TEST_CASE("fold-constants evaluates each supported op like ONNX does") {
  OnnxGraphBuilder g;
  g.input("X", {1});
  g.node("Relu", {"X"}, {"Y"});
  g.output("Y", {1});
  g.initializer("i", torch::tensor({7, -7, 9}, torch::kInt));
  g.initializer("d", torch::tensor({2, 2, -4}, torch::kInt));
  g.initializer("f", torch::tensor({-1.5f, 4.0f}));
  g.initializer("m", torch::arange(6, torch::kFloat).reshape({1, 2, 3}));
  g.initializer("ax0", torch::tensor({0}, torch::kLong));
  g.node("Div", {"i", "d"}, {"div"});  // integer division truncates toward zero
  g.node("Sub", {"f", "f"}, {"sub"});
  g.node("Neg", {"f"}, {"neg"});
  g.node("Reciprocal", {"f"}, {"rec"});
  g.node("Relu", {"f"}, {"relu"});
  g.node("Squeeze", {"m", "ax0"}, {"sq"});
  g.node("Unsqueeze", {"f", "ax0"}, {"unsq"});
  set_attr(g.node("Concat", {"f", "f"}, {"cat"}), "axis", 0);
  set_attr(g.node("Cast", {"f"}, {"cast"}), "to", TensorProto::INT64);
  g.node("Shape", {"m"}, {"shape"});
  g.node("Identity", {"f"}, {"ident"});
  g.output("div", {3}, TensorProto::INT32);
  g.output("sub", {2});
  g.output("neg", {2});
  g.output("rec", {2});
  g.output("relu", {2});
  g.output("sq", {2, 3});
  g.output("unsq", {1, 2});
  g.output("cat", {4});
  g.output("cast", {2}, TensorProto::INT64);
  g.output("shape", {3}, TensorProto::INT64);
  g.output("ident", {2});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fold-constants");
  const auto& after = result.model.onnx();
  CHECK(after.graph().node_size() == 1);  // only the runtime Relu is left
  CHECK(result.records.at(0).stats.rewrites == 11);
  CHECK(check_model_message(after) == "");
  auto value = [&](const char* name) { return initializer_value(after, name); };
  CHECK(torch::equal(value("div"), torch::tensor({3, -3, -2}, torch::kInt)));
  CHECK(torch::equal(value("sub"), torch::zeros({2})));
  CHECK(torch::equal(value("neg"), torch::tensor({1.5f, -4.0f})));
  CHECK(torch::allclose(value("rec"), torch::tensor({-1 / 1.5f, 0.25f})));
  CHECK(torch::equal(value("relu"), torch::tensor({0.0f, 4.0f})));
  CHECK(value("sq").sizes() == at::IntArrayRef({2, 3}));
  CHECK(value("unsq").sizes() == at::IntArrayRef({1, 2}));
  CHECK(torch::equal(value("cat"), torch::tensor({-1.5f, 4.0f, -1.5f, 4.0f})));
  CHECK(torch::equal(value("cast"), torch::tensor({-1, 4}, torch::kLong)));  // truncation, like C
  CHECK(torch::equal(value("shape"), torch::tensor({1, 2, 3}, torch::kLong)));
  CHECK(torch::equal(value("ident"), torch::tensor({-1.5f, 4.0f})));
}

// PyTorch's exporter shares a weight between two layers as W and Identity(W): folding the Identity
// into an initializer would store W twice.
TEST_CASE("fold-constants keeps an Identity of a weight that another node still reads") {
  torch::manual_seed(3);
  auto w = torch::randn({4, 4});
  OnnxGraphBuilder g;
  g.input("X", {2, 4});
  g.initializer("W", w);
  g.node("Identity", {"W"}, {"W_shared"});
  g.node("MatMul", {"X", "W"}, {"h"});
  g.node("MatMul", {"h", "W_shared"}, {"Y"});
  g.output("Y", {2, 4});
  const auto before = g.build();
  auto result = run_onnx_pipeline(before, "fold-constants");
  CHECK(same_proto(result.model.onnx(), before));
  CHECK(result.records.at(0).stats.rewrites == 0);
  const auto cleaned = run_onnx_pipeline(before, "fold-constants,eliminate-identity").model.onnx();
  CHECK(cleaned.graph().initializer_size() == 1);
  CHECK(count_ops(cleaned, "Identity") == 0);
  auto x = torch::randn({2, 4});
  check_with_ort(before, cleaned, x, x.mm(w).mm(w), "fold-shared");
}

TEST_CASE("fold-constants folds inside If branches, reading the enclosing graph's constants") {
  // Y = If(X.sum() > 0) then X + Transpose(W) * two (two a Constant of the branch) else X - W';
  // the branch's weight arithmetic becomes one Constant of the branch, and W (read by nothing
  // else any more) leaves the main graph.
  torch::manual_seed(8);
  auto w = torch::randn({2, 2});
  OnnxGraphBuilder then_graph(17), else_graph(17), g(17);
  then_graph.node("Transpose", {"W"}, {"wt"});
  then_graph.constant("two", torch::tensor(2.0f));
  then_graph.node("Mul", {"wt", "two"}, {"wt2"});
  then_graph.node("Add", {"X", "wt2"}, {"t"});
  then_graph.output("t", {2, 2});
  else_graph.node("Sub", {"X", "wt_main"}, {"e"});
  else_graph.output("e", {2, 2});
  g.input("X", {2, 2}).output("Y", {2, 2});
  g.initializer("W", w).initializer("zero", torch::zeros({}));
  g.node("Transpose", {"W"}, {"wt_main"});
  set_attr(g.node("ReduceSum", {"X"}, {"s"}), "keepdims", 0);
  g.node("Greater", {"s", "zero"}, {"c"});
  auto& node = g.node("If", {"c"}, {"Y"});
  set_attr_graph(node, "then_branch", then_graph.build().graph());
  set_attr_graph(node, "else_branch", else_graph.build().graph());
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fold-constants");
  const auto& after = result.model.onnx();
  const auto& stats = result.records.at(0).stats;
  CHECK(stats.details["subgraph_nodes_folded"] == 3);  // Transpose, Constant, Mul
  CHECK(stats.details["nodes_folded"] == 4);           // and the main graph's Transpose
  const auto& then_after = after.graph().node(2).attribute(0).g();
  REQUIRE(then_after.node_size() == 2);
  CHECK(then_after.node(0).op_type() == "Constant");
  CHECK(then_after.node(0).output(0) == "wt2");
  CHECK(then_after.node(1).op_type() == "Add");
  CHECK(find_initializer(after.graph(), "W") == nullptr);  // only the folded nodes read it
  REQUIRE(find_initializer(after.graph(), "wt_main") != nullptr);  // the else branch still reads it
  CHECK(check_model_message(after) == "");

  auto positive = torch::ones({2, 2});
  check_with_ort(before, after, positive, positive + w.t() * 2.0f, "fold-if-then");
  check_with_ort(before, after, -positive, -positive - w.t(), "fold-if-else");
}

TEST_CASE("fold-constants must not fire on runtime inputs, unsupported ops or overridable initializers") {
  OnnxGraphBuilder g;
  g.input("X", {2, 2});
  g.input("Wdefault", {2, 2});  // initializer + graph input: a default the caller may override
  g.initializer("W", torch::ones({2, 2}));
  g.initializer("Wdefault", torch::ones({2, 2}));
  g.initializer("spare", torch::ones({1}));  // unused before the pass: not the pass's to remove
  g.constant("c", torch::tensor(3.0f));
  g.node("Mul", {"X", "c"}, {"xc"});           // runtime input
  g.node("RandomUniformLike", {"W"}, {"ww"});  // constant input, but an op the importer does not convert
  g.node("Neg", {"Wdefault"}, {"nd"});         // overridable initializer
  g.node("Shape", {"X"}, {"sx"});              // Shape of a runtime value
  g.node("Add", {"xc", "ww"}, {"a"});
  g.node("Add", {"a", "nd"}, {"Y"});
  g.output("Y", {2, 2});
  g.output("sx", {2}, TensorProto::INT64);
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fold-constants");
  CHECK(same_proto(result.model.onnx(), before));
  CHECK(result.records.at(0).stats.rewrites == 0);
  CHECK(result.records.at(0).stats.details["skipped_unsupported"] == 1);
}

TEST_CASE("fold-constants{max-size} refuses to materialize large tensors") {
  OnnxGraphBuilder g;
  g.input("X", {10, 10});
  g.initializer("W", torch::randn({10, 10}));
  g.node("Transpose", {"W"}, {"wt"});
  g.node("Add", {"X", "wt"}, {"Y"});
  g.output("Y", {10, 10});
  auto before = g.build();

  auto small = run_onnx_pipeline(before, "fold-constants{max-size=99}");
  CHECK(same_proto(small.model.onnx(), before));
  CHECK(small.records.at(0).stats.details["skipped_too_large"] == 1);

  auto large = run_onnx_pipeline(before, "fold-constants{max-size=100}");
  CHECK(count_ops(large.model.onnx(), "Transpose") == 0);
  CHECK(large.records.at(0).stats.rewrites == 1);
  CHECK(check_model_message(large.model.onnx()) == "");
}

// ---- fuse-conv-bn --------------------------------------------------------------------------------

namespace {

struct BnParams {
  at::Tensor scale, beta, mean, var;
  float eps;
};

BnParams random_bn(int64_t channels, float eps) {
  return {torch::rand({channels}) + 0.5, torch::randn({channels}), torch::randn({channels}) * 0.1,
          torch::rand({channels}) + 0.5, eps};
}

void add_bn(OnnxGraphBuilder& g, const std::string& prefix, const BnParams& p, const std::string& in,
            const std::string& out) {
  g.initializer(prefix + "_scale", p.scale);
  g.initializer(prefix + "_beta", p.beta);
  g.initializer(prefix + "_mean", p.mean);
  g.initializer(prefix + "_var", p.var);
  set_attr_float(g.node("BatchNormalization",
                        {in, prefix + "_scale", prefix + "_beta", prefix + "_mean", prefix + "_var"}, {out}),
                 "epsilon", p.eps);
}

at::Tensor torch_bn(const at::Tensor& x, const BnParams& p) {
  return torch::batch_norm(x, p.scale, p.beta, p.mean, p.var, /*training=*/false, 0.0, p.eps, false);
}

}  // namespace

TEST_CASE("fuse-conv-bn folds BatchNormalization into Conv, with and without bias") {
  torch::manual_seed(42);
  auto w1 = torch::randn({4, 3, 3, 3}) * 0.3;
  auto b1 = torch::randn({4});
  auto w2 = torch::randn({5, 4, 1, 1}) * 0.3;
  auto bn1 = random_bn(4, 1e-3f);
  auto bn2 = random_bn(5, 1e-5f);

  OnnxGraphBuilder g;
  g.input("X", {1, 3, 8, 8});
  g.initializer("W1", w1);
  g.initializer("B1", b1);
  g.initializer("W2", w2);
  set_attr_ints(g.node("Conv", {"X", "W1", "B1"}, {"z1"}), "pads", {1, 1, 1, 1});
  add_bn(g, "bn1", bn1, "z1", "y1");
  g.node("Conv", {"y1", "W2"}, {"z2"});  // no bias: the pass must create one
  add_bn(g, "bn2", bn2, "z2", "Y");
  g.output("Y", {1, 5, 8, 8});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fuse-conv-bn");
  const auto& after = result.model.onnx();
  CHECK(count_ops(after, "Conv") == 2);
  CHECK(count_ops(after, "BatchNormalization") == 0);
  CHECK(output_names(after) == std::vector<std::string>{"Y"});
  CHECK(after.graph().node(1).output(0) == "Y");
  CHECK(after.graph().node(1).input_size() == 3);
  CHECK(after.graph().initializer_size() == 4);  // W1 B1 W2 + the new bias; BN params are gone
  const auto& stats = result.records.at(0).stats;
  CHECK(stats.rewrites == 2);
  CHECK(stats.details["nodes_before"] == 4);
  CHECK(stats.details["nodes_after"] == 2);
  CHECK(stats.details["initializers_removed"] == 8);
  CHECK(check_model_message(after) == "");

  // Numbers: conv+bn in LibTorch vs conv with the fused weights read back from the model.
  auto x = torch::randn({1, 3, 8, 8});
  auto reference = torch_bn(torch::conv2d(torch_bn(torch::conv2d(x, w1, b1, {1, 1}, {1, 1}), bn1), w2), bn2);
  const auto& conv2 = after.graph().node(1);
  auto fused_y1 = torch::conv2d(x, initializer_value(after, "W1"), initializer_value(after, "B1"), {1, 1}, {1, 1});
  auto fused = torch::conv2d(fused_y1, initializer_value(after, conv2.input(1)),
                             initializer_value(after, conv2.input(2)));
  CHECK(torch::allclose(fused, reference, kRtol, kAtol));
  check_with_ort(before, after, x, reference, "conv-bn");
}

TEST_CASE("constants-to-initializers lifts paddle2onnx-style Constant weights so fuse-conv-bn fires") {
  torch::manual_seed(7);
  auto w = torch::randn({4, 3, 3, 3}) * 0.3;
  auto bn = random_bn(4, 1e-5f);
  OnnxGraphBuilder g;
  g.input("X", {1, 3, 8, 8});
  g.constant("W", w);
  g.constant("bn_scale", bn.scale).constant("bn_beta", bn.beta).constant("bn_mean", bn.mean).constant("bn_var", bn.var);
  set_attr_ints(g.node("Conv", {"X", "W"}, {"z"}), "pads", {1, 1, 1, 1});
  set_attr_float(g.node("BatchNormalization", {"z", "bn_scale", "bn_beta", "bn_mean", "bn_var"}, {"Y"}), "epsilon", bn.eps);
  g.output("Y", {1, 4, 8, 8});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  // On its own, fuse-conv-bn finds no initializers to rewrite: nothing changes.
  CHECK(same_proto(run_onnx_pipeline(before, "fuse-conv-bn").model.onnx(), before));
  auto result = run_onnx_pipeline(before, "constants-to-initializers,fuse-conv-bn");
  const auto& after = result.model.onnx();
  CHECK(result.records.at(0).stats.rewrites == 5);
  CHECK(count_ops(after, "Constant") == 0);
  CHECK(count_ops(after, "BatchNormalization") == 0);
  CHECK(count_ops(after, "Conv") == 1);
  CHECK(check_model_message(after) == "");
  auto x = torch::randn({1, 3, 8, 8});
  auto reference = torch_bn(torch::conv2d(x, w, {}, {1, 1}, {1, 1}), bn);
  check_with_ort(before, after, x, reference, "constants-conv-bn");
}

TEST_CASE("constants-to-initializers must not fire on non-tensor Constants or names read in subgraphs") {
  OnnxGraphBuilder g;
  g.input("X", {2});
  auto& c = g.node("Constant", {}, {"c"});
  set_attr_float(c, "value_float", 2.0f);
  g.node("Mul", {"X", "c"}, {"Y"});
  g.output("Y", {2});
  auto before = g.build();
  auto result = run_onnx_pipeline(before, "constants-to-initializers");
  CHECK(same_proto(result.model.onnx(), before));
  CHECK(result.records.at(0).stats.rewrites == 0);
}

TEST_CASE("fuse-conv-bn writes new weights when a Conv weight is shared") {
  torch::manual_seed(3);
  auto w = torch::randn({2, 2, 1, 1});
  auto bn_a = random_bn(2, 1e-5f);
  auto bn_b = random_bn(2, 1e-5f);
  OnnxGraphBuilder g;
  g.input("X", {1, 2, 4, 4});
  g.initializer("W", w);
  g.node("Conv", {"X", "W"}, {"za"});
  add_bn(g, "a", bn_a, "za", "A");
  g.node("Conv", {"X", "W"}, {"zb"});
  add_bn(g, "b", bn_b, "zb", "B");
  g.output("A", {1, 2, 4, 4});
  g.output("B", {1, 2, 4, 4});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "fuse-conv-bn");
  const auto& after = result.model.onnx();
  CHECK(result.records.at(0).stats.rewrites == 2);
  CHECK(count_ops(after, "BatchNormalization") == 0);
  CHECK(find_initializer(after.graph(), "W") == nullptr);  // both Convs got their own copy
  CHECK(after.graph().node(0).input(1) != after.graph().node(1).input(1));
  CHECK(check_model_message(after) == "");

  auto x = torch::randn({1, 2, 4, 4});
  const auto& conv_b = after.graph().node(1);
  auto fused_b = torch::conv2d(x, initializer_value(after, conv_b.input(1)), initializer_value(after, conv_b.input(2)));
  CHECK(torch::allclose(fused_b, torch_bn(torch::conv2d(x, w), bn_b), kRtol, kAtol));
}

TEST_CASE("fuse-conv-bn must not fire on a shared Conv output or runtime BN params") {
  auto bn = random_bn(2, 1e-5f);
  OnnxGraphBuilder g;
  g.input("X", {1, 2, 4, 4});
  g.input("runtime_mean", {2});
  g.initializer("W", torch::randn({2, 2, 1, 1}));
  // Conv output read by the BN and by a Relu: fusing would change what the Relu sees.
  g.node("Conv", {"X", "W"}, {"z1"});
  add_bn(g, "s", bn, "z1", "A");
  g.node("Relu", {"z1"}, {"R"});
  // BN mean comes from a graph input, so it is not known at optimization time.
  g.node("Conv", {"X", "W"}, {"z2"});
  g.initializer("r_scale", bn.scale);
  g.initializer("r_beta", bn.beta);
  g.initializer("r_var", bn.var);
  g.node("BatchNormalization", {"z2", "r_scale", "r_beta", "runtime_mean", "r_var"}, {"B"});
  g.output("A", {1, 2, 4, 4});
  g.output("R", {1, 2, 4, 4});
  g.output("B", {1, 2, 4, 4});
  auto before = g.build();
  REQUIRE(check_model_message(before).empty());

  auto result = run_onnx_pipeline(before, "fuse-conv-bn");
  CHECK(same_proto(result.model.onnx(), before));
  const auto& stats = result.records.at(0).stats;
  CHECK(stats.rewrites == 0);
  CHECK(stats.details["skipped_shared_conv_output"] == 1);
  CHECK(stats.details["skipped_non_constant_params"] == 1);
}

// ---- fuse-matmul-add, eliminate-dropout ------------------------------------------------------------

TEST_CASE("fuse-matmul-add turns MatMul by a constant + bias Add into Gemm; a 3-D input stays a MatMul") {
  torch::manual_seed(5);
  auto w = torch::randn({3, 4}), b = torch::randn({4});
  OnnxGraphBuilder g;
  g.input("X", {2, 3});
  g.initializer("W", w);
  g.initializer("B", b);
  g.node("MatMul", {"X", "W"}, {"m"});
  g.node("Add", {"B", "m"}, {"Y"});  // bias first: Add is commutative
  g.output("Y", {2, 4});
  auto before = g.build();
  auto result = run_onnx_pipeline(before, "fuse-matmul-add");
  const auto& after = result.model.onnx();
  CHECK(result.records.at(0).stats.rewrites == 1);
  CHECK(count_ops(after, "Gemm") == 1);
  CHECK(count_ops(after, "MatMul") + count_ops(after, "Add") == 0);
  CHECK(output_names(after) == std::vector<std::string>{"Y"});
  CHECK(check_model_message(after) == "");
  auto x = torch::randn({2, 3});
  check_with_ort(before, after, x, x.mm(w) + b, "matmul-add");

  OnnxGraphBuilder batched;  // [N, T, K] x [K, N]: Gemm takes matrices only
  batched.input("X", {2, 5, 3});
  batched.initializer("W", w);
  batched.initializer("B", b);
  batched.node("MatMul", {"X", "W"}, {"m"});
  batched.node("Add", {"m", "B"}, {"Y"});
  batched.output("Y", {2, 5, 4});
  auto kept = batched.build();
  CHECK(same_proto(run_onnx_pipeline(kept, "fuse-matmul-add").model.onnx(), kept));
}

TEST_CASE("eliminate-dropout removes inference Dropout and its ratio; keeps one whose mask is read") {
  OnnxGraphBuilder g;
  g.input("X", {2, 3});
  g.initializer("ratio", torch::tensor(0.5f));
  g.node("Dropout", {"X", "ratio"}, {"d"});
  g.node("Relu", {"d"}, {"Y"});
  g.output("Y", {2, 3});
  auto result = run_onnx_pipeline(g.build(), "eliminate-dropout");
  const auto& after = result.model.onnx();
  CHECK(result.records.at(0).stats.rewrites == 1);
  CHECK(count_ops(after, "Dropout") + count_ops(after, "Identity") == 0);
  CHECK(after.graph().node(0).input(0) == "X");
  CHECK(after.graph().initializer_size() == 0);
  CHECK(check_model_message(after) == "");

  OnnxGraphBuilder masked;
  masked.input("X", {2, 3});
  masked.node("Dropout", {"X"}, {"Y", "M"});
  masked.output("Y", {2, 3}).output("M", {2, 3}, TensorProto::BOOL);
  auto kept = masked.build();
  CHECK(same_proto(run_onnx_pipeline(kept, "eliminate-dropout").model.onnx(), kept));
}

// ---- specialize-input-shape on ONNX --------------------------------------------------------------

// x: float[N,4,6] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) -> y: float[N,24],
// the batch-size arithmetic PyTorch's exporter writes for a flatten.
onnx::ModelProto dynamic_batch_flatten() {
  OnnxGraphBuilder g;
  g.input("x", {0, 4, 6});
  g.initializer("zero", torch::tensor(int64_t{0}));
  g.initializer("axes", torch::tensor({int64_t{0}}));
  g.initializer("rest", torch::tensor({int64_t{-1}}));
  g.node("Shape", {"x"}, {"shape"});
  g.node("Gather", {"shape", "zero"}, {"batch"});
  g.node("Unsqueeze", {"batch", "axes"}, {"batch1"});
  set_attr(g.node("Concat", {"batch1", "rest"}, {"target"}), "axis", 0);
  g.node("Reshape", {"x", "target"}, {"y"});
  g.output("y", {0, 24});
  auto model = g.build();
  auto* graph = model.mutable_graph();
  graph->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
  graph->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
  return model;
}

std::vector<int64_t> declared_shape(const onnx::ValueInfoProto& value) {
  std::vector<int64_t> dims;
  for (const auto& dim : value.type().tensor_type().shape().dim()) dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  return dims;
}

TEST_CASE("specialize-input-shape fixes an ONNX graph's batch and folds the shape arithmetic into the Reshape target") {
  const auto before = dynamic_batch_flatten();
  REQUIRE(check_model_message(before) == "");
  auto result = run_onnx_pipeline(before, "specialize-input-shape{shape=x:2x4x6}");
  const auto& after = result.model.onnx();
  const auto& details = result.records.at(0).stats.details;
  CHECK(details["input_dims_fixed"] == 1);
  CHECK(details["shape_queries_folded"] == 1);
  CHECK(details["output_dims_fixed"] == 1);
  CHECK(details["shape"] == "2x4x6:float32");
  CHECK(check_model_message(after) == "");
  CHECK(declared_shape(after.graph().input(0)) == std::vector<int64_t>{2, 4, 6});
  CHECK(declared_shape(after.graph().output(0)) == std::vector<int64_t>{2, 24});
  REQUIRE(after.graph().node_size() == 1);
  const auto& reshape = after.graph().node(0);
  CHECK(reshape.op_type() == "Reshape");
  CHECK(torch::equal(initializer_value(after, reshape.input(1)), torch::tensor({int64_t{2}, int64_t{-1}})));
  auto x = torch::randn({2, 4, 6});
  check_with_ort(before, after, x, x.reshape({2, 24}), "specialize-flatten");
}

TEST_CASE("specialize-input-shape on ONNX refuses specs that do not fit the graph's inputs") {
  const auto model = dynamic_batch_flatten();
  auto refuses = [&](const std::string& shape, const std::string& says) {
    CAPTURE(shape);
    try {
      run_onnx_pipeline(model, "specialize-input-shape{shape=" + shape + "}");
      FAIL("accepted");
    } catch (const mopt::Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK(std::string(e.what()).find(says) != std::string::npos);
    }
  };
  refuses("2x4", "is [N,4,6] (rank 3), the spec gives rank 2");
  refuses("2x5x6", "dim 1 is fixed at 4, the spec gives 5");
  refuses("image:2x4x6", "spec 1 names input 'image', but graph input 1 is 'x'");
  refuses("2x4x6;2x4x6", "2 input spec(s) given but the graph takes 1 input(s) (x)");
}

// Shape's start/end (opset 15) and Size, against the expected outputs in Debian's libonnx-testdata:
// each graph's input shape is fixed already, so the query folds to an initializer holding the answer.
TEST_CASE("specialize-input-shape folds Shape and Size like ONNX's conformance data says") {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root / "test_shape")) {
    MESSAGE("libonnx-testdata not installed; skipped");
    return;
  }
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("test_shape", 0) != 0 && name.rfind("test_size", 0) != 0) continue;
    CAPTURE(name);
    const auto model = Model::load(entry.path() / "model.onnx");
    const auto input = read_tensor_pb(entry.path() / "test_data_set_0" / "input_0.pb");
    const auto expected = read_tensor_pb(entry.path() / "test_data_set_0" / "output_0.pb");
    std::vector<std::string> dims;
    for (auto d : input.sizes()) dims.push_back(std::to_string(d));
    auto result = run_onnx_pipeline(model.onnx(), fmt::format("specialize-input-shape{{shape={}}}", fmt::join(dims, "x")));
    const auto& after = result.model.onnx();
    CHECK(after.graph().node_size() == 0);
    const auto folded = initializer_value(after, after.graph().output(0).name());
    REQUIRE(folded.defined());
    CHECK(torch::equal(folded, expected));
    ++checked;
  }
  CHECK(checked == 12);
}

TEST_CASE("ONNX passes refuse TorchScript models with a usage error") {
  torch::jit::Module module("m");
  module.define("def forward(self, x):\n  return x\n");
  static const PassRegistry registry = make_default_registry();
  for (const char* name : {"eliminate-identity", "eliminate-dead-nodes", "fold-constants", "fuse-conv-bn", "fuse-matmul-add",
                           "eliminate-dropout"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(run_pipeline(Model::from_torchscript(module), parse_pipeline(name), registry), mopt::Error);
  }
}

TEST_CASE("ONNX passes compose in one pipeline") {
  torch::manual_seed(11);
  auto w = torch::randn({3, 1, 3, 3});
  auto bn = random_bn(3, 1e-5f);
  OnnxGraphBuilder g;
  g.input("X", {1, 1, 6, 6});
  g.initializer("W0", w);
  g.node("Identity", {"W0"}, {"W"});        // materialized by fold-constants
  g.node("Identity", {"X"}, {"x"});         // removed by eliminate-identity
  g.node("Conv", {"x", "W"}, {"z"});
  add_bn(g, "bn", bn, "z", "Y");
  g.node("Neg", {"x"}, {"dead"});           // removed by eliminate-dead-nodes
  g.output("Y", {1, 3, 4, 4});
  auto before = g.build();

  auto result = run_onnx_pipeline(before, "fold-constants,eliminate-identity,eliminate-dead-nodes,fuse-conv-bn");
  const auto& after = result.model.onnx();
  for (const auto& record : result.records) {
    CAPTURE(record.name);
    CHECK(record.stats.rewrites >= 1);
  }
  CHECK(after.graph().node_size() == 1);
  CHECK(count_ops(after, "Conv") == 1);
  CHECK(check_model_message(after) == "");
  auto x = torch::randn({1, 1, 6, 6});
  const auto& conv = after.graph().node(0);
  auto fused = torch::conv2d(x, initializer_value(after, conv.input(1)), initializer_value(after, conv.input(2)));
  CHECK(torch::allclose(fused, torch_bn(torch::conv2d(x, w), bn), kRtol, kAtol));
}

}  // TEST_SUITE

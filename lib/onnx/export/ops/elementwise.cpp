// Activations, arithmetic and comparison (on tensors, and on the numbers that shape code computes
// at run time). In-place variants (relu_, add_) export like their pure forms: a
// frozen inference graph reads no tensor after it was overwritten.
#include <fmt/format.h>

#include <cmath>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

template <const char* kOp>
void unary(ExportContext& c, const torch::jit::Node* node) {
  c.add_node(kOp, {c.name(node->input(0))}, {c.fresh(node->output())});
}

constexpr char kRelu[] = "Relu";
constexpr char kSigmoid[] = "Sigmoid";
constexpr char kTanh[] = "Tanh";
constexpr char kHardSwish[] = "HardSwish";
constexpr char kIdentity[] = "Identity";

bool is_int(const torch::jit::Value* value) { return value->type()->kind() == c10::TypeKind::IntType; }

// An operand of a tensor or number op. Tensors by name; a constant number becomes a scalar
// initializer; a number computed at run time (a size, or math on sizes: nn.MultiheadAttention's
// head_dim ** -0.5) is already a 0-d value. Int arithmetic (sizes) stays int64; anything else is
// float, the type of the graphs exported here.
std::string operand(ExportContext& c, const torch::jit::Value* value, bool int_result) {
  if (value->type()->isSubtypeOf(*c10::TensorType::get())) return c.name(value);
  if (int_result) {
    if (auto number = c.constant_int(value)) return c.add_initializer(at::scalar_tensor(*number, at::kLong), "int");
    return c.name(value);
  }
  if (auto number = c.constant_double(value)) return c.add_initializer(at::scalar_tensor(*number, at::kFloat), "scalar");
  if (!is_int(value)) return c.name(value);
  auto as_float = c.fresh("as_float");
  set_int(c.add_node("Cast", {c.name(value)}, {as_float}), "to", onnx::TensorProto::FLOAT);
  return as_float;
}

std::string operand(ExportContext& c, const torch::jit::Value* value, const torch::jit::Node* node) {
  return operand(c, value, is_int(node->output()));
}

// aten::add/sub(self, other, alpha): alpha must be 1 (the only value exporters and models use).
template <const char* kOp>
void add_sub(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() > 2 && c.constant_double(node->input(2)).value_or(0) != 1.0) unsupported(node, "alpha != 1");
  c.add_node(kOp, {operand(c, node->input(0), node), operand(c, node->input(1), node)}, {c.fresh(node->output())});
}

template <const char* kOp>
void binary(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() > 2) unsupported(node, "a rounding mode");
  c.add_node(kOp, {operand(c, node->input(0), node), operand(c, node->input(1), node)}, {c.fresh(node->output())});
}

// aten::sqrt of a tensor, or of a number (math.sqrt of a size: a float result).
void translate_sqrt(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("Sqrt", {operand(c, node->input(0), false)}, {c.fresh(node->output())});
}

// aten::eq of tensors or numbers -> Equal (a bool).
void translate_eq(ExportContext& c, const torch::jit::Node* node) {
  const bool ints = is_int(node->input(0)) && is_int(node->input(1));
  c.add_node("Equal", {operand(c, node->input(0), ints), operand(c, node->input(1), ints)}, {c.fresh(node->output())});
}

// aten::Int(x): a number or 0-d tensor to int64, truncating toward zero like Python's int().
void translate_int(ExportContext& c, const torch::jit::Node* node) {
  if (is_int(node->input(0))) {
    c.bind(node->output(), c.name(node->input(0)));
    return;
  }
  set_int(c.add_node("Cast", {c.name(node->input(0))}, {c.fresh(node->output())}), "to", onnx::TensorProto::INT64);
}

// prim::If between numbers whose branches only name their results (export_graph.h hoisted the
// rest) -> one Where per result.
void translate_select(ExportContext& c, const torch::jit::Node* node) {
  for (const auto* block : node->blocks()) {
    if (block->nodes().begin() != block->nodes().end()) unsupported(node, "a branch that computes (control flow)");
  }
  const auto* then_block = node->blocks()[0];
  const auto* else_block = node->blocks()[1];
  for (size_t i = 0; i < node->outputs().size(); ++i) {
    const bool ints = is_int(node->output(i));
    c.add_node("Where",
               {c.name(node->input(0)), operand(c, then_block->outputs()[i], ints), operand(c, else_block->outputs()[i], ints)},
               {c.fresh(node->output(i))});
  }
}

constexpr char kAdd[] = "Add";
constexpr char kSub[] = "Sub";
constexpr char kMul[] = "Mul";
constexpr char kDiv[] = "Div";
constexpr char kMatMul[] = "MatMul";

// aten::hardtanh(x, min, max) -> Clip(x, min, max) (ReLU6 is hardtanh(x, 0, 6)).
void translate_hardtanh(ExportContext& c, const torch::jit::Node* node) {
  auto low = c.constant_double(node->input(1)), high = c.constant_double(node->input(2));
  if (!low || !high) unsupported(node, "bounds computed at run time");
  c.add_node("Clip",
             {c.name(node->input(0)), c.add_initializer(at::scalar_tensor(*low, at::kFloat), "clip_min"),
              c.add_initializer(at::scalar_tensor(*high, at::kFloat), "clip_max")},
             {c.fresh(node->output())});
}

void translate_hardsigmoid(ExportContext& c, const torch::jit::Node* node) {
  auto& hs = c.add_node("HardSigmoid", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_float(hs, "alpha", 1.0f / 6.0f);
  set_float(hs, "beta", 0.5f);
}

// aten::silu(x) = x * sigmoid(x).
void translate_silu(ExportContext& c, const torch::jit::Node* node) {
  auto gate = c.fresh("sigmoid");
  c.add_node("Sigmoid", {c.name(node->input(0))}, {gate});
  c.add_node("Mul", {c.name(node->input(0)), gate}, {c.fresh(node->output())});
}

// aten::gelu(x, approximate='none') = 0.5 x (1 + erf(x / sqrt 2)).
void translate_gelu(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() > 1) {
    auto mode = c.constant(node->input(1));
    if (!mode || !mode->isString() || mode->toStringRef() != "none") unsupported(node, "tanh-approximated GELU");
  }
  auto x = c.name(node->input(0));
  auto scaled = c.fresh("gelu_scaled"), erf = c.fresh("gelu_erf"), shifted = c.fresh("gelu_shifted"),
       half = c.fresh("gelu_half");
  c.add_node("Mul", {x, c.add_initializer(at::scalar_tensor(M_SQRT1_2, at::kFloat), "inv_sqrt2")}, {scaled});
  c.add_node("Erf", {scaled}, {erf});
  c.add_node("Add", {erf, c.add_initializer(at::scalar_tensor(1.0, at::kFloat), "one")}, {shifted});
  c.add_node("Mul", {x, c.add_initializer(at::scalar_tensor(0.5, at::kFloat), "half")}, {half});
  c.add_node("Mul", {half, shifted}, {c.fresh(node->output())});
}

template <const char* kOp>
void softmax(ExportContext& c, const torch::jit::Node* node) {
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  if (node->inputs().size() > 2 && !c.is_none(node->input(2))) unsupported(node, "a dtype argument");
  auto& op = c.add_node(kOp, {c.name(node->input(0))}, {c.fresh(node->output())});
  set_int(op, "axis", *dim);
}

constexpr char kSoftmax[] = "Softmax";
constexpr char kLogSoftmax[] = "LogSoftmax";

}  // namespace

std::vector<TranslatorEntry> elementwise_translators() {
  return {
      {"aten::relu", unary<kRelu>},          {"aten::relu_", unary<kRelu>},
      {"aten::sigmoid", unary<kSigmoid>},    {"aten::sigmoid_", unary<kSigmoid>},
      {"aten::tanh", unary<kTanh>},          {"aten::tanh_", unary<kTanh>},
      {"aten::hardswish", unary<kHardSwish>}, {"aten::hardswish_", unary<kHardSwish>},
      {"aten::hardsigmoid", translate_hardsigmoid}, {"aten::hardsigmoid_", translate_hardsigmoid},
      {"aten::hardtanh", translate_hardtanh}, {"aten::hardtanh_", translate_hardtanh},
      {"aten::silu", translate_silu},         {"aten::silu_", translate_silu},
      {"aten::gelu", translate_gelu},
      {"aten::add", add_sub<kAdd>},           {"aten::add_", add_sub<kAdd>},
      {"aten::sub", add_sub<kSub>},           {"aten::sub_", add_sub<kSub>},
      {"aten::mul", binary<kMul>},            {"aten::mul_", binary<kMul>},
      {"aten::div", binary<kDiv>},            {"aten::div_", binary<kDiv>},
      {"aten::softmax", softmax<kSoftmax>},   {"aten::log_softmax", softmax<kLogSoftmax>},
      {"aten::bmm", binary<kMatMul>},         {"aten::matmul", binary<kMatMul>},
      {"aten::sqrt", translate_sqrt},
      {"aten::eq", translate_eq},             {"aten::Int", translate_int},
      {"prim::If", translate_select},
      {"aten::contiguous", unary<kIdentity>},
  };
}

}  // namespace mopt::onnx_export

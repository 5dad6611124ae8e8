// Activations, arithmetic and comparison (on tensors, and on the numbers that shape code computes
// at run time). In-place variants (relu_, add_) export like their pure forms: a
// frozen inference graph reads no tensor after it was overwritten.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

template <const char* kOp>
void unary(ExportContext& c, const torch::jit::Node* node) {
  c.add_node(kOp, {c.name(node->input(0))}, {c.fresh(node->output())});
}

constexpr char kRelu[] = "Relu";
constexpr char kNeg[] = "Neg";
constexpr char kExp[] = "Exp";
constexpr char kLog[] = "Log";
constexpr char kAbs[] = "Abs";
constexpr char kReciprocal[] = "Reciprocal";
constexpr char kCeil[] = "Ceil";
constexpr char kFloor[] = "Floor";
constexpr char kRound[] = "Round";  // both round half to even
constexpr char kSign[] = "Sign";
constexpr char kErf[] = "Erf";
constexpr char kSin[] = "Sin";
constexpr char kCos[] = "Cos";
constexpr char kTan[] = "Tan";
constexpr char kAsin[] = "Asin";
constexpr char kAcos[] = "Acos";
constexpr char kAtan[] = "Atan";
constexpr char kSinh[] = "Sinh";
constexpr char kCosh[] = "Cosh";
constexpr char kAsinh[] = "Asinh";
constexpr char kAcosh[] = "Acosh";
constexpr char kAtanh[] = "Atanh";
constexpr char kIsNaN[] = "IsNaN";
constexpr char kSigmoid[] = "Sigmoid";
constexpr char kTanh[] = "Tanh";
constexpr char kHardSwish[] = "HardSwish";
constexpr char kIdentity[] = "Identity";

bool is_int(const torch::jit::Value* value) { return value->type()->kind() == c10::TypeKind::IntType; }

// The type torch computes `inputs` in: the promoted dtype of the tensors (a float number makes an
// integral tensor's result float); numbers alone (shape code): int64 if all are ints, else float.
at::ScalarType promoted(const ExportContext& c, const std::vector<const torch::jit::Value*>& inputs) {
  std::optional<at::ScalarType> tensors;
  bool float_number = false;
  for (const auto* value : inputs) {
    if (value->type()->cast<c10::TensorType>()) {
      auto type = c.dtype(value).value_or(at::kFloat);
      tensors = tensors ? at::promote_types(*tensors, type) : type;
    } else {
      float_number = float_number || !is_int(value);
    }
  }
  if (!tensors) return float_number ? at::kFloat : at::kLong;
  return float_number && !at::isFloatingType(*tensors) ? at::kFloat : *tensors;
}

// The type an arithmetic node computes in: its result's dtype when the example run recorded it
// (torch's promotion: int / int is float), else what its operands promote to.
at::ScalarType result_type(const ExportContext& c, const torch::jit::Node* node) {
  if (auto type = c.dtype(node->output()); type && node->output()->type()->cast<c10::TensorType>()) return *type;
  return promoted(c, {node->input(0), node->input(1)});
}

// Operands go through ExportContext::as_type: tensors by name (cast when their dtype differs from
// the computing type), constant numbers as scalar initializers, and numbers computed at run time (a
// size, or math on sizes: nn.MultiheadAttention's head_dim ** -0.5) as the 0-d values they are.

// aten::add of two int lists (shape arithmetic: `x.size()[:axis] + indices.size()`) concatenates.
void concat_lists(ExportContext& c, const torch::jit::Node* node) {
  set_int(c.add_node("Concat", {int_list_value(c, node, node->input(0)), int_list_value(c, node, node->input(1))},
                     {c.fresh(node->output())}),
          "axis", 0);
}

// aten::add/sub(self, other, alpha): alpha must be 1 (the only value exporters and models use).
template <const char* kOp>
void add_sub(ExportContext& c, const torch::jit::Node* node) {
  if (node->output()->type()->kind() == c10::TypeKind::ListType) {
    if (kOp != std::string("Add")) unsupported(node, "list arithmetic other than concatenation");
    return concat_lists(c, node);
  }
  if (node->inputs().size() > 2 && c.constant_double(node->input(2)).value_or(0) != 1.0) unsupported(node, "alpha != 1");
  const auto type = result_type(c, node);
  c.add_node(kOp, {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

template <const char* kOp>
void binary(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() > 2) unsupported(node, "a rounding mode");
  const auto type = result_type(c, node);
  c.add_node(kOp, {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

// aten::sqrt of a tensor, or of a number (math.sqrt of a size: a float result).
void translate_sqrt(ExportContext& c, const torch::jit::Node* node) {
  const auto* x = node->input(0);
  c.add_node("Sqrt", {x->type()->cast<c10::TensorType>() ? c.name(x) : c.as_type(x, at::kFloat)}, {c.fresh(node->output())});
}

// aten::eq of tensors or numbers -> Equal (a bool).
void translate_eq(ExportContext& c, const torch::jit::Node* node) {
  const auto type = promoted(c, {node->input(0), node->input(1)});
  c.add_node("Equal", {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

// aten::Int(x): a number or 0-d tensor to int64, truncating toward zero like Python's int().
void translate_int(ExportContext& c, const torch::jit::Node* node) {
  if (is_int(node->input(0))) {
    c.bind(node->output(), c.name(node->input(0)));
    return;
  }
  set_int(c.add_node("Cast", {c.name(node->input(0))}, {c.fresh(node->output())}), "to", onnx::TensorProto::INT64);
}

// aten::Float(x): a number or 0-d tensor as a float.
void translate_float(ExportContext& c, const torch::jit::Node* node) {
  c.bind(node->output(), c.as_type(node->input(0), at::kFloat));
}

// prim::If whose branches only name their results (export_graph.h hoisted the computations of
// number selects) -> one Where per result; an If whose branches compute (tensor control flow: `if
// x.sum() > 0:`) or pick between int lists -> an ONNX If with each branch translated as its subgraph.
void translate_select(ExportContext& c, const torch::jit::Node* node) {
  const auto* then_block = node->blocks()[0];
  const auto* else_block = node->blocks()[1];
  const bool computes = std::any_of(node->blocks().begin(), node->blocks().end(),
                                    [](const torch::jit::Block* b) { return b->nodes().begin() != b->nodes().end(); });
  // Lists (an imported model's run-time axes, or all dims when empty) may differ in length: no Where.
  const bool lists = std::any_of(node->outputs().begin(), node->outputs().end(),
                                 [](const torch::jit::Value* v) { return v->type()->kind() == c10::TypeKind::ListType; });
  if (computes || lists) {
    if (node->outputs().empty()) unsupported(node, "a branch without results (side effects only)");
    std::vector<const torch::jit::Value*> outputs(node->outputs().begin(), node->outputs().end());
    std::vector<std::string> names;
    for (const auto* output : outputs) names.push_back(c.fresh(output));
    auto& op = c.add_node("If", {c.as_type(node->input(0), at::kBool)}, names);
    for (const auto& [attribute, block] : {std::pair{"then_branch", then_block}, std::pair{"else_branch", else_block}}) {
      auto* branch = op.add_attribute();
      branch->set_name(attribute);
      branch->set_type(onnx::AttributeProto::GRAPH);
      c.translate_block(block, *branch->mutable_g(), outputs);
    }
    return;
  }
  for (size_t i = 0; i < node->outputs().size(); ++i) {
    const auto type = promoted(c, {node->output(i)});
    c.add_node("Where",
               {c.as_type(node->input(0), at::kBool), c.as_type(then_block->outputs()[i], type), c.as_type(else_block->outputs()[i], type)},
               {c.fresh(node->output(i))});
  }
}

// aten::Bool(x): a one-element tensor or number as a bool (an If's condition).
void translate_bool(ExportContext& c, const torch::jit::Node* node) {
  c.bind(node->output(), c.as_type(node->input(0), at::kBool));
}

constexpr char kLess[] = "Less";
constexpr char kGreater[] = "Greater";
constexpr char kLessOrEqual[] = "LessOrEqual";
constexpr char kGreaterOrEqual[] = "GreaterOrEqual";
constexpr char kAnd[] = "And";
constexpr char kOr[] = "Or";
constexpr char kXor[] = "Xor";
constexpr char kMin[] = "Min";
constexpr char kMax[] = "Max";
constexpr char kAdd[] = "Add";
constexpr char kSub[] = "Sub";
constexpr char kMul[] = "Mul";
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

// Comparisons of tensors or numbers, computed in the type the operands promote to; ne is Not(Equal).
template <const char* kOp>
void compare(ExportContext& c, const torch::jit::Node* node) {
  const auto type = promoted(c, {node->input(0), node->input(1)});
  c.add_node(kOp, {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

void translate_ne(ExportContext& c, const torch::jit::Node* node) {
  const auto type = promoted(c, {node->input(0), node->input(1)});
  auto equal = c.fresh("equal");
  c.add_node("Equal", {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {equal});
  c.add_node("Not", {equal}, {c.fresh(node->output())});
}

// torch's logical ops take any dtype (non-zero is true); ONNX's take bool.
template <const char* kOp>
void logical(ExportContext& c, const torch::jit::Node* node) {
  c.add_node(kOp, {c.as_type(node->input(0), at::kBool), c.as_type(node->input(1), at::kBool)}, {c.fresh(node->output())});
}

// aten::bitwise_and/or/xor and __and__/__or__/__xor__: And/Or/Xor on booleans (masks), BitwiseAnd/Or/Xor
// (opset 18) on integers (the importer's uint16/32 wrap-around, for one).
template <const char* kOp, const char* kBitwiseOp>
void bitwise(ExportContext& c, const torch::jit::Node* node) {
  if (c.dtype(node->output()) == at::kBool) return logical<kOp>(c, node);
  if (c.opset() < 18) unsupported(node, "bitwise operation on integers before opset 18");
  const auto type = promoted(c, {node->input(0), node->input(1)});
  c.add_node(kBitwiseOp, {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}
constexpr char kBitwiseAnd[] = "BitwiseAnd";
constexpr char kBitwiseOr[] = "BitwiseOr";
constexpr char kBitwiseXor[] = "BitwiseXor";

void translate_logical_not(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("Not", {c.as_type(node->input(0), at::kBool)}, {c.fresh(node->output())});
}

// aten::bitwise_not: Not on booleans, BitwiseNot (opset 18) on integers.
void translate_bitwise_not(ExportContext& c, const torch::jit::Node* node) {
  if (c.dtype(node->output()) == at::kBool) return translate_logical_not(c, node);
  if (c.opset() < 18) unsupported(node, "bitwise operation on integers before opset 18");
  c.add_node("BitwiseNot", {c.name(node->input(0))}, {c.fresh(node->output())});
}

// aten::pow(x, exponent): ONNX Pow keeps the base's type, torch promotes; both operands are cast to
// the result type.
void translate_pow(ExportContext& c, const torch::jit::Node* node) {
  const auto type = result_type(c, node);
  c.add_node("Pow", {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

// aten::where(condition, x, y) -> Where.
void translate_where(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() != 3) unsupported(node, "where(condition) (the indices form)");
  const auto type = c.dtype(node->output()).value_or(at::kFloat);
  c.add_node("Where", {c.as_type(node->input(0), at::kBool), c.as_type(node->input(1), type), c.as_type(node->input(2), type)},
             {c.fresh(node->output())});
}

// aten::rsqrt(x) = 1 / sqrt(x); aten::square(x) = x * x.
void translate_rsqrt(ExportContext& c, const torch::jit::Node* node) {
  auto root = c.fresh("sqrt");
  c.add_node("Sqrt", {c.name(node->input(0))}, {root});
  c.add_node("Reciprocal", {root}, {c.fresh(node->output())});
}

void translate_square(ExportContext& c, const torch::jit::Node* node) {
  auto x = c.name(node->input(0));
  c.add_node("Mul", {x, x}, {c.fresh(node->output())});
}

// aten::leaky_relu(x, slope), aten::elu(x, alpha, scale, input_scale), aten::celu(x, alpha),
// aten::selu(x): the ONNX activations with the same parameters (elu's scales must be 1).
void translate_leaky_relu(ExportContext& c, const torch::jit::Node* node) {
  auto slope = c.constant_double(node->input(1));
  if (!slope) unsupported(node, "a slope computed at run time");
  set_float(c.add_node("LeakyRelu", {c.name(node->input(0))}, {c.fresh(node->output())}), "alpha", static_cast<float>(*slope));
}

void translate_elu(ExportContext& c, const torch::jit::Node* node) {
  auto alpha = c.constant_double(node->input(1));
  if (!alpha || c.constant_double(node->input(2)).value_or(0) != 1.0 || c.constant_double(node->input(3)).value_or(0) != 1.0) {
    unsupported(node, "elu with scales other than 1, or a run-time alpha");
  }
  set_float(c.add_node("Elu", {c.name(node->input(0))}, {c.fresh(node->output())}), "alpha", static_cast<float>(*alpha));
}

void translate_celu(ExportContext& c, const torch::jit::Node* node) {
  auto alpha = c.constant_double(node->input(1));
  if (!alpha) unsupported(node, "a run-time alpha");
  set_float(c.add_node("Celu", {c.name(node->input(0))}, {c.fresh(node->output())}), "alpha", static_cast<float>(*alpha));
}

// aten::softplus(x, beta=1, threshold): ONNX's Softplus is log(1 + exp(x)); above torch's threshold
// both equal x to float precision.
void translate_softplus(ExportContext& c, const torch::jit::Node* node) {
  if (c.constant_double(node->input(1)).value_or(0) != 1.0) unsupported(node, "beta other than 1");
  c.add_node("Softplus", {c.name(node->input(0))}, {c.fresh(node->output())});
}

void translate_selu(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("Selu", {c.name(node->input(0))}, {c.fresh(node->output())});  // ONNX's defaults are torch's constants
}

// aten::prelu(x, weight): torch's weight is per channel (dim 1); ONNX broadcasts from the right,
// so a per-channel weight becomes [C, 1, ..., 1].
void translate_prelu(ExportContext& c, const torch::jit::Node* node) {
  auto slope = c.name(node->input(1));
  auto x_type = node->input(0)->type()->cast<c10::TensorType>();
  auto rank = x_type ? x_type->dim() : c10::optional<size_t>();
  auto weight = c.constant(node->input(1));
  const int64_t count = weight && weight->isTensor() ? weight->toTensor().numel() : -1;
  if (count != 1) {
    if (!rank || count < 0) unsupported(node, "a per-channel weight for an input of unknown rank");
    if (*rank >= 2) {
      std::vector<int64_t> shape(*rank - 1, 1);
      shape[0] = count;
      auto reshaped = c.fresh("prelu_slope");
      c.add_node("Reshape", {slope, c.add_ints(shape, "prelu_shape")}, {reshaped});
      slope = reshaped;
    }
  }
  c.add_node("PRelu", {c.name(node->input(0)), slope}, {c.fresh(node->output())});
}

// aten::clamp(x, min, max) / clamp_min / clamp_max -> Clip; bounds take x's type, None is no bound.
void translate_clamp(ExportContext& c, const torch::jit::Node* node) {
  const auto kind = node->kind();
  const auto type = c.dtype(node->output()).value_or(at::kFloat);
  auto bound = [&](const torch::jit::Value* value) { return c.is_none(value) ? std::string() : c.as_type(value, type); };
  std::string low = kind == c10::aten::clamp_max ? "" : bound(node->input(1));
  std::string high = kind == c10::aten::clamp_min ? "" : bound(node->input(kind == c10::aten::clamp ? 2 : 1));
  std::vector<std::string> inputs = {c.as_type(node->input(0), type), low};
  if (!high.empty()) inputs.push_back(high);
  c.add_node("Clip", inputs, {c.fresh(node->output())});
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
    if (c.constant_string(node->input(1)) != "none") unsupported(node, "tanh-approximated GELU");
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

// aten::maximum/minimum(a, b) -> Max/Min (add_extreme).
template <const char* kOp>
void extreme(ExportContext& c, const torch::jit::Node* node) {
  add_extreme(c, kOp, node->input(0), node->input(1), result_type(c, node), node->output());
}

// aten::fmod(a, b): Mod with fmod=1 (the dividend's sign, as C's fmod). aten::remainder(a, b): the
// divisor's sign (Python's %): Mod with fmod=0 for integers; ONNX allows floats only with fmod=1,
// so floats compute a - floor(a / b) * b, which is torch's definition.
template <int64_t kFmod>
void translate_mod(ExportContext& c, const torch::jit::Node* node) {
  const auto type = result_type(c, node);
  auto a = c.as_type(node->input(0), type), b = c.as_type(node->input(1), type);
  if (kFmod || !at::isFloatingType(type)) {
    set_int(c.add_node("Mod", {a, b}, {c.fresh(node->output())}), "fmod", kFmod);
    return;
  }
  auto quotient = c.fresh("quotient"), floored = c.fresh("floored"), product = c.fresh("product");
  c.add_node("Div", {a, b}, {quotient});
  c.add_node("Floor", {quotient}, {floored});
  c.add_node("Mul", {floored, b}, {product});
  c.add_node("Sub", {a, product}, {c.fresh(node->output())});
}

// aten::div(a, b, rounding_mode): None -> Div; "trunc" -> integer Div (which truncates), or for
// floats Sign(q) * Floor(|q|); "floor" -> Floor of a float quotient, or for integers the exact
// quotient of a - (a mod b) (Mod with fmod=0 takes the divisor's sign, as floor division does).
void translate_div(ExportContext& c, const torch::jit::Node* node) {
  const auto type = result_type(c, node);
  auto a = c.as_type(node->input(0), type), b = c.as_type(node->input(1), type);
  std::string mode;
  if (node->inputs().size() > 2 && !c.is_none(node->input(2))) {
    auto constant = c.constant_string(node->input(2));
    if (!constant) unsupported(node, "a rounding mode computed at run time");
    mode = *constant;
  }
  const bool floating = at::isFloatingType(type);
  if (mode.empty() || (mode == "trunc" && !floating)) {
    c.add_node("Div", {a, b}, {c.fresh(node->output())});
    return;
  }
  if (mode == "floor" && !floating) {
    auto remainder = c.fresh("remainder"), exact = c.fresh("exact");
    set_int(c.add_node("Mod", {a, b}, {remainder}), "fmod", 0);
    c.add_node("Sub", {a, remainder}, {exact});
    c.add_node("Div", {exact, b}, {c.fresh(node->output())});
    return;
  }
  auto quotient = c.fresh("quotient");
  c.add_node("Div", {a, b}, {quotient});
  if (mode == "floor") {
    c.add_node("Floor", {quotient}, {c.fresh(node->output())});
    return;
  }
  if (mode != "trunc") unsupported(node, "rounding mode " + mode);
  auto sign = c.fresh("sign"), magnitude = c.fresh("magnitude"), floored = c.fresh("floored");
  c.add_node("Sign", {quotient}, {sign});
  c.add_node("Abs", {quotient}, {magnitude});
  c.add_node("Floor", {magnitude}, {floored});
  c.add_node("Mul", {sign, floored}, {c.fresh(node->output())});
}

// aten::bitwise_left_shift/right_shift -> BitShift (unsigned integers in ONNX, as torch shifts them
// logically there).
template <const char* kDirection>
void translate_bit_shift(ExportContext& c, const torch::jit::Node* node) {
  const auto type = result_type(c, node);
  if (type != at::kByte) unsupported(node, "shifting other than uint8 (ONNX shifts unsigned integers)");
  set_string(c.add_node("BitShift", {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())}),
             "direction", kDirection);
}
constexpr char kLeft[] = "LEFT";
constexpr char kRight[] = "RIGHT";

// aten::isinf/isposinf/isneginf -> IsInf with the signs it detects.
template <int64_t kPositive, int64_t kNegative>
void translate_isinf(ExportContext& c, const torch::jit::Node* node) {
  auto& op = c.add_node("IsInf", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_int(op, "detect_positive", kPositive);
  set_int(op, "detect_negative", kNegative);
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
      {"aten::clamp", translate_clamp},       {"aten::clamp_", translate_clamp},
      {"aten::clamp_min", translate_clamp},   {"aten::clamp_max", translate_clamp},
      {"aten::silu", translate_silu},         {"aten::silu_", translate_silu},
      {"aten::gelu", translate_gelu},
      {"aten::add", add_sub<kAdd>},           {"aten::add_", add_sub<kAdd>},
      {"aten::sub", add_sub<kSub>},           {"aten::sub_", add_sub<kSub>},
      {"aten::mul", binary<kMul>},            {"aten::mul_", binary<kMul>},
      {"aten::div", translate_div},           {"aten::div_", translate_div},
      {"aten::softmax", softmax<kSoftmax>},   {"aten::log_softmax", softmax<kLogSoftmax>},
      {"aten::bmm", binary<kMatMul>},         {"aten::matmul", binary<kMatMul>},
      {"aten::mm", binary<kMatMul>},
      {"aten::sqrt", translate_sqrt},
      {"aten::eq", translate_eq},             {"aten::Int", translate_int},
      {"aten::Float", translate_float},     {"aten::Bool", translate_bool},
      {"prim::If", translate_select},
      {"aten::contiguous", unary<kIdentity>},
      {"aten::neg", unary<kNeg>},             {"aten::exp", unary<kExp>},
      {"aten::log", unary<kLog>},             {"aten::abs", unary<kAbs>},
      {"aten::reciprocal", unary<kReciprocal>}, {"aten::ceil", unary<kCeil>},
      {"aten::floor", unary<kFloor>},         {"aten::round", unary<kRound>},
      {"aten::sign", unary<kSign>},           {"aten::erf", unary<kErf>},
      {"aten::sin", unary<kSin>},             {"aten::cos", unary<kCos>},
      {"aten::tan", unary<kTan>},             {"aten::asin", unary<kAsin>},
      {"aten::acos", unary<kAcos>},           {"aten::atan", unary<kAtan>},
      {"aten::sinh", unary<kSinh>},           {"aten::cosh", unary<kCosh>},
      {"aten::asinh", unary<kAsinh>},         {"aten::acosh", unary<kAcosh>},
      {"aten::atanh", unary<kAtanh>},         {"aten::softplus", translate_softplus},
      {"aten::isnan", unary<kIsNaN>},         {"aten::rsqrt", translate_rsqrt},
      {"aten::square", translate_square},     {"aten::logical_not", translate_logical_not},
      {"aten::lt", compare<kLess>},           {"aten::gt", compare<kGreater>},
      {"aten::le", compare<kLessOrEqual>},    {"aten::ge", compare<kGreaterOrEqual>},
      {"aten::ne", translate_ne},
      {"aten::logical_and", logical<kAnd>},   {"aten::logical_or", logical<kOr>},
      {"aten::__and__", bitwise<kAnd, kBitwiseAnd>}, {"aten::__or__", bitwise<kOr, kBitwiseOr>},
      {"aten::__xor__", bitwise<kXor, kBitwiseXor>}, {"aten::bitwise_and", bitwise<kAnd, kBitwiseAnd>},
      {"aten::bitwise_or", bitwise<kOr, kBitwiseOr>}, {"aten::bitwise_xor", bitwise<kXor, kBitwiseXor>},
      {"aten::bitwise_not", translate_bitwise_not},
      {"aten::logical_xor", logical<kXor>},
      {"aten::minimum", extreme<kMin>},       {"aten::maximum", extreme<kMax>},
      {"aten::pow", translate_pow},           {"aten::where", translate_where},
      {"aten::leaky_relu", translate_leaky_relu}, {"aten::elu", translate_elu},
      {"aten::celu", translate_celu},         {"aten::selu", translate_selu},
      {"aten::prelu", translate_prelu},
      {"aten::fmod", translate_mod<1>},       {"aten::remainder", translate_mod<0>},
      {"aten::isinf", translate_isinf<1, 1>}, {"aten::isposinf", translate_isinf<1, 0>},
      {"aten::isneginf", translate_isinf<0, 1>},
      {"aten::bitwise_left_shift", translate_bit_shift<kLeft>}, {"aten::bitwise_right_shift", translate_bit_shift<kRight>},
  };
}

}  // namespace mopt::onnx_export

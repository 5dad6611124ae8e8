// Elementwise ops: arithmetic, comparison, logic and math functions, mapped onto the torch
// function with the same broadcasting (ONNX's multidirectional broadcasting is NumPy's, as torch's).
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/ops/strings.h"

namespace mopt::onnx_import {
namespace {

bool is_float_type(int32_t type) {
  using T = onnx::TensorProto;
  return type == T::FLOAT || type == T::DOUBLE || type == T::FLOAT16 || type == T::BFLOAT16;
}
bool is_int_type(int32_t type) { return type != 0 && !is_float_type(type) && type != onnx::TensorProto::BOOL; }

constexpr char kAdd[] = "torch.add";
constexpr char kSub[] = "torch.sub";
constexpr char kMul[] = "torch.mul";
constexpr char kEq[] = "torch.eq";
constexpr char kLt[] = "torch.lt";
constexpr char kGt[] = "torch.gt";
constexpr char kLe[] = "torch.le";
constexpr char kGe[] = "torch.ge";
constexpr char kAnd[] = "torch.logical_and";
constexpr char kOr[] = "torch.logical_or";
constexpr char kXor[] = "torch.logical_xor";
constexpr char kMaximum[] = "torch.maximum";
constexpr char kMinimum[] = "torch.minimum";
constexpr char kNot[] = "torch.logical_not";
constexpr char kRelu[] = "torch.relu";
constexpr char kSigmoid[] = "torch.sigmoid";
constexpr char kTanh[] = "torch.tanh";
constexpr char kExp[] = "torch.exp";
constexpr char kLog[] = "torch.log";
constexpr char kSqrt[] = "torch.sqrt";
constexpr char kNeg[] = "torch.neg";
constexpr char kAbs[] = "torch.abs";
constexpr char kReciprocal[] = "torch.reciprocal";
constexpr char kFloor[] = "torch.floor";
constexpr char kCeil[] = "torch.ceil";
constexpr char kRound[] = "torch.round";  // half to even, as ONNX specifies
constexpr char kSign[] = "torch.sign";
constexpr char kErf[] = "torch.erf";
constexpr char kSin[] = "torch.sin";
constexpr char kCos[] = "torch.cos";
constexpr char kTan[] = "torch.tan";
constexpr char kAsin[] = "torch.asin";
constexpr char kAcos[] = "torch.acos";
constexpr char kAtan[] = "torch.atan";
constexpr char kSinh[] = "torch.sinh";
constexpr char kCosh[] = "torch.cosh";
constexpr char kAsinh[] = "torch.asinh";
constexpr char kAcosh[] = "torch.acosh";
constexpr char kAtanh[] = "torch.atanh";
constexpr char kIsNaN[] = "torch.isnan";
constexpr char kBitwiseAnd[] = "torch.bitwise_and";
constexpr char kBitwiseOr[] = "torch.bitwise_or";
constexpr char kBitwiseXor[] = "torch.bitwise_xor";
constexpr char kBitwiseNot[] = "torch.bitwise_not";

// Before opset 7, `broadcast=1` with `axis` aligned B's dims with A's starting at axis, instead of
// NumPy's trailing alignment: pad B's shape with trailing 1s to get the same result.
std::string second_operand(NodeContext& c) {
  auto b = c.input(1);
  if (c.opset() >= 7 || !c.attr_int("broadcast", 0) || !c.attribute("axis")) return b;
  auto rank_a = c.input_rank(0), rank_b = c.input_rank(1);
  c.require(rank_a && rank_b, "legacy axis broadcasting with unknown ranks");
  auto axis = c.attr_int("axis", 0);
  if (axis < 0) axis += *rank_a;
  auto trailing = *rank_a - axis - *rank_b;
  if (trailing <= 0) return b;
  return fmt::format("{}.reshape({}.size() + {})", b, b, int_list_literal(std::vector<int64_t>(trailing, 1)));
}

// Arithmetic on shape scalars stays in TorchScript ints.
// Shape lists combined with a one-value constant map element by element.
bool int_arithmetic(NodeContext& c, const char* op) {
  if (c.constant(0) && c.constant(1)) return false;
  // ONNX integer division truncates toward zero; int(x / y) does, where // would floor.
  const bool divide = std::string(op) == "/";
  auto combine = [&](const std::string& x, const std::string& y) {
    return divide ? fmt::format("int({} / {})", x, y) : fmt::format("{} {} {}", x, op, y);
  };
  auto a = c.int_form(0), b = c.int_form(1);
  if (a && b) {
    c.assign_int(0, combine(*a, *b));
    return true;
  }
  for (int side : {0, 1}) {
    auto list = c.ints_form(side);
    auto* other = c.constant(1 - side);
    if (!list || c.constant(side) || !other || other->numel() != 1 || other->is_floating_point()) continue;
    auto value = std::to_string(other->item<int64_t>());
    c.assign_ints(0, fmt::format("[{} for d in {}]", side == 0 ? combine("d", value) : combine(value, "d"), *list));
    return true;
  }
  return false;
}

template <const char* kFunction>
void binary(NodeContext& c) {
  if (kFunction == kAdd && int_arithmetic(c, "+")) return;
  if (kFunction == kSub && int_arithmetic(c, "-")) return;
  if (kFunction == kMul && int_arithmetic(c, "*")) return;
  c.assign(0, fmt::format("{}({}, {})", kFunction, c.input(0), second_operand(c)));
}

template <const char* kFunction>
void unary(NodeContext& c) {
  c.assign(0, fmt::format("{}({})", kFunction, c.input(0)));
}

// Variadic ops (Sum, Max, Min, Mean) fold pairwise.
template <const char* kFunction>
std::string fold_inputs(NodeContext& c) {
  auto result = c.input(0);
  for (int i = 1; i < c.input_count(); ++i) result = fmt::format("{}({}, {})", kFunction, result, c.input(i));
  return result;
}

void convert_div(NodeContext& c) {
  if (int_arithmetic(c, "/")) return;
  auto a = c.input_elem_type(0), b = c.input_elem_type(1);
  if (is_float_type(a) || is_float_type(b)) {
    c.assign(0, fmt::format("torch.div({}, {})", c.input(0), second_operand(c)));
  } else if (is_int_type(a) && is_int_type(b)) {
    c.assign(0, fmt::format("torch.div({}, {}, rounding_mode='trunc')", c.input(0), c.input(1)));  // C semantics
  } else {
    c.assign(0, fmt::format("{}({}, {})", c.helper("_div"), c.input(0), c.input(1)));
  }
}

void convert_pow(NodeContext& c) {
  // ONNX Pow keeps the base's type; torch promotes int ** float to float.
  auto base = c.input_elem_type(0), exponent = c.input_elem_type(1);
  auto* constant = c.constant(1);
  if (constant && constant->numel() == 1 && is_float_type(base) && constant->item<double>() == 2.0) {
    c.assign(0, fmt::format("torch.mul({0}, {0})", c.input(0)));  // x*x: exact and faster than pow
    return;
  }
  auto expression = fmt::format("torch.pow({}, {})", c.input(0), second_operand(c));
  if (!(is_float_type(base) && (is_float_type(exponent) || exponent == base))) {
    expression = fmt::format("{}.to({}.dtype)", expression, c.input(0));
  }
  c.assign(0, expression);
}

void convert_mod(NodeContext& c) {
  // fmod=1: sign of the dividend (C fmod); fmod=0: sign of the divisor (Python %).
  const char* function = c.attr_int("fmod", 0) ? "torch.fmod" : "torch.remainder";
  c.assign(0, fmt::format("{}({}, {})", function, c.input(0), c.input(1)));
}

void convert_sum(NodeContext& c) { c.assign(0, fold_inputs<kAdd>(c)); }
void convert_max(NodeContext& c) { c.assign(0, fold_inputs<kMaximum>(c)); }
void convert_min(NodeContext& c) { c.assign(0, fold_inputs<kMinimum>(c)); }
void convert_mean(NodeContext& c) {
  c.assign(0, fmt::format("torch.div({}, {})", fold_inputs<kAdd>(c), float_literal(c.input_count())));
}

void convert_where(NodeContext& c) {
  c.assign(0, fmt::format("torch.where({}, {}, {})", c.input(0), c.input(1), c.input(2)));
}

void convert_identity(NodeContext& c) {
  if (auto list = c.ints_form(0); list && !c.constant(0)) return c.assign_ints(0, *list);
  if (auto scalar = c.int_form(0); scalar && !c.constant(0)) return c.assign_int(0, *scalar);
  c.assign(0, c.input(0));
}

void convert_dropout(NodeContext& c) {
  // Inference: the identity. opset 12+ may ask for training mode through input 2; with a ratio of 0
  // that is the identity too (torchvision's Swin calls F.dropout(attn, p=0.0), training by default).
  const auto* ratio = c.constant(1);
  const bool drops_nothing = ratio && ratio->item<double>() == 0.0;
  if (auto* training = c.constant(2)) c.require(!training->item<bool>() || drops_nothing, "Dropout in training mode (ratio > 0)");
  else c.require(!c.has_input(2) || drops_nothing, "Dropout with a run-time training_mode input");
  c.assign(0, c.input(0));
  if (c.output_used(1)) c.assign(1, fmt::format("torch.ones_like({}, dtype={})", c.output(0), dtype_code(at::kBool)));
}

void convert_softsign(NodeContext& c) {
  c.assign(0, fmt::format("torch.div({0}, torch.add(torch.abs({0}), 1.0))", c.input(0)));
}

void convert_isinf(NodeContext& c) {
  auto x = c.input(0);
  bool positive = c.attr_int("detect_positive", 1), negative = c.attr_int("detect_negative", 1);
  if (positive && negative) c.assign(0, fmt::format("torch.isinf({})", x));
  else if (positive) c.assign(0, fmt::format("torch.isposinf({})", x));
  else if (negative) c.assign(0, fmt::format("torch.isneginf({})", x));
  else c.assign(0, fmt::format("torch.zeros_like({}, dtype={})", x, dtype_code(at::kBool)));
}

// Equal on numbers, or on strings (opset 19).
void convert_equal(NodeContext& c) {
  if (c.input_elem_type(0) == onnx::TensorProto::STRING) return convert_string_equal(c);
  binary<kEq>(c);
}

// BitShift on unsigned integers: uint8 as LibTorch holds it, uint16/32/64 in int64 (compute_dtype),
// where a right shift must not drag the sign bit of a uint64 from 2^63 up in. Shifts by the type's
// width or more give 0, as NumPy's.
void convert_bit_shift(NodeContext& c) {
  using T = onnx::TensorProto;
  const int32_t type = c.input_elem_type(0);
  const int width = type == T::UINT8 ? 8 : type == T::UINT16 ? 16 : type == T::UINT32 ? 32 : type == T::UINT64 ? 64 : 0;
  c.require(width > 0, "BitShift on types other than unsigned integers");
  auto direction = c.attr_string("direction", "");
  c.require(direction == "LEFT" || direction == "RIGHT", "BitShift direction " + direction);
  auto x = c.input(0), y = c.input(1);
  std::string shifted;
  if (direction == "LEFT") {
    shifted = fmt::format("torch.bitwise_left_shift({}, {})", x, y);
  } else if (width == 64) {  // logical: one step with the sign bit cleared, then the rest
    shifted = fmt::format("torch.where(torch.eq({1}, 0), {0}, torch.bitwise_right_shift(torch.bitwise_and("
                          "torch.bitwise_right_shift({0}, 1), 9223372036854775807), {1} - 1))", x, y);
  } else {
    shifted = fmt::format("torch.bitwise_right_shift({}, {})", x, y);
  }
  c.assign(0, fmt::format("torch.where(torch.ge({0}, {2}), torch.zeros_like({1}), {1})", y, shifted, width));
}

}  // namespace

std::vector<ConverterEntry> elementwise_converters() {
  return {
      {"", "Add", 1, kMaxOpset, binary<kAdd>},
      {"", "Sub", 1, kMaxOpset, binary<kSub>},
      {"", "Mul", 1, kMaxOpset, binary<kMul>},
      {"", "Div", 1, kMaxOpset, convert_div},
      {"", "Pow", 1, kMaxOpset, convert_pow},
      {"", "Mod", 10, kMaxOpset, convert_mod},
      {"", "Equal", 7, kMaxOpset, convert_equal},
      {"", "Less", 7, kMaxOpset, binary<kLt>},
      {"", "Greater", 7, kMaxOpset, binary<kGt>},
      {"", "LessOrEqual", 12, kMaxOpset, binary<kLe>},
      {"", "GreaterOrEqual", 12, kMaxOpset, binary<kGe>},
      {"", "And", 7, kMaxOpset, binary<kAnd>},
      {"", "Or", 7, kMaxOpset, binary<kOr>},
      {"", "Xor", 7, kMaxOpset, binary<kXor>},
      {"", "Not", 1, kMaxOpset, unary<kNot>},
      {"", "Sum", 1, kMaxOpset, convert_sum},
      {"", "Max", 1, kMaxOpset, convert_max},
      {"", "Min", 1, kMaxOpset, convert_min},
      {"", "Mean", 1, kMaxOpset, convert_mean},
      {"", "Where", 9, kMaxOpset, convert_where},
      {"", "Relu", 1, kMaxOpset, unary<kRelu>},
      {"", "Sigmoid", 1, kMaxOpset, unary<kSigmoid>},
      {"", "Tanh", 1, kMaxOpset, unary<kTanh>},
      {"", "Exp", 1, kMaxOpset, unary<kExp>},
      {"", "Log", 1, kMaxOpset, unary<kLog>},
      {"", "Sqrt", 1, kMaxOpset, unary<kSqrt>},
      {"", "Neg", 1, kMaxOpset, unary<kNeg>},
      {"", "Abs", 1, kMaxOpset, unary<kAbs>},
      {"", "Reciprocal", 1, kMaxOpset, unary<kReciprocal>},
      {"", "Floor", 1, kMaxOpset, unary<kFloor>},
      {"", "Ceil", 1, kMaxOpset, unary<kCeil>},
      {"", "Round", 11, kMaxOpset, unary<kRound>},
      {"", "Sign", 9, kMaxOpset, unary<kSign>},
      {"", "Erf", 9, kMaxOpset, unary<kErf>},
      {"", "Sin", 7, kMaxOpset, unary<kSin>},
      {"", "Cos", 7, kMaxOpset, unary<kCos>},
      {"", "Tan", 7, kMaxOpset, unary<kTan>},
      {"", "Asin", 7, kMaxOpset, unary<kAsin>},
      {"", "Acos", 7, kMaxOpset, unary<kAcos>},
      {"", "Atan", 7, kMaxOpset, unary<kAtan>},
      {"", "Sinh", 9, kMaxOpset, unary<kSinh>},
      {"", "Cosh", 9, kMaxOpset, unary<kCosh>},
      {"", "Asinh", 9, kMaxOpset, unary<kAsinh>},
      {"", "Acosh", 9, kMaxOpset, unary<kAcosh>},
      {"", "Atanh", 9, kMaxOpset, unary<kAtanh>},
      {"", "IsNaN", 9, kMaxOpset, unary<kIsNaN>},
      {"", "IsInf", 10, kMaxOpset, convert_isinf},
      {"", "Softsign", 1, kMaxOpset, convert_softsign},
      {"", "Identity", 1, kMaxOpset, convert_identity},
      {"", "Dropout", 1, kMaxOpset, convert_dropout},
      {"", "BitShift", 11, kMaxOpset, convert_bit_shift},
      {"", "BitwiseAnd", 18, kMaxOpset, binary<kBitwiseAnd>},
      {"", "BitwiseOr", 18, kMaxOpset, binary<kBitwiseOr>},
      {"", "BitwiseXor", 18, kMaxOpset, binary<kBitwiseXor>},
      {"", "BitwiseNot", 18, kMaxOpset, unary<kBitwiseNot>},
  };
}

}  // namespace mopt::onnx_import

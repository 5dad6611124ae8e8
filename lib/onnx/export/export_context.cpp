#include "lib/onnx/export/export_context.h"

#include <fmt/format.h>
#include <torch/csrc/jit/ir/constants.h>

#include <cctype>

#include "lib/errors.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_export {

std::string ExportContext::fresh(const std::string& hint) {
  std::string base = hint.empty() ? "v" : hint;
  auto& count = used_[base];
  std::string name;
  do {
    name = count == 0 ? base : fmt::format("{}_{}", base, count);
    ++count;
  } while (!taken_.insert(name).second);
  return name;
}

std::string ExportContext::fresh(const torch::jit::Value* value) {
  auto name = fresh(value->hasDebugName() ? value->debugName() : std::string("v"));
  names_[value] = name;
  return name;
}

std::string ExportContext::name(const torch::jit::Value* value) {
  auto it = names_.find(value);
  if (it != names_.end()) {
    const auto* params = quant_params(value);
    if (!params) return it->second;
    if (graph_ != &root_) return dequantize(it->second, *params);  // a branch's DQ is not visible outside it
    auto& dequantized = dequantized_[value];
    if (dequantized.empty()) dequantized = dequantize(it->second, *params);
    return dequantized;
  }
  auto constant_value = constant(value);
  if (constant_value && (constant_value->isTensor() || constant_value->isIntList())) {
    // A constant list of ints read as a tensor is 1-D int64, as shape values travel. (A number's ONNX
    // type depends on the op that reads it, so its translator handles it.)
    const auto tensor = constant_value->isTensor() ? constant_value->toTensor()
                                                   : at::tensor(constant_value->toIntVector(), at::kLong);
    auto name = add_initializer(tensor, value->hasDebugName() ? value->debugName() : "const");
    names_[value] = name;
    return name;
  }
  // A value no translated op defined: its producer was skipped as a non-tensor computation (a list or
  // number built from a tensor's contents, a loop) that ONNX could only express as data-dependent control flow.
  const auto* producer = value->node();
  throw invalid_input(fmt::format("cannot export to ONNX: %{} ({}, made by {}) is computed from tensor values in a way "
                                  "the exporter does not translate (keep the .onnx input, or export from PyTorch)",
                                  value->debugName(), value->type()->str(), producer->kind().toQualString()));
}

std::string int_list_value(ExportContext& c, const torch::jit::Node* node, const torch::jit::Value* list) {
  if (auto values = c.constant_ints(list)) return c.add_ints(*values, "ints");
  if (c.is_bound(list)) return c.name(list);
  if (list->node()->kind() != c10::prim::ListConstruct) unsupported(node, "an int list that is not built in the graph");
  std::vector<std::string> parts;
  for (const auto* element : list->node()->inputs()) {
    if (auto value = c.constant_int(element)) {
      parts.push_back(c.add_ints({*value}, "dim"));
      continue;
    }
    auto part = c.fresh("dim");
    c.add_node("Unsqueeze", {c.name(element), c.add_ints({0}, "axes")}, {part});
    parts.push_back(part);
  }
  auto joined = c.fresh("ints");
  set_int(c.add_node("Concat", parts, {joined}), "axis", 0);
  return joined;
}

at::ScalarType result_dtype(const ExportContext& c, const torch::jit::Node* node) {
  auto type = c.dtype(node->output());
  if (!type) unsupported(node, "a result of unknown dtype");
  return *type;
}

std::string reorder_blocks(ExportContext& c, const std::string& name, const std::vector<int64_t>& order) {
  std::vector<std::string> blocks, reordered;
  for (size_t i = 0; i < order.size(); ++i) blocks.push_back(c.fresh("block"));
  c.add_split({name}, blocks, 0);
  for (auto i : order) reordered.push_back(blocks.at(static_cast<size_t>(i)));
  auto out = c.fresh("reordered");
  set_int(c.add_node("Concat", reordered, {out}), "axis", 0);
  return out;
}

void add_extreme(ExportContext& c, const char* op, const torch::jit::Value* a, const torch::jit::Value* b, at::ScalarType type,
                 const torch::jit::Value* out) {
  const bool narrow = type == at::kChar || type == at::kByte || type == at::kShort;
  if (!narrow) {
    c.add_node(op, {c.as_type(a, type), c.as_type(b, type)}, {c.fresh(out)});
    return;
  }
  auto wide = c.fresh(std::string(op) + "_int32");
  c.add_node(op, {c.as_type(a, at::kInt), c.as_type(b, at::kInt)}, {wide});
  c.bind(out, c.cast(wide, type));
}

bool is_structural(const torch::jit::Node* node) {
  auto kind = node->kind();
  return kind == c10::prim::Constant || kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct;
}

void ExportContext::translate(const torch::jit::Node* node) {
  const auto* entry = find_translator(node->kind().toQualString());
  if (!entry) unsupported(node, "no translator");
  entry->translate(*this, node);
  if (entry->handles_quantized) return;
  for (const auto* output : node->outputs()) {
    if (quant_params(output)) quantize_output(output);
  }
}

void ExportContext::translate_block(const torch::jit::Block* block, onnx::GraphProto& branch,
                                    const std::vector<const torch::jit::Value*>& like) {
  auto* outer = graph_;
  graph_ = &branch;
  branch.set_name(fresh("branch"));
  for (const auto* node : block->nodes()) {
    if (!is_structural(node)) translate(node);
  }
  for (size_t i = 0; i < block->outputs().size(); ++i) {
    auto out = fresh(like[i]->hasDebugName() ? like[i]->debugName() + "_branch" : "branch_out");
    const auto* result = block->outputs()[i];
    const bool list = result->type()->kind() == c10::TypeKind::ListType;  // an int list: a 1-D int64 value
    add_node("Identity", {list ? int_list_value(*this, block->owningNode(), result) : name(result)}, {out});
    auto* info = branch.add_output();
    info->set_name(out);
    auto type = list ? std::optional<at::ScalarType>(at::kLong) : dtype(like[i]);
    if (type && onnx_dtype(*type)) info->mutable_type()->mutable_tensor_type()->set_elem_type(*onnx_dtype(*type));
  }
  graph_ = outer;
}

const QuantParams* ExportContext::quant_params(const torch::jit::Value* value) const {
  auto it = quantized_.find(value);
  return it == quantized_.end() ? nullptr : &it->second;
}

namespace {
// The scale and zero point initializers of per-tensor parameters (uint8 or int8 zero point).
std::pair<std::string, std::string> param_initializers(ExportContext& c, const QuantParams& params) {
  auto zero_type = params.dtype == at::kQInt8 ? at::kChar : at::kByte;
  return {c.add_initializer(at::scalar_tensor(params.scale, at::kFloat), "scale"),
          c.add_initializer(at::scalar_tensor(params.zero_point, at::kLong).to(zero_type), "zero_point")};
}
}  // namespace

std::string ExportContext::quantize(const std::string& float_name, const QuantParams& params) {
  if (params.dtype != at::kQUInt8 && params.dtype != at::kQInt8) {
    throw invalid_input(fmt::format("cannot export to ONNX: {} activations have no QuantizeLinear form", c10::toString(params.dtype)));
  }
  auto [scale, zero_point] = param_initializers(*this, params);
  auto out = fresh(float_name + "_quantized");
  add_node("QuantizeLinear", {float_name, scale, zero_point}, {out});
  return out;
}

std::string ExportContext::dequantize(const std::string& raw_name, const QuantParams& params) {
  auto [scale, zero_point] = param_initializers(*this, params);
  auto out = fresh(raw_name + "_dequantized");
  add_node("DequantizeLinear", {raw_name, scale, zero_point}, {out});
  return out;
}

void ExportContext::quantize_output(const torch::jit::Value* value) {
  const auto* params = quant_params(value);
  auto it = names_.find(value);
  if (!params || it == names_.end()) {
    throw invalid_input(fmt::format("cannot export to ONNX: %{} is quantized per channel or not at all", value->debugName()));
  }
  it->second = quantize(it->second, *params);
  taken_.insert(it->second);
}

std::optional<c10::IValue> ExportContext::constant(const torch::jit::Value* value) const {
  auto ivalue = torch::jit::toIValue(value);
  if (!ivalue) return std::nullopt;
  return *ivalue;
}

std::optional<int64_t> ExportContext::constant_int(const torch::jit::Value* value) const {
  auto v = constant(value);
  if (v && v->isBool()) return v->toBool() ? 1 : 0;
  if (!v || !v->isInt()) return std::nullopt;
  return v->toInt();
}

std::optional<double> ExportContext::constant_double(const torch::jit::Value* value) const {
  auto v = constant(value);
  if (!v) return std::nullopt;
  if (v->isDouble()) return v->toDouble();
  if (v->isInt()) return static_cast<double>(v->toInt());
  return std::nullopt;
}

std::optional<std::vector<int64_t>> ExportContext::constant_ints(const torch::jit::Value* value) const {
  auto v = constant(value);
  if (!v) return std::nullopt;
  if (v->isIntList()) return v->toIntVector();
  if (v->isInt()) return std::vector<int64_t>{v->toInt()};
  return std::nullopt;
}

std::optional<std::string> ExportContext::constant_string(const torch::jit::Value* value) const {
  auto v = constant(value);
  if (!v || !v->isString()) return std::nullopt;
  return v->toStringRef();
}

bool ExportContext::is_none(const torch::jit::Value* value) const {
  return value->type()->kind() == c10::TypeKind::NoneType || (constant(value) && constant(value)->isNone());
}

std::optional<at::ScalarType> ExportContext::dtype(const torch::jit::Value* value) const {
  switch (value->type()->kind()) {
    case c10::TypeKind::IntType: return at::kLong;
    case c10::TypeKind::FloatType: return at::kFloat;
    case c10::TypeKind::BoolType: return at::kBool;
    default: break;
  }
  auto tensor = value->type()->cast<c10::TensorType>();
  if (tensor && tensor->scalarType()) return *tensor->scalarType();
  return std::nullopt;
}

std::string ExportContext::cast(const std::string& name, at::ScalarType type) {
  auto to = onnx_dtype(type);
  if (!to) throw invalid_input(fmt::format("cannot export to ONNX: {} has no ONNX type", c10::toString(type)));
  auto out = fresh(name + "_cast");
  set_int(add_node("Cast", {name}, {out}), "to", *to);
  return out;
}

std::string ExportContext::as_type(const torch::jit::Value* value, at::ScalarType type) {
  if (!value->type()->cast<c10::TensorType>()) {
    if (auto number = constant(value); number && (number->isInt() || number->isDouble() || number->isBool())) {
      auto scalar = number->isInt() ? at::scalar_tensor(number->toInt(), at::kLong)
                    : number->isBool() ? at::scalar_tensor(number->toBool(), at::kBool)
                                       : at::scalar_tensor(number->toDouble(), at::kDouble);
      return add_initializer(scalar.to(type), "scalar");
    }
  }
  auto own = dtype(value);
  auto onnx_name = name(value);
  return own && *own != type ? cast(onnx_name, type) : onnx_name;
}

onnx::NodeProto& ExportContext::add_node(const std::string& op, const std::vector<std::string>& inputs,
                                         const std::vector<std::string>& outputs) {
  // Ops of the default domain newer than the oldest opset the exporter writes (13).
  static const std::unordered_map<std::string, int64_t> kSince = {{"Trilu", 14}, {"HardSwish", 14}, {"GridSample", 16}, {"LayerNormalization", 17}};
  auto since = kSince.find(op);
  if (since != kSince.end() && opset_ < since->second) {
    throw invalid_input(fmt::format("cannot export to ONNX opset {}: {} needs opset {} (give --opset {})", opset_, op,
                                    since->second, since->second));
  }
  auto* node = graph_->add_node();
  node->set_op_type(op);
  node->set_name(fresh(op));
  for (const auto& input : inputs) node->add_input(input);
  for (const auto& output : outputs) node->add_output(output);
  return *node;
}

onnx::NodeProto& ExportContext::add_reduce(const std::string& op, const std::string& input, const std::vector<int64_t>& axes,
                                           int64_t keepdims, const std::string& output) {
  const bool axes_as_input = opset_ >= (op == "ReduceSum" ? 13 : 18);
  std::vector<std::string> inputs = {input};
  if (axes_as_input && !axes.empty()) inputs.push_back(add_ints(axes, "axes"));
  auto& node = add_node(op, inputs, {output});
  if (!axes_as_input && !axes.empty()) set_ints(node, "axes", axes);
  set_int(node, "keepdims", keepdims);
  return node;
}

onnx::NodeProto& ExportContext::add_split(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                                          int64_t axis) {
  auto& node = add_node("Split", inputs, outputs);
  set_int(node, "axis", axis);
  const bool sized = inputs.size() > 1 && !inputs[1].empty();
  if (!sized && opset_ >= 18) set_int(node, "num_outputs", static_cast<int64_t>(outputs.size()));
  return node;
}

std::string ExportContext::add_initializer(const at::Tensor& value, const std::string& hint) {
  auto name = fresh(hint);
  *root_.add_initializer() = torch_to_tensor(value.contiguous(), name);
  return name;
}

std::string ExportContext::add_ints(const std::vector<int64_t>& values, const std::string& hint) {
  return add_initializer(at::tensor(values, at::kLong), hint);
}

void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INTS);
  for (auto v : values) attr->add_ints(v);
}

void set_int(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

void set_float(onnx::NodeProto& node, const std::string& name, float value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

void set_string(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::STRING);
  attr->set_s(value);
}

void unsupported(const torch::jit::Node* node, const std::string& what) {
  throw invalid_input(fmt::format("cannot export {} to ONNX: {}", node->kind().toQualString(), what));
}

const std::vector<TranslatorEntry>& translator_table() {
  static const std::vector<TranslatorEntry> table = [] {
    std::vector<TranslatorEntry> all;
    for (auto family : {layer_translators, elementwise_translators, tensor_translators, recurrent_translators,
                        reduction_translators, quantized_translators, helper_translators,
                        creation_translators, indexing_translators, attention_translators}) {
      auto entries = family();
      all.insert(all.end(), entries.begin(), entries.end());
    }
    return all;
  }();
  return table;
}

const TranslatorEntry* find_translator(const std::string& kind) {
  for (const auto& entry : translator_table()) {
    if (kind == entry.kind) return &entry;
  }
  return nullptr;
}

}  // namespace mopt::onnx_export

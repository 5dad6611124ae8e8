#include "lib/onnx/import/graph_builder.h"

#include <fmt/format.h>

#include <cctype>
#include <sstream>

#include "lib/errors.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/constant_values.h"
#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/fusions.h"
#include "lib/onnx/import/graph_validation.h"
#include "lib/onnx/import/helpers.h"
#include "lib/onnx/import/ops/strings.h"
#include "lib/onnx/onnx_tensors.h"
#include "lib/util/mopt_resolver.h"

namespace mopt::onnx_import {
namespace {

// Words the generated source must not use as identifiers: Python keywords and the names
// TorchScript resolves in every scope.
const char* const kReserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "self", "torch", "math", "int", "float",
    "bool", "str", "list", "tuple", "List", "Tuple", "Optional", "Tensor", "Dict", "len", "range", "min", "max",
    "print", "forward", "training", "annotate", "ops", "mopt", "abs", "round", "sum", "all", "any", "isinstance", "getattr"};

std::string sanitize(const std::string& hint) {
  std::string out;
  for (char c : hint) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  // Collapse runs of '_' and trim them: "onnx::Conv_12" -> "onnx_Conv_12".
  std::string collapsed;
  for (char c : out) {
    if (c == '_' && !collapsed.empty() && collapsed.back() == '_') continue;
    collapsed += c;
  }
  while (!collapsed.empty() && collapsed.front() == '_') collapsed.erase(collapsed.begin());
  while (!collapsed.empty() && collapsed.back() == '_') collapsed.pop_back();
  if (collapsed.empty()) collapsed = "v";
  if (std::isdigit(static_cast<unsigned char>(collapsed.front()))) collapsed = "v" + collapsed;
  return collapsed;
}

// A node name as a source comment: printable ASCII only (a line break or a byte that is not UTF-8
// in a name would end the comment or break TorchScript's lexer; fuzzing found both).
std::string comment_text(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

std::string strip_suffix(const std::string& text, const std::string& suffix) {
  if (text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return text.substr(0, text.size() - suffix.size());
  }
  return text;
}

// Only the ops of ops/strings.cpp (and Equal, Identity) take string tensors; any other op given one
// is refused by name.
void refuse_string_inputs(const NodeContext& context) {
  static const std::set<std::string> string_ops = {"Equal",          "StringConcat",     "StringSplit",
                                                   "RegexFullMatch", "StringNormalizer", "Identity"};
  if (string_ops.count(context.op_type())) return;
  for (int i = 0; i < context.input_count(); ++i) {
    if (context.has_input(i) && context.input_elem_type(i) == onnx::TensorProto::STRING) {
      context.require(false, fmt::format("{} on string tensors", context.op_type()));
    }
  }
}

// The element type of a tensor value's type, 0 when unknown or not a tensor.
int32_t elem_type(const onnx::TypeProto* type) {
  return type != nullptr && type->has_tensor_type() ? type->tensor_type().elem_type() : 0;
}

}  // namespace

NameTable::NameTable() : used_(std::begin(kReserved), std::end(kReserved)) {}

std::string NameTable::unique(const std::string& hint) {
  auto base = sanitize(hint);
  if (base.size() > 60) base = base.substr(base.size() - 60);  // keep the distinctive tail
  if (std::isdigit(static_cast<unsigned char>(base.front()))) base = "v" + base;
  auto name = base;
  for (int n = 1; used_.count(name); ++n) name = fmt::format("{}_{}", base, n);
  used_.insert(name);
  return name;
}

GraphBuilder::GraphBuilder(const onnx::ModelProto& model)
    : graph_(model.graph()),
      opset_(model_opset(model)),
      unit_(std::make_shared<torch::jit::CompilationUnit>()),
      root_(c10::QualifiedName("__torch__.mopt.onnx.ImportedModel"), unit_, /*shouldMangle=*/true) {
  root_.register_attribute("training", c10::BoolType::get(), false);
  index_graph(graph_);
  for (const auto& output : graph_.output()) graph_outputs_.insert(output.name());
}

void GraphBuilder::index_graph(const onnx::GraphProto& graph) {
  constants_.merge(constant_values(graph));  // ONNX value names are unique across scopes
  for (const auto& value : graph.input()) types_[value.name()] = &value.type();
  for (const auto& value : graph.value_info()) types_[value.name()] = &value.type();
  for (const auto& value : graph.output()) {
    types_[value.name()] = &value.type();
    ++uses_[value.name()];  // read by the graph's caller: the model, or an If node
  }
  for (const auto& node : graph.node()) {
    for (const auto& input : node.input()) {
      ++uses_[input];
      readers_[input].push_back(&node);
    }
    for (const auto* sub : subgraphs_of(node)) index_graph(*sub);
  }
}

const at::Tensor* GraphBuilder::constant(const std::string& value) const {
  auto it = constants_.find(value);
  return it == constants_.end() ? nullptr : &it->second;
}

const onnx::TypeProto* GraphBuilder::type_of(const std::string& value) const {
  auto it = types_.find(value);
  return it == types_.end() ? nullptr : it->second;
}

bool GraphBuilder::is_used(const std::string& value) const {
  auto it = uses_.find(value);
  return it != uses_.end() && it->second > 0;
}

std::vector<const onnx::NodeProto*> GraphBuilder::readers(const std::string& value) const {
  auto it = readers_.find(value);
  if (it == readers_.end() || graph_outputs_.count(value)) return {};
  return it->second;
}

const onnx::NodeProto* GraphBuilder::sole_reader(const std::string& value) const {
  auto all = readers(value);
  return all.size() == 1 ? all.front() : nullptr;
}

void GraphBuilder::absorb(const onnx::NodeProto& node, const std::string& value, const std::string& expression) {
  absorbed_.insert(&node);
  expressions_[value] = expression;
}

std::string GraphBuilder::expression_of(const std::string& value) {
  auto it = expressions_.find(value);
  if (it != expressions_.end()) return it->second;
  if (auto* tensor = constant(value)) {
    auto expression = add_constant(*tensor, value);
    expressions_[value] = expression;
    return expression;
  }
  // A shape value kept as ints, read as a tensor: make the tensor once, here.
  auto list = int_lists_.find(value);
  auto scalar = int_scalars_.find(value);
  if (list != int_lists_.end() || scalar != int_scalars_.end()) {
    auto name = names_.unique("v_" + value);
    emit(fmt::format("{} = torch.tensor({}, dtype=4)  # 4: torch.int64", name,
                     list != int_lists_.end() ? list->second : scalar->second));
    expressions_[value] = name;
    return name;
  }
  // validate_graph guarantees every input is defined before use.
  throw runtime_failure(fmt::format("internal error: ONNX value '{}' used before it was defined", value));
}

void GraphBuilder::define_ints(const std::string& value, const std::string& expression, bool scalar) {
  auto name = names_.unique("s_" + value);
  emit(fmt::format("{}: {} = {}", name, scalar ? "int" : "List[int]", expression));
  (scalar ? int_scalars_ : int_lists_)[value] = name;
}

std::optional<std::string> GraphBuilder::ints_of(const std::string& value) const {
  auto it = int_lists_.find(value);
  return it == int_lists_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::string> GraphBuilder::int_of(const std::string& value) const {
  auto it = int_scalars_.find(value);
  return it == int_scalars_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::string GraphBuilder::local_for(const std::string& value) {
  auto it = expressions_.find(value);
  if (it != expressions_.end()) return it->second;
  auto name = names_.unique("v_" + value);
  expressions_[value] = name;
  return name;
}

std::string GraphBuilder::add_layer(LayerSpec spec) {
  auto attribute = names_.unique(strip_suffix(spec.name_hint, ".weight"));
  torch::jit::Module layer(c10::QualifiedName("__torch__." + spec.type_name), unit_, /*shouldMangle=*/true);
  layer.register_attribute("training", c10::BoolType::get(), false);
  for (const auto& tensor : spec.tensors) {
    if (!tensor.value.defined()) {
      // A None parameter slot, as torch.nn registers bias=False (LibTorch's FoldConvBatchNorm needs the slot).
      layer.register_attribute(tensor.name, c10::OptionalType::create(c10::TensorType::get()), c10::IValue(),
                               /*is_param=*/tensor.parameter);
      continue;
    }
    auto value = tensor.value.contiguous();
    if (tensor.parameter) {
      layer.register_parameter(tensor.name, value.detach().requires_grad_(value.is_floating_point()), false);
    } else {
      layer.register_buffer(tensor.name, value);
    }
    if (!tensor.onnx_name.empty()) parameter_names_[attribute + "." + tensor.name] = tensor.onnx_name;
  }
  for (const auto& [name, value] : spec.float_attributes) layer.register_attribute(name, c10::FloatType::get(), value);
  try {
    layer.define(spec.forward_source);
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("internal error: the {} layer for '{}' does not compile: {}\n{}", spec.type_name,
                                      spec.name_hint, short_torch_message(e.what()), spec.forward_source));
  }
  root_.register_module(attribute, layer);
  // `.forward` explicitly: the C++ frontend has no module __call__ (the call compiles to the same
  // prim::CallMethod that scripted torch.nn modules produce).
  return "self." + attribute + ".forward";
}

std::string GraphBuilder::add_constant(const at::Tensor& value, const std::string& name_hint) {
  auto attribute = names_.unique(name_hint);
  root_.register_buffer(attribute, value.contiguous());
  return "self." + attribute;
}

std::string GraphBuilder::add_value(const c10::IValue& value, const std::string& name_hint) {
  auto attribute = names_.unique(name_hint);
  root_.register_attribute(attribute, value.type(), value);
  return "self." + attribute;
}

std::string GraphBuilder::helper(const std::string& name) {
  if (helpers_.insert(name).second) {
    for (const auto& dependency : helper_dependencies(name)) helper(dependency);  // and theirs
  }
  return "self." + name;
}

void GraphBuilder::convert_nodes(const onnx::GraphProto& graph) {
  for (int index : topological_order(graph, /*reads_enclosing_scope=*/&graph != &graph_)) {
    const auto& node = graph.node(index);
    if (node.domain().empty() && node.output_size() == 1 && constants_.count(node.output(0))) continue;  // folded
    if (absorbed_.count(&node)) continue;
    auto* entry = find_converter(node.domain(), node.op_type(), opset_);
    if (!entry) {
      throw invalid_input(fmt::format("no converter for {} (opset {}) at node '{}'", node.op_type(), opset_, node.name()));
    }
    emit(fmt::format("# {} {}", node.op_type(), comment_text(node.name())));
    NodeContext context(*this, node, opset_);
    refuse_string_inputs(context);
    if (try_fusions(context)) continue;
    entry->convert(context);
    wrap_unsigned_outputs(node);
  }
}

void GraphBuilder::wrap_unsigned_outputs(const onnx::NodeProto& node) {
  for (const auto& output : node.output()) {
    if (output.empty() || constants_.count(output)) continue;
    const int32_t type = elem_type(type_of(output));
    if (type != onnx::TensorProto::UINT16 && type != onnx::TensorProto::UINT32) continue;
    const auto wrapped = names_.unique("v_" + output);
    emit(fmt::format("{} = torch.bitwise_and({}, {})  # back into {}'s range", wrapped, expression_of(output),
                     type == onnx::TensorProto::UINT16 ? "65535" : "4294967295",
                     onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type))));
    expressions_[output] = wrapped;
  }
}

void GraphBuilder::convert_branch(const onnx::GraphProto& branch, const std::vector<std::string>& targets,
                                  const std::vector<std::string>& inputs, const std::vector<std::string>& epilogue) {
  if (branch.output_size() != static_cast<int>(targets.size()) || branch.input_size() != static_cast<int>(inputs.size())) {
    throw invalid_input(fmt::format("subgraph '{}' has {} inputs and {} outputs where its node passes {} and takes {}",
                                    branch.name(), branch.input_size(), branch.output_size(), inputs.size(), targets.size()));
  }
  const auto expressions = expressions_;
  const auto int_lists = int_lists_;
  const auto int_scalars = int_scalars_;
  for (int k = 0; k < branch.input_size(); ++k) expressions_[branch.input(k).name()] = inputs[k];
  indent_ += "    ";
  emit("pass");  // a block is never empty, even for a branch without nodes or outputs
  convert_nodes(branch);
  for (int k = 0; k < branch.output_size(); ++k) emit(fmt::format("{} = {}", targets[k], expression_of(branch.output(k).name())));
  for (const auto& statement : epilogue) emit(statement);
  indent_.resize(indent_.size() - 4);
  expressions_ = expressions;
  int_lists_ = int_lists;
  int_scalars_ = int_scalars;
}

torch::jit::Module GraphBuilder::build() {
  // Arguments: graph inputs that are not initializers (IR < 4 lists initializers as inputs too).
  std::vector<std::string> parameters;
  for (const auto& input : graph_.input()) {
    if (constants_.count(input.name())) continue;
    auto name = names_.unique(input.name());
    expressions_[input.name()] = name;
    argument_names_.push_back(name);
    const int32_t type = elem_type(&input.type());
    parameters.push_back(fmt::format("{}: {}", name, type == onnx::TensorProto::STRING ? kStringTensor : "Tensor"));
    if (is_wide_unsigned(type)) emit(fmt::format("{0} = {0}.to(4)  # computed in int64", name));
  }

  convert_nodes(graph_);

  std::vector<std::string> results;
  for (const auto& output : graph_.output()) {
    auto result = expression_of(output.name());
    // uint16/32/64 computed in int64 (compute_dtype) go back to their own type.
    const int32_t type = elem_type(type_of(output.name()));
    if (is_wide_unsigned(type)) result = fmt::format("{}.to({})", result, dtype_code(*torch_dtype(type)));
    results.push_back(result);
  }
  std::ostringstream forward;
  forward << "def forward(self" << (parameters.empty() ? "" : ", ") << fmt::format("{}", fmt::join(parameters, ", "))
          << "):\n";
  for (const auto& line : lines_) forward << line << "\n";
  if (results.size() == 1) {
    forward << "    return " << results.front() << "\n";
  } else {
    forward << "    return (" << fmt::format("{}", fmt::join(results, ", ")) << (results.empty() ? "" : ",") << ")\n";
  }

  std::ostringstream source;
  for (const auto& name : helpers_) source << helper_source(name) << "\n";
  source << forward.str();
  source_ = source.str();
  try {
    root_.define(source_, mopt_resolver());  // mopt.regex_full_match
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("internal error: the imported module does not compile: {}\n--- generated source ---\n{}",
                                      short_torch_message(e.what()), source_));
  }
  return root_;
}

}  // namespace mopt::onnx_import

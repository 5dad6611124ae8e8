#pragma once
// What an aten-op translator sees while the exporter writes an ONNX graph from a frozen
// TorchScript graph: names of the values already translated, the constants LibTorch folded, and
// helpers to add nodes and initializers.
#include <onnx/onnx_pb.h>
#include <torch/csrc/jit/ir/ir.h>

#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/onnx/export/export_graph.h"

namespace mopt::onnx_export {

class ExportContext {
 public:
  ExportContext(onnx::GraphProto& graph, int64_t opset, std::unordered_map<const torch::jit::Value*, QuantParams> quantized = {},
                std::unordered_map<const torch::jit::Value*, std::vector<int64_t>> example_sizes = {})
      : root_(graph), graph_(&graph), opset_(opset), quantized_(std::move(quantized)), example_sizes_(std::move(example_sizes)) {}

  int64_t opset() const { return opset_; }

  /// The ONNX name of a tensor value (translated earlier, a graph input, or a tensor constant
  /// that becomes an initializer on first use). A quantized value (LibTorch INT8) is handed out
  /// dequantized (one DequantizeLinear per value), so float translators need not know.
  std::string name(const torch::jit::Value* value);

  /// The parameters of a quantized value, or nullptr for a float one.
  const QuantParams* quant_params(const torch::jit::Value* value) const;
  /// QuantizeLinear of a float ONNX value with `params`, and its inverse; return the new name.
  std::string quantize(const std::string& float_name, const QuantParams& params);
  std::string dequantize(const std::string& raw_name, const QuantParams& params);
  /// A quantized output a float translator wrote as float: quantize it with its parameters (the
  /// op's LibTorch INT8 form runs on the same parameters).
  void quantize_output(const torch::jit::Value* value);
  /// Binds a TorchScript value to an ONNX name (graph inputs, identity ops).
  void bind(const torch::jit::Value* value, const std::string& name) {
    names_[value] = name;
    taken_.insert(name);  // fresh() never hands out a bound name (a graph input named "shape")
  }
  /// Whether a translator bound `value` to an ONNX name (lists too: x.size() is a Shape).
  bool is_bound(const torch::jit::Value* value) const { return names_.count(value) > 0; }
  /// A fresh ONNX value name for `value` (its debug name when it has one).
  std::string fresh(const torch::jit::Value* value);
  /// A fresh name for an intermediate value.
  std::string fresh(const std::string& hint);

  /// Constant inputs, as LibTorch folded them (nullopt when the value is computed at run time).
  std::optional<c10::IValue> constant(const torch::jit::Value* value) const;
  std::optional<int64_t> constant_int(const torch::jit::Value* value) const;
  std::optional<double> constant_double(const torch::jit::Value* value) const;
  std::optional<std::vector<int64_t>> constant_ints(const torch::jit::Value* value) const;
  std::optional<std::string> constant_string(const torch::jit::Value* value) const;
  bool is_none(const torch::jit::Value* value) const;

  /// The sizes a top-level tensor value took on the examples (ExportableGraph::example_sizes).
  std::optional<std::vector<int64_t>> example_sizes(const torch::jit::Value* value) const {
    auto it = example_sizes_.find(value);
    return it == example_sizes_.end() ? std::nullopt : std::optional<std::vector<int64_t>>(it->second);
  }
  /// The dtype a tensor value took when the graph ran on the examples (export_graph.h); numbers
  /// computed at run time are 0-d int64 (ints) or float (floats, bools as bool) values.
  std::optional<at::ScalarType> dtype(const torch::jit::Value* value) const;
  /// `value` as an ONNX value of `type`: its name, cast when it has another dtype; a constant
  /// number becomes a 0-d initializer of `type`.
  std::string as_type(const torch::jit::Value* value, at::ScalarType type);
  /// A fresh Cast of `name` to `type`.
  std::string cast(const std::string& name, at::ScalarType type);

  /// Translates one node with its table entry; a float translator's quantized outputs are then
  /// quantized with their recorded parameters.
  void translate(const torch::jit::Node* node);
  /// Translates a block (a branch of an If) into `branch`: its nodes, then its results as the
  /// branch's outputs, typed like `like` (the If's own outputs).
  void translate_block(const torch::jit::Block* block, onnx::GraphProto& branch,
                       const std::vector<const torch::jit::Value*>& like);

  /// Appends a node; returns it for attributes.
  onnx::NodeProto& add_node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::vector<std::string>& outputs);
  /// Adds an initializer and returns its name.
  std::string add_initializer(const at::Tensor& value, const std::string& hint);
  /// An int64 1-D initializer (shapes, axes, pads).
  std::string add_ints(const std::vector<int64_t>& values, const std::string& hint);
  /// A Reduce* node over `axes` (empty: every dim), which it takes as an attribute or, from opset 18
  /// (ReduceSum from 13), as an input.
  onnx::NodeProto& add_reduce(const std::string& op, const std::string& input, const std::vector<int64_t>& axes,
                              int64_t keepdims, const std::string& output);
  /// A Split node along `axis`: by the sizes in `inputs[1]` when given, else into equal parts, one per
  /// output (opset 18 wants that count as num_outputs).
  onnx::NodeProto& add_split(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs, int64_t axis);

 private:
  onnx::GraphProto& root_;   ///< the model's graph: initializers always go here (branches see them)
  onnx::GraphProto* graph_;  ///< where nodes go: the root, or the branch being translated
  int64_t opset_;
  std::unordered_map<const torch::jit::Value*, std::string> names_;
  std::unordered_map<const torch::jit::Value*, QuantParams> quantized_;
  std::unordered_map<const torch::jit::Value*, std::string> dequantized_;  ///< name() of quantized values
  std::unordered_map<const torch::jit::Value*, std::vector<int64_t>> example_sizes_;
  std::unordered_map<std::string, int> used_;  ///< per hint: how many names were made from it
  std::unordered_set<std::string> taken_;      ///< every ONNX name handed out or bound
};

/// An int list as a 1-D int64 ONNX value: a constant; a list a translator bound to such a value
/// (x.size(), an imported model's run-time shape tensor); or a list built in the graph from constant
/// and run-time ints (each a 0-d int64 value, e.g. from aten::size), by Unsqueeze + Concat.
std::string int_list_value(ExportContext& c, const torch::jit::Node* node, const torch::jit::Value* list);

/// The dtype the example run recorded for node's (single) output; unsupported() without one.
at::ScalarType result_dtype(const ExportContext& c, const torch::jit::Node* node);

/// `name`'s equal blocks along dim 0 (one per entry of `order`) rearranged: block order[i] goes to
/// place i (Split + Concat). Gate blocks of recurrent weights.
std::string reorder_blocks(ExportContext& c, const std::string& name, const std::vector<int64_t>& order);

/// Max or Min (`op`) of two values computed in `type`, named for `out`. ONNX Runtime has no 8- and
/// 16-bit integer Max/Min kernels: those compute in int32 (exact) and cast back.
void add_extreme(ExportContext& c, const char* op, const torch::jit::Value* a, const torch::jit::Value* b, at::ScalarType type,
                 const torch::jit::Value* out);

/// Attribute helpers.
void set_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);
void set_int(onnx::NodeProto& node, const std::string& name, int64_t value);
void set_float(onnx::NodeProto& node, const std::string& name, float value);
void set_string(onnx::NodeProto& node, const std::string& name, const std::string& value);

/// Translates one aten node; throws invalid_input (unsupported argument) naming the node.
using TranslateFn = void (*)(ExportContext&, const torch::jit::Node*);

/// Whether a translator leaves input `index` of `node` unread (then whatever computed it need not
/// be exported). Null: every input is read.
using IgnoresInputFn = bool (*)(const torch::jit::Node*, size_t index);

/// One translator per aten op or family, in an explicit table.
struct TranslatorEntry {
  const char* kind;  ///< "aten::conv2d"
  TranslateFn translate;
  IgnoresInputFn ignores_input = nullptr;
  /// Binds quantized outputs itself (ops/quantized.cpp); otherwise the exporter quantizes the
  /// quantized outputs of a float translator.
  bool handles_quantized = false;
};

const std::vector<TranslatorEntry>& translator_table();
const TranslatorEntry* find_translator(const std::string& kind);

std::vector<TranslatorEntry> layer_translators();
std::vector<TranslatorEntry> elementwise_translators();
std::vector<TranslatorEntry> tensor_translators();
std::vector<TranslatorEntry> recurrent_translators();
std::vector<TranslatorEntry> reduction_translators();
std::vector<TranslatorEntry> quantized_translators();
std::vector<TranslatorEntry> helper_translators();
std::vector<TranslatorEntry> creation_translators();
std::vector<TranslatorEntry> indexing_translators();
std::vector<TranslatorEntry> attention_translators();

/// Nodes the exporter handles itself rather than through the translator table (constants become
/// initializers where used; lists and tuples are read by their consumers).
bool is_structural(const torch::jit::Node* node);

/// Refuses an argument the translator cannot express (exit 4), naming the node's source range.
[[noreturn]] void unsupported(const torch::jit::Node* node, const std::string& what);

}  // namespace mopt::onnx_export

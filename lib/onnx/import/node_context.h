#pragma once
// What an op converter sees of one ONNX node, and how it emits TorchScript for it.
//
// The importer writes the module's `forward` as TorchScript source, one or a few statements per
// node, and compiles it with LibTorch's own frontend: the result is an ordinary scripted module
// (type inference, freezing, quantization and the pass pipeline all apply), and the generated
// source is readable when something goes wrong (`mopt optimize model.onnx -o m.pt --verbose`).
// Values are named TorchScript locals; initializers and Constant outputs are known tensors that a
// converter may read at import time (attributes-as-inputs, weights) or reference at run time.
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

namespace mopt::onnx_import {

class GraphBuilder;

/// A trainable layer made from a weighted node (Conv, Gemm, BatchNormalization...): a submodule
/// of the imported module with real parameters, written the way torch.nn scripts them so that
/// quantization, pruning and BN folding recognise it.
struct LayerSpec {
  std::string type_name;    ///< torch.nn class it mimics, e.g. "torch.nn.modules.conv.Conv2d"
  std::string name_hint;    ///< usually the weight's ONNX name; sanitized into the attribute name
  struct Tensor {
    std::string name;        ///< attribute name inside the layer: "weight", "bias", "running_mean"
    at::Tensor value;        ///< undefined -> registered as None (e.g. no bias)
    std::string onnx_name;   ///< initializer it came from ("" when made by the converter)
    bool parameter = true;   ///< false for buffers (running stats)
  };
  std::vector<Tensor> tensors;
  std::vector<std::pair<std::string, double>> float_attributes;  ///< e.g. {"eps", 1e-5}
  std::string forward_source;  ///< TorchScript `def forward(self, ...)` of the layer
};

/// The node being converted. Errors thrown through fail() name the node and op.
class NodeContext {
 public:
  NodeContext(GraphBuilder& graph, const onnx::NodeProto& node, int64_t opset);

  const onnx::NodeProto& node() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  int64_t opset() const { return opset_; }

  // ---- inputs ----
  int input_count() const { return node_.input_size(); }
  /// True when input i is present (ONNX marks omitted optional inputs with an empty name).
  bool has_input(int i) const;
  /// A TorchScript expression for input i (a local, or a buffer `self.x` for a constant).
  std::string input(int i);
  /// The value of input i when it is an initializer or a Constant output; nullptr otherwise.
  const at::Tensor* constant(int i) const;
  /// Constant input i as int64 values (shape, axes, pads...); nullopt if not constant.
  std::optional<std::vector<int64_t>> constant_ints(int i) const;
  /// Input i as a TorchScript List[int] expression: a literal when constant, the shape list when
  /// it was computed as one, else a conversion of the tensor.
  std::string int_list_input(int i);
  /// Input i as a List[int] expression when it is an int constant or a shape value kept as ints.
  std::optional<std::string> ints_form(int i);
  /// Input i as an int expression when it is a 0-d int constant or a shape scalar kept as an int.
  std::optional<std::string> int_form(int i);
  /// ONNX element type of input i from shape inference (TensorProto::DataType), 0 when unknown.
  int32_t input_elem_type(int i) const;
  /// Rank of input i from shape inference, nullopt when unknown.
  std::optional<int64_t> input_rank(int i) const;
  /// Static dims of input i (-1 for a symbolic dim), nullopt when the rank is unknown.
  std::optional<std::vector<int64_t>> input_dims(int i) const;

  // ---- attributes ----
  const onnx::AttributeProto* attribute(const std::string& name) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  double attr_float(const std::string& name, double fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::optional<std::vector<int64_t>> attr_ints(const std::string& name) const;
  std::optional<std::vector<double>> attr_floats(const std::string& name) const;
  /// Rejects (as unsupported, naming the node) an attribute value the converter does not handle.
  void require(bool condition, const std::string& what) const;

  // ---- outputs and code ----
  int output_count() const { return node_.output_size(); }
  /// True when output i exists and something reads it.
  bool output_used(int i) const;
  /// The TorchScript local that holds output i.
  std::string output(int i);
  /// Emits `output(i) = expression`.
  void assign(int i, const std::string& expression);
  /// Defines output i (an int64 shape value) by a List[int] / int expression. Shape arithmetic
  /// then runs on TorchScript ints, not tiny tensors; a tensor is made only where one is read.
  void assign_ints(int i, const std::string& expression);
  void assign_int(int i, const std::string& expression);
  /// Emits a statement in forward (indentation added).
  void emit(const std::string& statement);
  /// Emits a subgraph (an If branch, a Loop body) as the block under the statement just emitted; see GraphBuilder.
  void convert_branch(const onnx::GraphProto& branch, const std::vector<std::string>& targets,
                      const std::vector<std::string>& inputs = {}, const std::vector<std::string>& epilogue = {});
  /// A fresh local for intermediate results.
  std::string temp();
  /// The only node reading output i (nullptr if none or several, or it is a graph output).
  const onnx::NodeProto* sole_reader(int i) const;
  /// Every node reading `value` (empty if a graph output reads it), for fusions that walk ahead.
  std::vector<const onnx::NodeProto*> readers_of(const std::string& value) const;
  /// Takes over a node downstream of this one: its (first) output is `expression`, and its own
  /// converter does not run. For fusions such as MatMul + Add(bias) -> Linear.
  void absorb(const onnx::NodeProto& reader, const std::string& expression);
  /// The constant tensor of any value (initializer or Constant output), or nullptr.
  const at::Tensor* constant_of(const std::string& value) const;
  /// Registers a layer submodule and returns the expression that calls it (`self.conv_3.forward`).
  std::string add_layer(LayerSpec spec);
  /// Registers a tensor as a buffer of the imported module and returns `self.name`.
  std::string add_constant(const at::Tensor& value, const std::string& name_hint);
  /// Registers an attribute of the imported module (a str or List[str]: any bytes, unlike a source
  /// literal) and returns `self.name`.
  std::string add_value(const c10::IValue& value, const std::string& name_hint);
  /// Makes a helper method (from helpers.cpp) available and returns `self._name`.
  std::string helper(const std::string& name);

  /// Throws invalid_input naming this node.
  [[noreturn]] void fail(const std::string& message) const;

 private:
  GraphBuilder& graph_;
  const onnx::NodeProto& node_;
  int64_t opset_;
};

/// `[1, 2, 3]` (TorchScript List[int] literal).
std::string int_list_literal(const std::vector<int64_t>& values);
/// A float literal TorchScript parses back to the same double (inf/nan spelt as float('inf')).
std::string float_literal(double value);
/// A dtype as TorchScript source: its ScalarType number (the C++ frontend has no `torch.float32`
/// names; `dtype=6` is what they compile to).
std::string dtype_code(at::ScalarType dtype);
/// The dtype the imported module computes an ONNX element type in: its torch dtype, except for
/// uint16/32/64, which LibTorch holds but barely computes on (no add, compare or where): int64.
/// That is exact for 16 and 32 bits (each node's results are wrapped back into range); uint64
/// keeps its bits, so values from 2^63 up compare, divide and convert as negative numbers.
std::optional<at::ScalarType> compute_dtype(int32_t onnx_type);
/// True for the unsigned types compute_dtype widens to int64.
bool is_wide_unsigned(int32_t onnx_type);
/// dtype_code of an ONNX element type's compute_dtype; fails for types LibTorch cannot hold.
std::string dtype_literal(const NodeContext& context, int32_t onnx_type);
/// Normalizes a possibly negative axis for the given rank.
int64_t normalize_axis(const NodeContext& context, int64_t axis, int64_t rank);

}  // namespace mopt::onnx_import

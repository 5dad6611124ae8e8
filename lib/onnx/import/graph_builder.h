#pragma once
// Walks an ONNX graph in topological order, runs each node's converter and assembles the
// TorchScript module: layer submodules, constant buffers, helper methods and `forward`.
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// Identifier allocation: sanitized, never a keyword or builtin, never reused.
class NameTable {
 public:
  NameTable();
  /// A fresh identifier close to `hint` ("features.0.weight" -> "features_0_weight").
  std::string unique(const std::string& hint);

 private:
  std::set<std::string> used_;
};

class GraphBuilder {
 public:
  /// `model` must already be validated (validate_graph) and shape-inferred.
  explicit GraphBuilder(const onnx::ModelProto& model);

  /// Converts every node and compiles the module.
  torch::jit::Module build();
  /// The generated source of `forward` and helpers (for --verbose and errors).
  const std::string& source() const { return source_; }
  /// TorchScript parameter path -> ONNX initializer name, for every layer tensor that had one.
  const std::map<std::string, std::string>& parameter_names() const { return parameter_names_; }
  /// Sanitized forward argument names, in ONNX input order.
  const std::vector<std::string>& argument_names() const { return argument_names_; }

  // ---- used by NodeContext ----
  std::string expression_of(const std::string& value);
  const at::Tensor* constant(const std::string& value) const;
  const onnx::TypeProto* type_of(const std::string& value) const;
  bool is_used(const std::string& value) const;
  /// Every node that reads `value` (once per read); empty when a graph output reads it too.
  std::vector<const onnx::NodeProto*> readers(const std::string& value) const;
  /// The only node that reads `value` (nullptr if none, several, or a graph output reads it).
  const onnx::NodeProto* sole_reader(const std::string& value) const;
  /// Marks `node` as computed by another node's converter: its output `value` is `expression`.
  void absorb(const onnx::NodeProto& node, const std::string& value, const std::string& expression);
  std::string local_for(const std::string& value);
  /// Shape values kept as TorchScript ints: List[int] (or int when `scalar`) for an int64 value.
  void define_ints(const std::string& value, const std::string& expression, bool scalar);
  std::optional<std::string> ints_of(const std::string& value) const;
  std::optional<std::string> int_of(const std::string& value) const;
  void emit(const std::string& statement) { lines_.push_back(indent_ + statement); }
  /// Emits `branch` (an If's then/else graph, a Loop's body) one block deeper: its input k reads
  /// the expression inputs[k], and the block ends with `targets[k] = output k`, then `epilogue`.
  /// Values it makes stay inside the block, as TorchScript scopes them.
  void convert_branch(const onnx::GraphProto& branch, const std::vector<std::string>& targets,
                      const std::vector<std::string>& inputs = {}, const std::vector<std::string>& epilogue = {});
  std::string temp() { return names_.unique("t"); }
  std::string add_layer(LayerSpec spec);
  std::string add_constant(const at::Tensor& value, const std::string& name_hint);
  std::string add_value(const c10::IValue& value, const std::string& name_hint);
  std::string helper(const std::string& name);

 private:
  /// Types, uses, readers and constants of `graph` and of its nodes' subgraphs, at any depth.
  void index_graph(const onnx::GraphProto& graph);
  /// Runs each node's converter, in topological order.
  void convert_nodes(const onnx::GraphProto& graph);
  /// uint16/uint32 outputs, computed in int64, wrapped back into their range (Add, Sub, Mul,
  /// BitwiseNot and Cast overflow it; in range it changes nothing).
  void wrap_unsigned_outputs(const onnx::NodeProto& node);

  const onnx::GraphProto& graph_;
  std::string indent_ = "    ";
  int64_t opset_;
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
  torch::jit::Module root_;
  NameTable names_;
  std::unordered_map<std::string, at::Tensor> constants_;
  std::unordered_map<std::string, std::string> expressions_;
  std::unordered_map<std::string, std::string> int_lists_, int_scalars_;
  std::unordered_map<std::string, const onnx::TypeProto*> types_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_map<std::string, std::vector<const onnx::NodeProto*>> readers_;
  std::set<std::string> graph_outputs_;
  std::set<const onnx::NodeProto*> absorbed_;
  std::vector<std::string> lines_;
  std::set<std::string> helpers_;
  std::vector<std::string> argument_names_;
  std::map<std::string, std::string> parameter_names_;
  std::string source_;
};

}  // namespace mopt::onnx_import

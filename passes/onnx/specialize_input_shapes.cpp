// specialize-input-shape on an ONNX graph (the pass itself, its options and the output check are
// in passes/graph/specialize_input_shape.cpp; this is the ONNX rewrite).
//
// Before:                                      After:
//   x: float[N,16,64]                            x: float[1,16,64]
//   s = Shape(x); n = Gather(s, 0)               Reshape(h, r') where r' = [1,-1,64] is an
//   r = Concat(Unsqueeze(n), [-1,64])            initializer; output dims fixed where inferred
//   Reshape(h, r)
//
// Preconditions: one spec per graph input (those that are not initializers), matched by position,
// with the same rank and agreeing with every dim the graph already fixes; a spec's name, when
// given, is that input's name. The element type stays the graph's.
// How: the dims are set; ONNX's own shape inference then types what follows, every Shape/Size
// node whose input shape it fully knows becomes an initializer, and fold-constants (the one
// implementation of constant evaluation) folds the arithmetic that depended on them, round after
// round while new queries become answerable (a folded Reshape target types what follows). Graph
// outputs get the dims inference found. A graph inference rejects keeps its Shape nodes.
// The result declares fixed input dims, which ONNX Runtime enforces on every call.
#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/onnx/fed_inputs.h"
#include "lib/onnx/graph_utils.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

constexpr int kMaxRounds = 16;  // each round needs a newly folded query; real graphs settle in 2-4

std::string declared_dims(const onnx::TypeProto::Tensor& type) {
  std::vector<std::string> dims;
  for (const auto& dim : type.shape().dim()) {
    dims.push_back(dim.has_dim_value() ? std::to_string(dim.dim_value()) : dim.dim_param().empty() ? "?" : dim.dim_param());
  }
  return fmt::format("[{}]", fmt::join(dims, ","));
}

// The shape of a value when inference knows every dim of it.
std::optional<std::vector<int64_t>> known_shape(const std::map<std::string, onnx::TypeProto::Tensor>& types,
                                                const std::string& name) {
  auto it = types.find(name);
  if (it == types.end() || !it->second.has_shape()) return std::nullopt;
  std::vector<int64_t> shape;
  for (const auto& dim : it->second.shape().dim()) {
    if (!dim.has_dim_value()) return std::nullopt;
    shape.push_back(dim.dim_value());
  }
  return shape;
}

// Shape's opset-15 start/end: negative counts from the back, both clamped to [0, rank].
std::vector<int64_t> shape_slice(const onnx::NodeProto& node, const std::vector<int64_t>& shape) {
  const auto rank = static_cast<int64_t>(shape.size());
  int64_t start = 0, end = rank;
  for (const auto& attr : node.attribute()) {
    if (attr.name() == "start") start = attr.i();
    if (attr.name() == "end") end = attr.i();
  }
  auto clamp = [&](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t{0}, rank); };
  start = clamp(start);
  end = clamp(end);
  return start < end ? std::vector<int64_t>(shape.begin() + start, shape.begin() + end) : std::vector<int64_t>{};
}

// Shape and Size nodes whose input shape is known become initializers; returns how many.
int fold_shape_queries(onnx::ModelProto& model) {
  auto& graph = *model.mutable_graph();
  const auto types = inferred_tensor_types(model);
  std::set<int> doomed;
  std::vector<onnx::TensorProto> created;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    const bool shape_op = is_onnx_op(node, "Shape");
    if ((!shape_op && !is_onnx_op(node, "Size")) || node.input_size() != 1 || node.output_size() != 1) continue;
    const auto shape = known_shape(types, node.input(0));
    if (!shape) continue;
    at::Tensor value;
    if (shape_op) {
      const auto dims = shape_slice(node, *shape);
      value = torch::tensor(dims, torch::kLong);
    } else {
      int64_t numel = 1;
      for (auto d : *shape) numel *= d;
      value = torch::tensor(numel, torch::kLong);
    }
    created.push_back(torch_to_tensor(value, node.output(0)));
    doomed.insert(n);
  }
  remove_nodes(graph, doomed);
  for (auto& tensor : created) add_initializer(model, std::move(tensor));
  return static_cast<int>(created.size());
}

// Gives graph outputs the dims inference now knows, where they were symbolic or unknown.
int fix_output_dims(onnx::ModelProto& model) {
  const auto types = inferred_tensor_types(model);
  int fixed = 0;
  for (auto& output : *model.mutable_graph()->mutable_output()) {
    const auto shape = known_shape(types, output.name());
    if (!shape || !output.type().has_tensor_type()) continue;
    auto* declared = output.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (declared->dim_size() != 0 && declared->dim_size() != static_cast<int>(shape->size())) continue;
    if (declared->dim_size() == 0) {
      for (size_t i = 0; i < shape->size(); ++i) declared->add_dim();
    }
    for (int i = 0; i < declared->dim_size(); ++i) {
      auto* dim = declared->mutable_dim(i);
      if (dim->has_dim_value()) continue;
      dim->set_dim_value((*shape)[i]);
      ++fixed;
    }
  }
  return fixed;
}

}  // namespace

std::vector<InputSpec> onnx_input_specs(const onnx::ModelProto& model, const std::vector<InputSpec>& specs) {
  const auto inputs = fed_inputs(model.graph());
  if (specs.size() != inputs.size()) {  // every ONNX graph input is required: none has a default
    std::vector<std::string> names;
    for (int i : inputs) names.push_back(model.graph().input(i).name());
    throw usage_error(fmt::format("specialize-input-shape: {} input spec(s) given but the graph takes {} input(s) ({}); "
                                  "give one per input, ';' between them",
                                  specs.size(), inputs.size(), fmt::join(names, ", ")));
  }
  std::vector<InputSpec> resolved;
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& input = model.graph().input(inputs[i]);
    auto spec = specs[i];
    if (!spec.name.empty() && spec.name != input.name()) {
      throw usage_error(fmt::format("specialize-input-shape: spec {} names input '{}', but graph input {} is '{}' (specs "
                                    "follow the graph's input order)",
                                    i + 1, spec.name, i + 1, input.name()));
    }
    spec.name = input.name();
    const auto& type = input.type().tensor_type();
    const auto dtype = torch_dtype(type.elem_type());
    if (!input.type().has_tensor_type() || !dtype) {
      throw usage_error(fmt::format("specialize-input-shape: graph input '{}' is not a tensor LibTorch can hold", input.name()));
    }
    spec.dtype = *dtype;
    if (type.has_shape()) {
      if (type.shape().dim_size() != static_cast<int>(spec.shape.size())) {
        throw usage_error(fmt::format("specialize-input-shape: graph input '{}' is {} (rank {}), the spec gives rank {}",
                                      input.name(), declared_dims(type), type.shape().dim_size(), spec.shape.size()));
      }
      for (int d = 0; d < type.shape().dim_size(); ++d) {
        const auto& dim = type.shape().dim(d);
        if (dim.has_dim_value() && dim.dim_value() != spec.shape[d]) {
          throw usage_error(fmt::format("specialize-input-shape: graph input '{}' is {}: dim {} is fixed at {}, the spec "
                                        "gives {}",
                                        input.name(), declared_dims(type), d, dim.dim_value(), spec.shape[d]));
        }
      }
    }
    resolved.push_back(spec);
  }
  return resolved;
}

PassStats specialize_onnx_input_shapes(Model& model, const std::vector<InputSpec>& specs) {
  auto& proto = model.onnx();
  auto& graph = *proto.mutable_graph();
  PassStats stats;
  stats.details["nodes_before"] = graph.node_size();
  const auto inputs = fed_inputs(graph);
  int dims_fixed = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto* shape = graph.mutable_input(inputs[i])->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() == 0) {
      for (size_t d = 0; d < specs[i].shape.size(); ++d) shape->add_dim();
    }
    for (int d = 0; d < shape->dim_size(); ++d) {
      auto* dim = shape->mutable_dim(d);
      if (dim->has_dim_value()) continue;
      dim->set_dim_value(specs[i].shape[d]);  // also clears dim_param (one field of a oneof)
      ++dims_fixed;
    }
  }
  // Folding a Reshape's target shape lets inference type what follows it, which can expose more
  // Shape queries: repeat while a round finds some.
  auto fold = make_onnx_fold_constants_pass();
  int queries = 0, rounds = 0;
  int64_t nodes_folded = 0, fold_rewrites = 0;
  for (int found = 1; found > 0 && rounds < kMaxRounds; ++rounds) {
    found = fold_shape_queries(proto);
    queries += found;
    const auto folded = fold->run(model, PassOptions(fold->info(), {}), PassContext{});
    nodes_folded += folded.details["nodes_folded"].get<int64_t>();
    fold_rewrites += folded.rewrites;
  }
  const int outputs_fixed = fix_output_dims(proto);
  prune_value_info(graph);

  stats.rewrites = dims_fixed + queries + fold_rewrites + outputs_fixed;
  stats.details["input_dims_fixed"] = dims_fixed;
  stats.details["shape_queries_folded"] = queries;
  stats.details["nodes_folded"] = nodes_folded;
  stats.details["rounds"] = rounds;
  stats.details["output_dims_fixed"] = outputs_fixed;
  stats.details["nodes_after"] = graph.node_size();
  return stats;
}

}  // namespace mopt

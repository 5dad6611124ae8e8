// Channel-flow analysis: which conv/linear outputs, batch norms and consumer weights must lose the
// same channels together.
//
// Every value of the inlined forward graph (analysis_graph.h) may carry a "flow": the channel set of
// a group, with the dim the channels live in. A groups == 1 conv or a linear starts a new group
// (its output channels); everything the channels pass through or into is recorded on the group:
//
//   conv/linear --> [batch_norm, relu, pool, dropout, x * scalar, ...] --> conv (input dim 1)
//        |                          |                                      linear (input features)
//        +--- add/mul with another flow: the two groups are tied (union-find), e.g. residuals
//        +--- depthwise conv: carries the same channels (pruned with the same indices)
//        +--- flatten(start_dim = channel dim): a following linear sees each channel as a block
//
// Anything not understood (unknown ops, aten::cat, control flow, the model output, grouped convs)
// marks the group as unprunable with a reason, but the flow still goes on so the group's other
// uses are recorded too. Uses that only read metadata (aten::size, aten::dim) are harmless.
#include "lib/prune/channel_dependencies.h"

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "lib/model/graph_walk.h"
#include "lib/prune/analysis_graph.h"
#include "lib/prune/depthwise_groups.h"
#include "lib/prune/module_paths.h"

namespace mopt::prune {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

namespace {

/// The channel set a value carries.
struct Flow {
  int group = -1;
  int64_t dim = -1;        ///< channel dim from the front; -1 = last dim of a tensor of unknown rank
  int64_t rank = -1;       ///< -1 = unknown
  bool flattened = false;  ///< the channel dim holds C blocks of features (after flatten)
};

bool is_last_dim(const Flow& flow) { return flow.dim == -1 || (flow.rank >= 0 && flow.dim == flow.rank - 1); }

// The channel dim counted from the front when it can be known.
int64_t front_dim(const Flow& flow) { return flow.dim == -1 && flow.rank >= 0 ? flow.rank - 1 : flow.dim; }

bool same_layout(const Flow& a, const Flow& b) {
  const bool ranks_agree = a.rank < 0 || b.rank < 0 || a.rank == b.rank;
  return ranks_agree && a.flattened == b.flattened &&
         (front_dim(a) == front_dim(b) || (is_last_dim(a) && is_last_dim(b)));
}

class UnionFind {
 public:
  int make() {
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int find(int x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  // The lower id (the earlier group in graph order) stays the root.
  void unite(int a, int b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<int> parent_;
};

const std::set<std::string>& pass_through_kinds() {
  // Ops whose first input's channels come out unchanged (elementwise maps, dropout, copies).
  static const std::set<std::string> kinds = {"aten::relu",
                                              "aten::relu_",
                                              "aten::relu6",
                                              "aten::relu6_",
                                              "aten::hardtanh",
                                              "aten::hardtanh_",
                                              "aten::sigmoid",
                                              "aten::sigmoid_",
                                              "aten::tanh",
                                              "aten::tanh_",
                                              "aten::silu",
                                              "aten::silu_",
                                              "aten::hardswish",
                                              "aten::hardswish_",
                                              "aten::hardsigmoid",
                                              "aten::hardsigmoid_",
                                              "aten::gelu",
                                              "aten::leaky_relu",
                                              "aten::leaky_relu_",
                                              "aten::elu",
                                              "aten::elu_",
                                              "aten::mish",
                                              "aten::softplus",
                                              "aten::clamp",
                                              "aten::clamp_",
                                              "aten::dropout",
                                              "aten::dropout_",
                                              "aten::feature_dropout",
                                              "aten::feature_dropout_",
                                              "aten::alpha_dropout",
                                              "aten::alpha_dropout_",
                                              "aten::clone",
                                              "aten::contiguous",
                                              "aten::detach",
                                              "aten::abs",
                                              "aten::neg",
                                              "aten::exp",
                                              "aten::square"};
  return kinds;
}

const std::set<std::string>& pooling_kinds() {
  // Ops over the spatial dims that keep the channel dim 1 as it is.
  static const std::set<std::string> kinds = {"aten::max_pool1d",
                                              "aten::max_pool2d",
                                              "aten::max_pool3d",
                                              "aten::max_pool1d_with_indices",
                                              "aten::max_pool2d_with_indices",
                                              "aten::max_pool3d_with_indices",
                                              "aten::avg_pool1d",
                                              "aten::avg_pool2d",
                                              "aten::avg_pool3d",
                                              "aten::adaptive_avg_pool1d",
                                              "aten::adaptive_avg_pool2d",
                                              "aten::adaptive_avg_pool3d",
                                              "aten::adaptive_max_pool1d",
                                              "aten::adaptive_max_pool2d",
                                              "aten::adaptive_max_pool3d",
                                              "aten::upsample_nearest2d",
                                              "aten::upsample_bilinear2d"};
  return kinds;
}

const std::set<std::string>& binary_kinds() {
  static const std::set<std::string> kinds = {"aten::add", "aten::add_", "aten::sub", "aten::sub_",
                                              "aten::mul", "aten::mul_", "aten::div", "aten::div_"};
  return kinds;
}

const std::set<std::string>& metadata_kinds() {
  // Reading sizes or types does not move channel data anywhere.
  static const std::set<std::string> kinds = {"aten::size",          "aten::dim",    "aten::len",
                                              "prim::shape",         "aten::numel",  "prim::device",
                                              "prim::dtype",         "prim::layout", "aten::is_floating_point",
                                              "prim::requires_grad", "aten::__is__", "aten::__isnot__",
                                              "prim::is_cuda"};
  return kinds;
}

class FlowAnalysis {
 public:
  FlowAnalysis(const torch::jit::Module& module, const AnalysisGraph& graph, int64_t input_rank)
      : module_(module), graph_(graph) {
    const auto inputs = graph.graph->inputs();
    if (inputs.size() > 1) known_ranks_[inputs[1]] = input_rank;
  }

  std::vector<ChannelDependencies> run() {
    find_foreign_uses();
    visit_block(graph_.graph->block(), /*top=*/true);
    return merged();
  }

 private:
  // --- bookkeeping -------------------------------------------------------------------------

  int new_group() {
    facts_.emplace_back();
    return sets_.make();
  }

  void poison(int group, const std::string& reason) { facts_[group].reasons.push_back(reason); }

  const Flow* flow_of(const Value* value) const {
    const auto found = flows_.find(value);
    return found == flows_.end() ? nullptr : &found->second;
  }

  int64_t rank_of(const Value* value) const {
    if (const auto* flow = flow_of(value)) return flow->rank;
    if (const auto found = known_ranks_.find(value); found != known_ranks_.end()) return found->second;
    if (const auto type = value->type()->cast<c10::TensorType>()) {
      if (const auto dim = type->dim()) return static_cast<int64_t>(*dim);
    }
    return -1;
  }

  // The group of a module's outputs; a module called twice produces the same channels twice.
  int producer_group(const std::string& layer) {
    auto found = producer_group_.find(layer);
    if (found != producer_group_.end()) return found->second;
    const int group = new_group();
    producer_group_[layer] = group;
    facts_[group].producers.push_back(layer);
    return group;
  }

  // A module whose tensors follow a group (BN, depthwise conv). Called again on another group,
  // the two groups must share indices: they are tied.
  void follow(std::map<std::string, int>& followers, std::vector<std::string> ChannelDependencies::*list,
              const std::string& layer, int group) {
    auto found = followers.find(layer);
    if (found != followers.end()) {
      sets_.unite(found->second, group);
      return;
    }
    followers[layer] = group;
    (facts_[group].*list).push_back(layer);
  }

  void consume(const std::string& layer, const Flow& flow) {
    auto found = consumer_group_.find(layer);
    if (found != consumer_group_.end()) {
      sets_.unite(found->second, flow.group);
      if (consumer_flattened_[layer] != flow.flattened) {
        poison(flow.group, fmt::format("read by {} both flattened and not", layer));
      }
      return;
    }
    consumer_group_[layer] = flow.group;
    consumer_flattened_[layer] = flow.flattened;
    facts_[flow.group].consumers.push_back({layer, flow.flattened});
  }

  void poison_inputs(Node* node, const std::string& reason) {
    for (const Value* input : node->inputs()) {
      if (const auto* flow = flow_of(input)) poison(flow->group, reason);
    }
  }

  torch::Tensor module_tensor(const TensorSource& source) const {
    return tensor_attr(submodule_at(module_, source.module), source.attribute);
  }

  // The Conv/Linear module whose own weight (and bias, if any) the node reads, or nullptr. Other
  // weights (nn.MultiheadAttention's in_proj_weight, a custom module's tensor) are not sliced.
  const TensorSource* layer_of(const Node* node) const {
    const auto* weight = graph_.source_of(node->input(1));
    if (!weight || weight->attribute != "weight" || !is_prunable_layer(submodule_at(module_, weight->module))) {
      return nullptr;
    }
    const Value* bias = node->input(2);
    const auto* bias_source = graph_.source_of(bias);
    const bool no_bias = bias->type()->kind() == c10::TypeKind::NoneType ||
                         (bias_source && bias_source->module == weight->module && bias_source->attribute == "bias");
    return no_bias ? weight : nullptr;
  }

  // A layer op we do not follow still reads its module's tensors: that module must stay whole.
  void untracked_layer_op(const Node* node) {
    for (const Value* input : node->inputs()) {
      if (const auto* source = graph_.source_of(input)) {
        foreign_uses_[source->module].insert(fmt::format("{}.{} is also read by an untracked {}", source->module,
                                                         source->attribute, node->kind().toQualString()));
      }
    }
  }

  // Tensors that slicing will change must not be read by anything but the layer ops that own them
  // (e.g. a weight tied to another layer, or read by a regularizer inside forward).
  void find_foreign_uses() {
    for (const auto& [value, source] : graph_.tensors) {
      for (const auto& use : value->uses()) {
        const std::string kind = use.user->kind().toQualString();
        const bool layer_op = kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" ||
                              kind == "aten::_convolution" || kind == "aten::linear" || kind == "aten::batch_norm";
        if ((layer_op && use.offset >= 1) || metadata_kinds().count(kind)) continue;
        foreign_uses_[source.module].insert(
            fmt::format("{}.{} is also read by {}", source.module, source.attribute, kind));
      }
    }
  }

  // --- traversal ---------------------------------------------------------------------------

  void visit_block(Block* block, bool top) {
    for (Node* node : block->nodes()) visit(node);
    const char* reason = top ? "reaches the model output (its size must not change)"
                             : "flows out of a control-flow block (prim::If/prim::Loop)";
    poison_inputs(block->return_node(), reason);
  }

  void visit(Node* node) {
    const std::string kind = node->kind().toQualString();
    if (!node->blocks().empty()) {
      poison_inputs(node, fmt::format("passes through control flow ({})", kind));
      for (Block* block : node->blocks()) visit_block(block, /*top=*/false);
      return;
    }
    if (kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" || kind == "aten::_convolution") {
      visit_conv(node, kind);
    } else if (kind == "aten::linear") {
      visit_linear(node);
    } else if (kind == "aten::batch_norm") {
      visit_batch_norm(node);
    } else if (pass_through_kinds().count(kind) || pooling_kinds().count(kind)) {
      visit_pass_through(node, kind, /*needs_dim_1=*/pooling_kinds().count(kind) > 0);
    } else if (binary_kinds().count(kind)) {
      visit_binary(node, kind);
    } else if (kind == "aten::flatten") {
      visit_flatten(node);
    } else if (metadata_kinds().count(kind) || kind == "prim::GetAttr" || kind == "prim::Constant") {
      // no channel data moves
    } else {
      poison_inputs(node, unknown_use_reason(node, kind));
    }
  }

  std::string unknown_use_reason(Node* node, const std::string& kind) const {
    if (node->outputs().size() == 1 && (kind == "prim::ListConstruct" || kind == "prim::TupleConstruct")) {
      for (const auto& use : node->output()->uses()) {
        const std::string user = use.user->kind().toQualString();
        if (user == "aten::cat" || user == "aten::stack" || user == "aten::concat") {
          return fmt::format("concatenated by {} (not supported yet)", user);
        }
        if (use.user == graph_.graph->return_node()) return "reaches the model output (its size must not change)";
      }
    }
    return fmt::format("consumed by {} (not understood by channel pruning)", kind);
  }

  // --- op rules ----------------------------------------------------------------------------

  void visit_conv(Node* node, const std::string& kind) {
    const bool generic = kind == "aten::_convolution";
    if (generic) {
      const auto transposed = torch::jit::constant_as<bool>(node->input(6));
      if (!transposed || *transposed) {
        poison_inputs(node, "consumed by a transposed convolution (not supported)");
        return;
      }
    }
    const Flow* in = flow_of(node->input(0));
    const auto* source = layer_of(node);
    if (!source) {
      poison_inputs(node, "consumed by a convolution whose weight is not a Conv module's weight");
      untracked_layer_op(node);
      return;
    }
    const std::string& layer = source->module;
    const auto weight = module_tensor(*source);
    const auto groups = torch::jit::constant_as<int64_t>(node->input(generic ? 8 : 6));
    Flow out{-1, 1, weight.dim(), false};

    auto input_ok = [&](const Flow& flow) {
      return !flow.flattened && front_dim(flow) == 1 && (flow.rank < 0 || flow.rank == weight.dim());
    };
    if (groups && *groups == 1) {
      if (!in) reads_fixed_channels_.insert(layer);
      if (in) {
        if (input_ok(*in)) {
          consume(layer, *in);
        } else {
          poison(in->group, fmt::format("read by {} along a dim other than 1 (unbatched input?)", layer));
        }
      }
      out.group = producer_group(layer);
    } else if (groups && weight.size(1) == 1 && weight.size(0) == *groups) {
      // Depthwise: channel c in -> channel c out, so it carries its input's channels through.
      if (in && input_ok(*in)) {
        out.group = in->group;
      } else {
        if (in) poison(in->group, fmt::format("read by depthwise conv {} along a dim other than 1", layer));
        out.group = new_group();
        poison(out.group, fmt::format("carried by depthwise conv {} from an input that cannot be pruned", layer));
      }
      follow(depthwise_group_, &ChannelDependencies::depthwise, layer, out.group);
      if (!depthwise_groups_editable(submodule_at(module_, layer))) {
        poison(out.group, fmt::format("cannot rewrite the groups of depthwise conv {}", layer));
      }
    } else {
      const std::string groups_text = groups ? std::to_string(*groups) : std::string("not constant");
      if (in) poison(in->group, fmt::format("consumed by grouped conv {} (groups={})", layer, groups_text));
      out.group = producer_group(layer);
      poison(out.group, fmt::format("produced by grouped conv {} (groups={})", layer, groups_text));
    }
    flows_[node->output()] = out;
  }

  void visit_linear(Node* node) {
    const Flow* in = flow_of(node->input(0));
    const auto* source = layer_of(node);
    if (!source) {
      poison_inputs(node, "consumed by a linear whose weight is not a Linear module's weight");
      untracked_layer_op(node);
      return;
    }
    const std::string& layer = source->module;
    if (!in) reads_fixed_channels_.insert(layer);
    if (in) {
      if (is_last_dim(*in)) {
        consume(layer, *in);
      } else {
        poison(in->group, fmt::format("read by {} along a dim other than the last", layer));
      }
    }
    const int64_t rank = rank_of(node->input(0));
    flows_[node->output()] = Flow{producer_group(layer), rank >= 0 ? rank - 1 : -1, rank, false};
  }

  void visit_batch_norm(Node* node) {
    const Flow* in = flow_of(node->input(0));
    if (!in) {
      if (const auto* source = graph_.source_of(node->input(3))) reads_fixed_channels_.insert(source->module);
      return;
    }
    const Flow flow = *in;
    flows_[node->output()] = flow;
    // weight, bias, running_mean, running_var: all from one module, or None (affine=False, no stats).
    const TensorSource* source = nullptr;
    bool one_module = true;
    static const char* const kNames[] = {"weight", "bias", "running_mean", "running_var"};
    for (size_t i = 1; i <= 4; ++i) {
      const Value* input = node->input(i);
      if (input->type()->kind() == c10::TypeKind::NoneType) continue;
      const auto* from = graph_.source_of(input);
      one_module =
          one_module && from && from->attribute == kNames[i - 1] && (!source || source->module == from->module);
      if (from && !source) source = from;
    }
    if (!source || !one_module) {
      poison(flow.group, "batch_norm whose tensors are not one BatchNorm module's own");
      untracked_layer_op(node);
    } else if (flow.flattened || front_dim(flow) != 1) {
      poison(flow.group, fmt::format("normalized by {} along a dim other than 1", source->module));
    } else {
      follow(batch_norm_group_, &ChannelDependencies::batch_norms, source->module, flow.group);
    }
  }

  void visit_pass_through(Node* node, const std::string& kind, bool needs_dim_1) {
    const Flow* in = flow_of(node->input(0));
    for (size_t i = 1; i < node->inputs().size(); ++i) {
      if (const auto* other = flow_of(node->input(i)))
        poison(other->group, fmt::format("passed as a secondary argument of {}", kind));
    }
    if (!in) return;
    const Flow flow = *in;
    if (needs_dim_1 && (flow.flattened || front_dim(flow) != 1)) {
      poison(flow.group, fmt::format("{} over a tensor whose channels are not dim 1", kind));
    }
    for (Value* output : node->outputs()) {
      if (is_tensor(output)) flows_[output] = flow;
    }
  }

  void visit_binary(Node* node, const std::string& kind) {
    const Flow* a = flow_of(node->input(0));
    const Flow* b = flow_of(node->input(1));
    if (!a && !b) return;
    Flow out = a ? *a : *b;
    if (a && b) {
      if (same_layout(*a, *b)) {
        sets_.unite(a->group, b->group);
      } else {
        poison(a->group, fmt::format("combined by {} with channels in another layout", kind));
        poison(b->group, fmt::format("combined by {} with channels in another layout", kind));
      }
    } else {
      const Value* other = a ? node->input(1) : node->input(0);
      // A tensor of unknown shape could broadcast along the channels (e.g. a [C,1,1] parameter).
      if (is_tensor(other))
        poison(out.group, fmt::format("combined by {} with a tensor whose channels are not tracked", kind));
    }
    flows_[node->output()] = out;
  }

  void visit_flatten(Node* node) {
    const Flow* in = flow_of(node->input(0));
    if (!in) return;
    Flow flow = *in;
    const auto start = torch::jit::constant_as<int64_t>(node->input(1));
    const auto end = torch::jit::constant_as<int64_t>(node->input(2));
    const int64_t dim = front_dim(flow);
    if (!start || !end || flow.rank < 0 || dim < 0) {
      poison(flow.group, "flattened in a way whose layout cannot be followed");
      return;
    }
    const int64_t first = *start < 0 ? *start + flow.rank : *start;
    const int64_t last = *end < 0 ? *end + flow.rank : *end;
    const int64_t merged = last - first;
    if (merged <= 0) {
      flows_[node->output()] = flow;
    } else if (dim < first) {
      flow.rank -= merged;
      flows_[node->output()] = flow;
    } else if (dim > last) {
      flow.dim = dim - merged;
      flow.rank -= merged;
      flows_[node->output()] = flow;
    } else if (dim == first && !flow.flattened) {
      // Channel outermost in the merged dims: channel c becomes features [c*B, (c+1)*B).
      flow.dim = dim;
      flow.rank -= merged;
      flow.flattened = true;
      flows_[node->output()] = flow;
    } else {
      poison(flow.group, "flattened with the channels not outermost");
      flow.dim = -1;
      flow.rank = -1;
      flows_[node->output()] = flow;
    }
  }

  // --- result ------------------------------------------------------------------------------

  std::vector<ChannelDependencies> merged() {
    std::vector<ChannelDependencies> result;
    std::map<int, size_t> index_of_root;
    for (int group = 0; group < static_cast<int>(facts_.size()); ++group) {
      const int root = sets_.find(group);
      if (!index_of_root.count(root)) {
        index_of_root[root] = result.size();
        result.emplace_back();
      }
      auto& into = result[index_of_root[root]];
      auto& from = facts_[group];
      auto append = [](auto& to, const auto& items) { to.insert(to.end(), items.begin(), items.end()); };
      append(into.producers, from.producers);
      append(into.depthwise, from.depthwise);
      append(into.batch_norms, from.batch_norms);
      append(into.consumers, from.consumers);
      auto add_reason = [&](const std::string& reason) {
        if (std::find(into.reasons.begin(), into.reasons.end(), reason) == into.reasons.end())
          into.reasons.push_back(reason);
      };
      for (const auto& reason : from.reasons) add_reason(reason);
      std::vector<std::string> members = from.producers;
      append(members, from.depthwise);
      append(members, from.batch_norms);
      for (const auto& consumer : from.consumers) members.push_back(consumer.layer);
      for (const auto& member : members) {
        if (const auto found = foreign_uses_.find(member); found != foreign_uses_.end()) {
          for (const auto& reason : found->second) add_reason(reason);
        }
      }
      // A layer called on these channels and, elsewhere, on channels that cannot change.
      std::vector<std::string> input_side = from.batch_norms;
      for (const auto& consumer : from.consumers) input_side.push_back(consumer.layer);
      for (const auto& layer : input_side) {
        if (reads_fixed_channels_.count(layer))
          add_reason(fmt::format("{} is also called on channels that cannot be pruned", layer));
      }
    }
    return result;
  }

  const torch::jit::Module& module_;
  const AnalysisGraph& graph_;
  std::unordered_map<const Value*, Flow> flows_;
  std::unordered_map<const Value*, int64_t> known_ranks_;
  UnionFind sets_;
  std::vector<ChannelDependencies> facts_;  // per group id, before merging tied groups
  std::map<std::string, int> producer_group_;
  std::map<std::string, int> depthwise_group_;
  std::map<std::string, int> batch_norm_group_;
  std::map<std::string, int> consumer_group_;
  std::map<std::string, bool> consumer_flattened_;
  std::map<std::string, std::set<std::string>> foreign_uses_;  // module -> why its tensors cannot change
  std::set<std::string> reads_fixed_channels_;                 // layers called at least once on untracked input
};

}  // namespace

std::vector<ChannelDependencies> analyze_channel_dependencies(const torch::jit::Module& module, int64_t input_rank) {
  const auto graph = make_analysis_graph(module);
  return FlowAnalysis(module, graph, input_rank).run();
}

}  // namespace mopt::prune

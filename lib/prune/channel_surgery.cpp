#include "lib/prune/channel_surgery.h"

#include <map>
#include <set>

#include "lib/prune/depthwise_groups.h"
#include "lib/prune/module_paths.h"

namespace mopt::prune {

namespace {

struct Slice {
  std::string layer;
  std::string attribute;
  int64_t dim = 0;
  torch::Tensor index;
};

// Channel c of a flattened [C, B] block layout owns features [c*B, (c+1)*B).
torch::Tensor block_indices(const torch::Tensor& keep, int64_t block) {
  if (block == 1) return keep;
  return (keep.unsqueeze(1) * block + torch::arange(block, torch::kLong).unsqueeze(0)).reshape({-1});
}

std::vector<int64_t> main_shape(const torch::jit::Module& module) {
  auto tensor = tensor_attr(module, "weight");
  if (!tensor.defined()) tensor = tensor_attr(module, "running_mean");
  return tensor.defined() ? tensor.sizes().vec() : std::vector<int64_t>{};
}

void set_int_attribute(torch::jit::Module& module, const std::string& name, int64_t value) {
  // Scripted nn modules usually keep these as class constants (shared, read-only); only plain
  // attributes can be updated.
  if (module.type()->hasAttribute(name) && module.attr(name).isInt()) module.setattr(name, value);
}

void update_size_attributes(torch::jit::Module& module) {
  const std::string name = type_name(module);
  const auto weight = tensor_attr(module, "weight");
  if (name.find("BatchNorm") != std::string::npos) {
    const auto stats = tensor_attr(module, "running_mean");
    const auto& sized = stats.defined() ? stats : weight;
    if (sized.defined()) set_int_attribute(module, "num_features", sized.size(0));
  } else if (!weight.defined() || weight.dim() < 2) {
    return;
  } else if (name.find("Linear") != std::string::npos) {
    set_int_attribute(module, "out_features", weight.size(0));
    set_int_attribute(module, "in_features", weight.size(1));
  } else if (name.find("Conv") != std::string::npos && !is_transposed_conv(module)) {
    int64_t groups = 1;
    if (module.hasattr("groups") && module.attr("groups").isInt()) groups = module.attr("groups").toInt();
    const bool depthwise = groups > 1 && weight.size(1) == 1;
    if (depthwise) {
      set_int_attribute(module, "groups", weight.size(0));
      groups = weight.size(0);
    }
    set_int_attribute(module, "out_channels", weight.size(0));
    set_int_attribute(module, "in_channels", weight.size(1) * groups);
  }
}

std::vector<Slice> plan_slices(const torch::jit::Module& module, const ChannelCut& cut) {
  const auto& deps = *cut.dependencies;
  std::vector<Slice> slices;
  auto out_side = [&](const std::string& layer, std::initializer_list<const char*> attributes) {
    for (const char* attribute : attributes) slices.push_back({layer, attribute, 0, cut.keep});
  };
  for (const auto& layer : deps.producers) out_side(layer, {"weight", "bias"});
  for (const auto& layer : deps.depthwise) out_side(layer, {"weight", "bias"});
  for (const auto& layer : deps.batch_norms) out_side(layer, {"weight", "bias", "running_mean", "running_var"});
  for (const auto& consumer : deps.consumers) {
    const auto weight = tensor_attr(submodule_at(module, consumer.layer), "weight");
    const int64_t block = consumer.flattened ? weight.size(1) / cut.channels : 1;
    slices.push_back({consumer.layer, "weight", 1, block_indices(cut.keep, block)});
  }
  return slices;
}

}  // namespace

std::vector<LayerChange> cut_channels(torch::jit::Module& module, const std::vector<ChannelCut>& cuts) {
  std::vector<Slice> slices;
  std::set<std::string> depthwise;
  for (const auto& cut : cuts) {
    auto planned = plan_slices(module, cut);
    slices.insert(slices.end(), planned.begin(), planned.end());
    depthwise.insert(cut.dependencies->depthwise.begin(), cut.dependencies->depthwise.end());
  }

  std::map<std::string, LayerChange> changes;
  for (const auto& slice : slices) {
    if (changes.count(slice.layer)) continue;
    const auto sub = submodule_at(module, slice.layer);
    changes[slice.layer] = {slice.layer, main_shape(sub), {}, own_parameter_count(sub), 0};
  }

  torch::NoGradGuard no_grad;
  for (const auto& slice : slices) {
    auto sub = submodule_at(module, slice.layer);
    const auto tensor = tensor_attr(sub, slice.attribute);
    if (!tensor.defined()) continue;  // bias=False, affine=False
    replace_tensor_attr(sub, slice.attribute, tensor.index_select(slice.dim, slice.index.to(tensor.device())));
  }
  for (const auto& layer : depthwise) {
    auto sub = submodule_at(module, layer);
    take_depthwise_groups_from_weight(sub);
  }

  std::vector<LayerChange> result;
  for (const auto& item : module.named_modules()) {
    auto found = changes.find(item.name);
    if (found == changes.end()) continue;
    auto sub = item.value;
    update_size_attributes(sub);
    found->second.shape_after = main_shape(sub);
    found->second.params_after = own_parameter_count(sub);
    result.push_back(found->second);
  }
  return result;
}

}  // namespace mopt::prune

// prune_channels: analyze (channel_dependencies), rank and choose (here), cut (channel_surgery),
// then prove the model still runs with an output of the same shape.
#include "lib/prune/channel_pruning.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "lib/errors.h"
#include "lib/prune/channel_dependencies.h"
#include "lib/prune/channel_rounding.h"
#include "lib/prune/channel_surgery.h"
#include "lib/prune/module_paths.h"
#include "lib/prune/slow_convolutions.h"
#include "lib/prune/unstructured.h"

namespace mopt::prune {

namespace {

std::string shape_text(const c10::IValue& value) {
  if (value.isTensor()) return fmt::format("[{}]", fmt::join(value.toTensor().sizes(), ", "));
  if (value.isTuple() || value.isList()) {
    std::vector<std::string> parts;
    const auto items = value.isTuple() ? value.toTupleRef().elements().vec() : value.toListRef().vec();
    for (const auto& item : items) parts.push_back(shape_text(item));
    return fmt::format("({})", fmt::join(parts, ", "));
  }
  return value.tagKind();
}

// Puts every submodule in eval mode for the duration (forward runs must not update BN statistics
// or drop activations) and then restores each module's own flag, on the module the handle holds at
// the end (it may have been replaced by a clone) and on the original object.
class EvalModeScope {
 public:
  explicit EvalModeScope(torch::jit::Module& module) : handle_(module), original_(module) {
    for (const auto& item : module.named_modules()) {
      if (item.value.type()->hasAttribute("training")) training_[item.name] = item.value.is_training();
    }
    module.eval();
  }
  ~EvalModeScope() {
    restore(original_);
    restore(handle_);
  }

 private:
  void restore(const torch::jit::Module& module) const {
    for (const auto& item : module.named_modules()) {
      auto found = training_.find(item.name);
      if (found != training_.end() && item.value.type()->hasAttribute("training")) {
        item.value._ivalue()->setAttr("training", found->second);
      }
    }
  }

  torch::jit::Module& handle_;
  torch::jit::Module original_;
  std::map<std::string, bool> training_;
};

c10::IValue run_forward(torch::jit::Module& module, const std::vector<torch::Tensor>& inputs) {
  torch::NoGradGuard no_grad;
  return module.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end()));
}

// C for the group, after checking that every tensor that follows it agrees; "" or why not.
int64_t group_channels(const torch::jit::Module& module, const ChannelDependencies& deps, std::string& problem) {
  auto size0 = [&](const std::string& layer, const char* attribute) {
    const auto tensor = tensor_attr(submodule_at(module, layer), attribute);
    return tensor.defined() ? tensor.size(0) : int64_t{-1};
  };
  int64_t channels = -1;
  auto expect = [&](const std::string& layer, int64_t size, const char* what) {
    if (channels < 0) channels = size;
    if (size != channels && problem.empty()) {
      problem = fmt::format("sizes disagree: {} has {} {} where {} were expected", layer, size, what, channels);
    }
  };
  for (const auto& layer : deps.producers) expect(layer, size0(layer, "weight"), "output channels");
  for (const auto& layer : deps.depthwise) expect(layer, size0(layer, "weight"), "channels");
  for (const auto& layer : deps.batch_norms) {
    const int64_t size = size0(layer, "running_mean");
    expect(layer, size >= 0 ? size : size0(layer, "weight"), "features");
  }
  for (const auto& consumer : deps.consumers) {
    const int64_t inputs = tensor_attr(submodule_at(module, consumer.layer), "weight").size(1);
    if (consumer.flattened) {
      if (channels > 0 && inputs % channels != 0 && problem.empty()) {
        problem =
            fmt::format("{} has {} input features, not a multiple of {} channels", consumer.layer, inputs, channels);
      }
    } else {
      expect(consumer.layer, inputs, "input channels");
    }
  }
  return channels;
}

// Sum over producers of each output filter's L1 or L2 norm.
torch::Tensor channel_scores(const torch::jit::Module& module, const ChannelDependencies& deps, int64_t channels,
                             int norm) {
  auto scores = torch::zeros({channels}, torch::kDouble);
  const auto& ranked = deps.producers.empty() ? deps.depthwise : deps.producers;
  for (const auto& layer : ranked) {
    const auto filters =
        tensor_attr(submodule_at(module, layer), "weight").detach().to(torch::kDouble).reshape({channels, -1});
    scores += norm == 1 ? filters.abs().sum(1) : filters.pow(2).sum(1).sqrt();
  }
  return scores;
}

int64_t channels_to_keep(double amount, int64_t channels) {
  // The epsilon keeps (1 - 0.7) * 10 = 3.0000000000000004 from rounding up to 4.
  const auto kept = static_cast<int64_t>(std::ceil((1.0 - amount) * static_cast<double>(channels) - 1e-9));
  return std::clamp<int64_t>(kept, 1, channels);
}

torch::Tensor strongest(const torch::Tensor& scores, int64_t count) {
  // Stable descending sort: among equal scores the lower index survives, so runs are repeatable.
  const auto order = std::get<1>(torch::sort(scores, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  return std::get<0>(torch::sort(order.slice(0, 0, count)));
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  return fmt::format("{}", fmt::join(items, separator));
}

// A deep copy with its own TorchScript types and functions. Cloned under no-grad, then the
// parameters get their requires_grad back: a clone made with grad on is a non-leaf that never
// receives .grad.
torch::jit::Module fresh_copy(const torch::jit::Module& module) {
  torch::jit::Module copy;
  {
    torch::NoGradGuard no_grad;
    copy = module.clone();
  }
  const auto original = module.named_parameters();
  std::map<std::string, bool> requires_grad;
  for (const auto& item : original) requires_grad[item.name] = item.value.requires_grad();
  for (const auto& item : copy.named_parameters()) item.value.set_requires_grad(requires_grad[item.name]);
  return copy;
}

// The smallest count from `keep` up (a multiple of `multiple`, at most `channels`) at which every
// convolution that reads the group and ran in oneDNN at batch 1 with all `channels` still does:
// below kOneDnnMinInputValues input values LibTorch 1.13 takes its slow im2col path instead.
int64_t keep_onednn_path(const torch::jit::Module& module, const ChannelDependencies& deps,
                         const std::map<std::string, std::vector<int64_t>>& input_shapes, int64_t keep,
                         int64_t channels, int64_t multiple) {
  for (const auto& consumer : deps.consumers) {
    const auto shape = input_shapes.find(consumer.layer);
    if (consumer.flattened || shape == input_shapes.end() || shape->second.size() < 3 || shape->second[0] != 1) continue;
    const auto conv = submodule_at(module, consumer.layer);
    const auto weight = tensor_attr(conv, "weight");
    const bool large_kernel = weight.dim() >= 4 && weight.size(-1) > 3 && weight.size(-2) > 3;
    const int64_t groups = conv.hasattr("groups") ? conv.attr("groups").toInt() : 1;
    if (groups != 1 || large_kernel) continue;  // oneDNN takes those whatever their size
    int64_t spatial = 1;
    for (size_t d = 2; d < shape->second.size(); ++d) spatial *= shape->second[d];
    if (channels * spatial <= kOneDnnMinInputValues || keep * spatial > kOneDnnMinInputValues) continue;
    const int64_t needed = kOneDnnMinInputValues / spatial + 1;
    keep = std::min(channels, (needed + multiple - 1) / multiple * multiple);
  }
  return keep;
}

}  // namespace

ChannelPruneResult prune_channels(torch::jit::Module& module, const ChannelPruneOptions& options,
                                  const std::vector<torch::Tensor>& examples) {
  check_amount(options.amount);
  if (options.norm != 1 && options.norm != 2) {
    throw usage_error(fmt::format("channel norm must be 1 (L1) or 2 (L2), got {}", options.norm));
  }
  if (options.round_to < 1) {
    throw usage_error(fmt::format("channel rounding must be a multiple >= 1 (1 = off), got {}", options.round_to));
  }
  const auto selected_list = prunable_layers(module, options.selection);
  const std::set<std::string> selected(selected_list.begin(), selected_list.end());

  EvalModeScope eval_mode(module);
  c10::IValue before;
  try {
    before = run_forward(module, examples);
  } catch (const c10::Error& e) {
    throw invalid_input(fmt::format("the model does not run on the example input {}: {}", shape_text(examples.front()),
                                    short_torch_message(e.what())));
  }

  const auto dependencies = analyze_channel_dependencies(module, examples.front().dim());
  const auto conv_inputs = options.round_to > 1 ? convolution_input_shapes(module, examples)
                                                : std::map<std::string, std::vector<int64_t>>{};
  ChannelPruneResult result;
  std::vector<ChannelCut> cuts;
  for (const auto& deps : dependencies) {
    ChannelGroup group;
    group.producers = deps.producers.empty() ? deps.depthwise : deps.producers;
    std::string problem;
    const int64_t channels = group_channels(module, deps, problem);
    group.channels_before = group.channels_requested = group.channels_after = channels;
    std::vector<std::string> unselected;
    for (const auto& layer : deps.producers) {
      if (!selected.count(layer)) unselected.push_back(layer);
    }
    if (!deps.reasons.empty()) {
      group.skipped_reason = join(deps.reasons, "; ");
    } else if (!problem.empty()) {
      group.skipped_reason = problem;
    } else if (deps.producers.empty()) {
      group.skipped_reason = "no conv or linear produces these channels";
    } else if (!unselected.empty()) {
      group.skipped_reason = "not selected: " + join(unselected, ", ");
    } else {
      group.channels_requested = channels_to_keep(options.amount, channels);
      const int64_t rounded = round_kept_channels(group.channels_requested, channels, options.round_to);
      const int64_t keep = keep_onednn_path(module, deps, conv_inputs, rounded, channels, options.round_to);
      group.raised_for_onednn = keep > rounded;
      if (group.channels_requested == channels) {
        group.skipped_reason = fmt::format("amount {} removes none of {} channels", options.amount, channels);
      } else if (keep == channels) {
        group.skipped_reason =
            group.raised_for_onednn
                ? fmt::format("fewer than {} channels would take LibTorch's slow convolution at batch 1", channels)
                : fmt::format("{} of {} channels rounded to a multiple of {} is all of them", group.channels_requested,
                              channels, options.round_to);
      } else {
        cuts.push_back({&deps, channels, strongest(channel_scores(module, deps, channels, options.norm), keep)});
        group.channels_after = keep;
      }
    }
    result.groups.push_back(std::move(group));
  }

  // The cut happens on a copy: on failure the caller's module is untouched, and the copy's fresh
  // TorchScript functions have no executor that could still hold the old graphs.
  auto pruned = fresh_copy(module);
  result.layers = cut_channels(pruned, cuts);
  c10::IValue after;
  try {
    after = run_forward(pruned, examples);
  } catch (const c10::Error& e) {
    throw runtime_failure(
        fmt::format("bug: the channel-pruned model no longer runs: {}", short_torch_message(e.what())));
  }
  if (shape_text(before) != shape_text(after)) {
    throw runtime_failure(fmt::format("bug: channel pruning changed the output shape from {} to {}", shape_text(before),
                                      shape_text(after)));
  }
  module = pruned;
  return result;
}

}  // namespace mopt::prune

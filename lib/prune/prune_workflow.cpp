#include "lib/prune/prune_workflow.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>

#include "lib/errors.h"
#include "lib/model/flops.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/prune/channel_pruning.h"
#include "lib/prune/module_paths.h"
#include "lib/prune/slow_convolutions.h"
#include "lib/prune/unstructured.h"
#include "lib/train/distill_objectives.h"
#include "lib/train/precision_choice.h"
#include "lib/util/log.h"

namespace mopt::prune {
namespace {

using json = nlohmann::json;

bool is_n_m(const std::string& method) { return std::regex_match(method, std::regex(R"(\d+:\d+)")); }

// The layers the masks cover and their masks at `amount` (magnitude) or the N:M pattern.
Masks compute_masks(const torch::jit::Module& module, const std::vector<std::string>& layers,
                    const PruneRequest& request, double amount) {
  if (is_n_m(request.method)) {
    const auto [n, m] = parse_n_m(request.method);
    return n_m_masks(module, layers, n, m);
  }
  if (request.global) return global_magnitude_masks(module, layers, amount);
  std::map<std::string, double> amounts;
  if (!request.amounts_file.empty()) {
    amounts = read_layer_amounts(request.amounts_file, layers);
  } else {
    for (const auto& layer : layers) amounts[layer] = amount;
  }
  std::vector<std::string> listed;
  for (const auto& [layer, _] : amounts) listed.push_back(layer);
  return magnitude_masks(module, listed, amounts);
}

int64_t zero_count(const torch::Tensor& t) { return t.numel() - t.count_nonzero().item<int64_t>(); }

json mask_layer_rows(const torch::jit::Module& before, const torch::jit::Module& after, const Masks& masks) {
  json rows = json::array();
  for (const auto& [layer, _] : masks) {
    const auto w_before = tensor_attr(submodule_at(before, layer), "weight");
    const auto w_after = tensor_attr(submodule_at(after, layer), "weight");
    rows.push_back({{"layer", layer},
                    {"shape_before", w_before.sizes().vec()},
                    {"shape_after", w_after.sizes().vec()},
                    {"sparsity", sparsity(w_after)},
                    {"parameters_removed", zero_count(w_after) - zero_count(w_before)}});
  }
  return rows;
}

std::string serialized(const Model& model) {
  std::stringstream buffer;
  model.torchscript().save(buffer);
  return buffer.str();
}

json model_totals(const Model& model, const std::vector<torch::Tensor>& example) {
  int64_t nonzero = 0;
  for (const auto& p : model.torchscript().parameters()) nonzero += p.count_nonzero().item<int64_t>();
  const auto bytes = serialized(model);
  const auto macs = count_macs(model, example);
  json totals = {{"parameters", parameter_totals(model).count},
                 {"nonzero_parameters", nonzero},
                 {"bytes", static_cast<int64_t>(bytes.size())},
                 {"gzip_bytes", compressed_size(bytes)}};
  if (macs.complete) totals["macs"] = macs.macs;
  return totals;
}

json totals_before_after(const json& before, const json& after) {
  json totals = {{"before", before}, {"after", after}};
  totals["parameter_ratio"] = after["parameters"].get<double>() / std::max(1.0, before["parameters"].get<double>());
  if (before.contains("macs") && after.contains("macs")) {
    totals["mac_ratio"] = after["macs"].get<double>() / std::max(1.0, before["macs"].get<double>());
  }
  return totals;
}

// Fine-tuning distills with vanilla KD (Hinton et al.) at the request's temperature and alpha.
train::SoftTargets soft_targets(const PruneRequest& request) {
  return {train::KdLoss::kVanilla, request.temperature, request.alpha, 8};
}

// Fine-tuning: cross-entropy on labels, or the teacher's soft targets (with labels mixed in
// when there are some), keeping `masks` applied after every step if there are masks. On
// request.train.device, in the precision --amp resolves to; the module comes back on the CPU.
nlohmann::json finetune(torch::jit::Module& module, const PruneRequest& request, const train::StepHook& after_step) {
  auto config = request.train;
  config.label = "finetune";
  config.fingerprint = {{"method", request.method}, {"amount", request.amount}, {"global", request.global},
                        {"amounts_file", request.amounts_file}, {"round_to", request.round_to}, {"schedule", request.schedule},
                        {"steps", request.schedule_steps}, {"initial_sparsity", request.initial_sparsity},
                        {"teacher", request.teacher.has_value()}};
  // Before any training: the data fits the model, labels are class ids it has, the teacher agrees.
  train::check_distillation_inputs(request.teacher ? *request.teacher : Model::from_torchscript(module), module,
                                   request.finetune, Dataset{});
  train::Objective objective;
  if (request.teacher) {
    log_info("computing teacher logits for {} fine-tuning samples", request.finetune.size());
    objective = train::distillation_objective(
        train::teacher_logits_for(request.teacher->torchscript(), request.finetune, config),
        soft_targets(request));
  } else {
    objective = train::cross_entropy_objective();
  }
  const auto precision = train::choose_precision(module, request.finetune, config, objective);
  config.precision = precision.chosen;
  auto result = train::train_model(module, {}, request.finetune, Dataset{}, config, objective, after_step);
  module.to(c10::kCPU);
  module.eval();
  auto curve = result.to_json();
  curve["precision_choice"] = precision.to_json();
  return curve;
}

}  // namespace

std::pair<int, int> parse_n_m(const std::string& text) {
  std::smatch match;
  if (!std::regex_match(text, match, std::regex(R"((\d+):(\d+))"))) {
    throw usage_error(fmt::format("'{}' is not an N:M pattern such as 2:4", text));
  }
  const int n = std::stoi(match[1]), m = std::stoi(match[2]);
  if (n < 1 || n >= m) throw usage_error(fmt::format("N:M pattern {} needs 1 <= N < M", text));
  return {n, m};
}

int64_t compressed_size(const std::string& bytes) {
  uLongf size = compressBound(bytes.size());
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size(),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    throw runtime_failure("zlib failed to compress the model");
  }
  return static_cast<int64_t>(size);
}

void validate_request(const PruneRequest& request) {
  const bool channel = request.method == "channel";
  if (!channel && request.method != "magnitude" && !is_n_m(request.method)) {
    throw usage_error(fmt::format("unknown --method '{}'; use magnitude, channel or an N:M pattern such as 2:4",
                                  request.method));
  }
  if (is_n_m(request.method)) parse_n_m(request.method);
  if (!is_n_m(request.method) && request.amounts_file.empty()) check_amount(request.amount);
  if (request.norm != 1 && request.norm != 2) throw usage_error("--norm must be l1 or l2");
  if (request.round_to < 1) throw usage_error(fmt::format("--round-to must be >= 1 (1 = off), got {}", request.round_to));
  if (request.global && request.method != "magnitude") throw usage_error("--global applies to --method magnitude");
  if (!request.amounts_file.empty() && (request.method != "magnitude" || request.global)) {
    throw usage_error("--amounts applies to --method magnitude without --global");
  }
  if (!request.schedule.empty()) {
    if (request.method != "magnitude") throw usage_error("--schedule (gradual pruning) applies to --method magnitude");
    if (request.finetune.size() == 0) throw usage_error("--schedule prunes gradually while fine-tuning: give --finetune-data");
    if (!request.amounts_file.empty()) throw usage_error("--schedule works with --amount (per layer or --global), not --amounts");
    if (request.schedule_steps < 1) throw usage_error("--steps must be >= 1");
    scheduled_sparsity(0, request.schedule_steps, request.initial_sparsity, request.amount, request.schedule);
  }
  if (request.finetune.size() > 0) {
    if (!request.teacher && !request.finetune.has_labels()) {
      throw usage_error("fine-tuning without --teacher needs labels (--finetune-labels or a folder with labels)");
    }
    train::validate_config(request.train);
    if (request.teacher) train::validate_soft_targets(soft_targets(request));
  } else if (request.teacher) {
    throw usage_error("--teacher gives soft targets for fine-tuning: give --finetune-data too");
  }
  if (request.eval.size() == 0) throw usage_error("pruning needs data to measure on: give --eval-data or --input-shape");
}

PruneOutcome run_prune(const Model& input, const PruneRequest& request) {
  validate_request(request);
  if (!input.is_torchscript()) throw usage_error("pruning works on TorchScript models");
  const auto example = request.eval.input_rows(0, 1);  // one row of every input
  PruneOutcome outcome;
  outcome.model = input.clone();
  auto& module = outcome.model.torchscript();
  const auto layers = prunable_layers(module, request.selection);
  const auto totals_before = model_totals(input, example);

  Masks masks;
  train::StepHook keep_masks;
  if (request.method == "channel") {
    ChannelPruneOptions options{request.amount, request.norm, request.selection, request.round_to};
    auto result = prune_channels(module, options, example);
    int64_t pruned = 0, rounded = 0, unroundable = 0, raised = 0;
    std::map<std::string, const ChannelGroup*> group_of_producer;
    for (const auto& g : result.groups) {
      outcome.groups.push_back({{"producers", g.producers}, {"channels_before", g.channels_before},
                                {"channels_requested", g.channels_requested}, {"channels_after", g.channels_after},
                                {"pruned", g.skipped_reason.empty()}, {"raised_for_onednn", g.raised_for_onednn}});
      if (!g.skipped_reason.empty()) outcome.groups.back()["skipped_reason"] = g.skipped_reason;
      raised += g.raised_for_onednn ? 1 : 0;
      pruned += g.skipped_reason.empty() ? 1 : 0;
      rounded += g.channels_requested != g.channels_after ? 1 : 0;
      unroundable += g.skipped_reason.empty() && g.channels_after % request.round_to != 0 ? 1 : 0;
      for (const auto& producer : g.producers) group_of_producer[producer] = &g;
    }
    for (const auto& l : result.layers) {
      outcome.layers.push_back({{"layer", l.layer}, {"shape_before", l.shape_before}, {"shape_after", l.shape_after},
                                {"parameters_removed", l.params_before - l.params_after}, {"sparsity", 0.0}});
      // Producers say what the amount asked for and what the rounding kept; the other rows (batch
      // norms, next layers' inputs, depthwise followers) follow a producer's group.
      auto found = group_of_producer.find(l.layer);
      if (found != group_of_producer.end() && found->second->skipped_reason.empty()) {
        outcome.layers.back()["channels_requested"] = found->second->channels_requested;
        outcome.layers.back()["channels_kept"] = found->second->channels_after;
      }
    }
    if (pruned == 0) throw usage_error("no channel group could be pruned; see the groups in --verbose output");
    const auto left = static_cast<int64_t>(result.groups.size()) - pruned;
    if (left > 0) outcome.notes.push_back(fmt::format("{} channel group(s) left whole; the report's groups say why", left));
    if (request.round_to > 1) {
      outcome.notes.push_back(fmt::format(
          "channel counts rounded to multiples of {} (--round-to, 1 = off): {} group(s) keep a count other than "
          "the amount's; the table shows kept (asked){}",
          request.round_to, rounded,
          unroundable > 0 ? fmt::format("; {} group(s) of at most {} channels keep the count asked", unroundable,
                                        request.round_to)
                          : ""));
    }
    if (raised > 0) {
      outcome.notes.push_back(fmt::format(
          "{} group(s) keep more channels than that, so that the convolutions reading them stay in oneDNN at batch 1 "
          "(LibTorch 1.13 runs a convolution with at most {} input values on its slower im2col path; --round-to 1 "
          "turns this off with the rounding)",
          raised, kOneDnnMinInputValues));
    }
  } else if (!request.schedule.empty()) {
    // Gradual pruning (Zhu & Gupta): sparsity rises on the schedule over the first half of
    // fine-tuning, in `schedule_steps` steps; the second half recovers at the final sparsity.
    auto current_step = std::make_shared<int64_t>(-1);
    auto current = std::make_shared<Masks>();
    auto update = [&request, &layers, current_step, current](torch::jit::Module& m, int64_t step, int64_t total) {
      const int64_t pruning_span = std::max<int64_t>(1, total / 2);
      const int64_t k = std::min(request.schedule_steps, step * request.schedule_steps / pruning_span);
      if (k != *current_step) {
        *current_step = k;
        const double s = scheduled_sparsity(k, request.schedule_steps, request.initial_sparsity, request.amount,
                                            request.schedule);
        *current = s > 0 ? compute_masks(m, layers, request, s) : Masks{};
        log_verbose("gradual pruning step {}/{}: sparsity {:.3f}", k, request.schedule_steps, s);
      }
      apply_masks(m, *current);
    };
    update(module, 0, 1);
    keep_masks = [&module, update](int64_t step, int64_t total) { update(module, step, total); };
  } else {
    masks = compute_masks(module, layers, request, request.amount);
    apply_masks(module, masks);
    keep_masks = [&module, &masks](int64_t, int64_t) { apply_masks(module, masks); };
  }

  if (request.finetune.size() > 0) {
    outcome.finetune = finetune(module, request, keep_masks);
    if (!request.schedule.empty()) masks = compute_masks(module, layers, request, request.amount);
  }
  module.eval();
  if (!request.train.is_main_rank()) return outcome;  // rank 0 of a data-parallel fine-tuning measures and writes
  if (request.method != "channel") outcome.layers = mask_layer_rows(input.torchscript(), module, masks);

  outcome.totals = totals_before_after(totals_before, model_totals(outcome.model, example));
  if (request.onnx_output) {
    // Exported after pruning: the totals describe the pruned network, the timing the .onnx file in ONNX Runtime.
    outcome.model = export_like(outcome.model, example);
    outcome.totals["after"]["onnx_bytes"] = static_cast<int64_t>(outcome.model.onnx().ByteSizeLong());
  }
  outcome.comparison = compare_models(request.reference ? *request.reference : input, outcome.model, request.eval, request.comparison);
  const bool timed = latency_measured(outcome.comparison);
  const double speedup = timed ? outcome.comparison["speedup_p50"].get<double>() : 0.0;
  if (request.method != "channel") {
    outcome.notes.push_back(fmt::format(
        "unstructured sparsity does not speed up dense kernels: the weights keep their shapes, so the same work is "
        "done ({}); the saving shows in the compressed size ({} -> {} bytes gzip)",
        timed ? fmt::format("measured {:.2f}x", speedup) : "latency not measured",
        outcome.totals["before"]["gzip_bytes"].get<int64_t>(), outcome.totals["after"]["gzip_bytes"].get<int64_t>()));
  }
  if (is_n_m(request.method)) {
    outcome.notes.push_back("N:M sparsity (2:4) is accelerated by sparse tensor cores (NVIDIA Ampere and later, via "
                            "TensorRT or cuSPARSELt), not by LibTorch's CPU kernels");
  }
  if (request.method == "channel" && timed && speedup < 1.0) {
    const auto& runtime = outcome.comparison["runtime"];
    const bool other_runtime = runtime["before"] != runtime["after"];  // an .onnx input in ONNX Runtime
    const std::string than = other_runtime ? fmt::format(" in {} than the input in {}", runtime["after"].get<std::string>(),
                                                         runtime["before"].get<std::string>())
                                           : "";
    outcome.notes.push_back(fmt::format("the pruned model is SLOWER{} on this CPU ({:.2f}x{})", than, speedup,
                                        tuned_allocator_clause(outcome.comparison)));
  }
  if (request.method == "channel") {
    const auto slow_after = slow_path_convolutions(outcome.model, example);
    const auto slow_before = slow_after.empty() ? slow_after : slow_path_convolutions(input, example);
    if (slow_after.size() > slow_before.size()) {
      outcome.notes.push_back(fmt::format(
          "{} convolution(s) of the pruned model run LibTorch's slow im2col path at batch 1 (aten::_slow_conv2d_forward, "
          "against {} in the input): {}. LibTorch 1.13 gives a convolution of up to 3x3 to oneDNN at batch 1 only when "
          "its input holds more than {} values; `mopt compile` with an x86 profile (--profile x86-64-avx512-vnni or "
          "x86-64-avx2) runs every convolution in oneDNN",
          slow_after.size(), slow_before.size(), fmt::join(slow_after, ", "), kOneDnnMinInputValues));
    }
  }
  return outcome;
}

PruneOutcome run_prune_job(const Model& input, const PruneRequest& request, const PruneJob& job, Report& report,
                           const std::function<void(const PruneOutcome&)>& present) {
  auto outcome = run_prune(input, request);
  if (!request.train.is_main_rank()) return outcome;  // rank 0 measures, reports and writes
  report.metrics() = outcome.comparison;
  report.metrics()["totals"] = outcome.totals;
  const bool uses_amount = request.method == "channel" || (request.method == "magnitude" && request.amounts_file.empty());
  const auto amount = uses_amount ? nlohmann::json(request.amount) : nlohmann::json();
  auto& details = report.details()["pruning"];
  details = {{"method", request.method}, {"amount", amount}, {"global", request.global},
             {"layers", outcome.layers}, {"groups", outcome.groups}, {"notes", outcome.notes}};
  if (request.method == "channel") {
    details["round_to"] = request.round_to;
    details["round_to_source"] = job.round_to_source;
    if (!job.profile.empty()) details["profile"] = job.profile;
  }
  if (!outcome.finetune.is_null()) details["finetune"] = outcome.finetune;
  present(outcome);

  if (job.max_accuracy_drop) {
    const auto& c = outcome.comparison;
    const double limit = *job.max_accuracy_drop;
    const double drop = 100 * (c["before"]["accuracy"]["top1"].get<double>() - c["after"]["accuracy"]["top1"].get<double>());
    report.add_gate("max-accuracy-drop", fmt::format("accuracy drop <= {} points", limit), drop <= limit, drop);
    if (drop > limit) {
      throw Error(ExitCode::kGateFailed,
                  fmt::format("the pruned model lost {:.2f} accuracy points (limit {}); no artifact written", drop, limit));
    }
  }
  if (outcome.model.is_torchscript()) {
    outcome.model.set_extra_file("mopt.json", nlohmann::json({{"made_by", "mopt prune"}, {"method", request.method},
                                                              {"amount", amount},
                                                              {"round_to", request.method == "channel" ? nlohmann::json(request.round_to)
                                                                                                      : nlohmann::json()}}).dump());
  }
  outcome.model.save(job.output);
  report.add_output(job.output, &outcome.model);
  return outcome;
}

}  // namespace mopt::prune

#include "passes/quantize/static_quantizer.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>

#include <map>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/eval/evaluate.h"
#include "lib/measure/memory.h"
#include "lib/model/float_quantize.h"
#include "lib/model/graph_walk.h"
#include "lib/model/layer_map.h"
#include "lib/util/strings.h"
#include "passes/quantize/calibrator_verdict.h"
#include "passes/quantize/inference_branches.h"
#include "passes/quantize/jit_observers.h"
#include "passes/quantize/observer_diagnosis.h"
#include "lib/quantize/quantize_errors.h"
#include "passes/quantize/relu6_folding.h"
#include "passes/quantize/silu_decomposition.h"
#include "passes/quantize/tuple_outputs.h"
#include "passes/quantize/unused_submodules.h"
#include "passes/quantize/upsample_in_float.h"

namespace mopt::quant {
namespace {

// For failures that are mopt's or LibTorch's, not the user's: what they can still do.
constexpr const char* kReportAdvice =
    "This is a limitation of LibTorch's graph-mode quantization or a bug in mopt: try --mode dynamic or --mode fp16, "
    "or keep the failing layer in fp32 with --skip LAYER, and report the model";
constexpr const char* kDynamicReportAdvice =
    "This is a limitation of LibTorch's graph-mode quantization or a bug in mopt: keep the failing layer in fp32 with "
    "--skip LAYER or try --mode fp16, and report the model";

torch::jit::Module prepare_module(const Model& model, std::vector<std::string>* training_only = nullptr) {
  if (!model.is_torchscript()) throw usage_error("quantization works on TorchScript models");
  auto module = model.torchscript().clone();
  if (!module.hasattr("training")) {
    throw usage_error("the model is frozen; quantize the unfrozen TorchScript module (quantize before `freeze`)");
  }
  module.eval();
  return quantization_stage("preparing the model (inference branches, unused submodules, fold-conv-bn)", kReportAdvice, [&] {
    // Branches on `self.training` (stochastic depth, dropout) are dead at inference, and
    // InsertObservers rejects an `if` whose branches return values observed differently.
    resolve_inference_branches(module);
    auto unused = drop_unused_submodules(module);
    if (training_only) *training_only = std::move(unused);
    return torch::jit::FoldConvBatchNorm(module);
  });
}


std::string type_name(const torch::jit::Module& module) {
  auto name = module.type()->name();
  return name ? name->qualifiedName() : "";
}

// Static: every op of the model is a candidate, minus --skip. Dynamic: only Linear modules get the
// qconfig, because a global one also observes functional linears whose weights are computed, not
// parameters (nn.MultiheadAttention slices in_proj_weight), which Finalize(DYNAMIC) cannot
// quantize ("expected 3 inputs, but got only 1" on every nn.TransformerEncoder).
torch::jit::QConfigDict qconfig_dict(const torch::jit::Module& module, const torch::jit::QConfig& qconfig,
                                     const QuantConfig& config, torch::jit::QuantType type) {
  torch::jit::QConfigDict dict;
  if (type == torch::jit::QuantType::STATIC) {
    dict[""] = qconfig;
  } else {
    for (const auto& item : module.named_modules()) {
      if (type_name(item.value).find(".Linear") != std::string::npos) dict[item.name] = qconfig;
    }
  }
  for (const auto& name : config.skip_modules) dict[name] = c10::nullopt;
  return dict;
}

// Activation observers in module-path order, so ids are deterministic.
std::vector<std::pair<std::string, torch::jit::Module>> activation_observers(const torch::jit::Module& module) {
  std::vector<std::pair<std::string, torch::jit::Module>> found;
  for (const auto& item : module.named_modules()) {
    if (type_name(item.value).find(kActivationObserverName) != std::string::npos) found.emplace_back(item.name, item.value);
  }
  return found;
}

// The submodule whose output reaches `node` through first inputs only (a few ops back at most), or "".
std::string upstream_submodule(const torch::jit::Node* node) {
  for (int step = 0; step < 8 && !node->inputs().empty(); ++step) {
    if (node->kind() == c10::prim::CallMethod && node->input(0)->node()->kind() == c10::prim::GetAttr) {
      auto name = node->input(0)->node()->s(c10::attr::name);
      if (name.rfind("_observer_", 0) != 0) return name;
    }
    node = node->input(node->kind() == c10::prim::CallMethod ? std::min<size_t>(1, node->inputs().size() - 1) : 0)->node();
  }
  return "";
}

// Which layer produces the value an observer watches: the submodule whose forward output it is,
// or the op. Observers are called as `CallMethod[forward](GetAttr[_observer_N](self), value)`, in
// any method (GoogLeNet's forward calls self._forward) and inside branches.
std::map<std::string, std::string> observed_layers(const torch::jit::Module& module) {
  std::map<std::string, std::string> layers;  // observer path -> layer
  for (const auto& item : module.named_modules()) {
    std::string prefix = item.name.empty() ? "" : item.name + ".";
    for (const auto& method : item.value.get_methods()) {
      for (auto* node : all_nodes(method.graph()->block())) {
        if (node->kind() != c10::prim::CallMethod || node->inputs().size() < 2) continue;
        auto* target = node->input(0)->node();
        if (target->kind() != c10::prim::GetAttr) continue;
        auto observer_name = target->s(c10::attr::name);
        if (observer_name.rfind("_observer_", 0) != 0) continue;
        auto* producer = node->input(1)->node();
        std::string layer;
        if (producer->kind() == c10::prim::CallMethod && producer->input(0)->node()->kind() == c10::prim::GetAttr) {
          layer = prefix + producer->input(0)->node()->s(c10::attr::name);
        } else if (producer->kind() == c10::prim::CallMethod) {  // self._transform_input(x)
          layer = prefix + producer->s(c10::attr::name);
        } else if (producer->kind() == c10::prim::Param) {
          layer = prefix + "input:" + node->input(1)->debugName();
        } else if (producer->kind() == c10::prim::CallFunction) {  // F.relu(x) in a module's forward
          layer = prefix + producer->input(0)->type()->expectRef<c10::FunctionType>().function()->name();
        } else {  // an op in the graph itself (every ReLU of an imported ONNX model): say which layer it follows
          layer = prefix + std::string(producer->kind().toQualString());
          if (auto upstream = upstream_submodule(producer); !upstream.empty()) layer += " (after " + prefix + upstream + ")";
        }
        layers[prefix + observer_name] = layer;
      }
    }
  }
  return layers;
}

// Feeds observed activations to one calibrator per observer, and with the calibrator check to every
// other calibrator as well (one run of the model for all of them).
class CalibrationSink : public ObservationSink {
 public:
  CalibrationSink(const QuantConfig& config, std::vector<std::string> names, size_t observers)
      : config_(config), names_(std::move(names)), calibrators_(observers) {}
  void observe(int64_t id, const at::Tensor& values) override {
    auto& calibrators = calibrators_.at(static_cast<size_t>(id));
    if (calibrators.empty()) {
      for (const auto& name : names_) calibrators.push_back(make_calibrator(name, config_.calibrator_options));
    }
    for (auto& calibrator : calibrators) calibrator->observe(values.detach());
  }
  /// Observer `id`'s range by calibrator `which` (an index into the names given).
  Range range(size_t id, size_t which = 0) const {
    if (calibrators_.at(id).empty()) return {0, 0};  // never reached (e.g. a branch not taken)
    return calibrators_[id][which]->range();
  }

 private:
  const QuantConfig& config_;
  std::vector<std::string> names_;
  std::vector<std::vector<std::unique_ptr<Calibrator>>> calibrators_;
};

// Accumulates, per observer, the error of quantize-dequantize with the chosen qparams.
class ErrorSink : public ObservationSink {
 public:
  explicit ErrorSink(std::vector<ActivationRecord>& records) : records_(records), sums_(records.size()) {}
  void observe(int64_t id, const at::Tensor& values) override {
    const auto& q = records_.at(static_cast<size_t>(id)).qparams;
    auto x = values.detach().to(torch::kFloat);
    auto fq = torch::fake_quantize_per_tensor_affine(x, q.scale, q.zero_point, 0, activation_quant_max());
    auto& s = sums_[static_cast<size_t>(id)];
    s.signal += x.pow(2).sum().item<double>();
    s.noise += (x - fq).pow(2).sum().item<double>();
    s.dot += (x * fq).sum().item<double>();
    s.fq_energy += fq.pow(2).sum().item<double>();
  }
  void finish() {
    for (size_t i = 0; i < records_.size(); ++i) {
      const auto& s = sums_[i];
      records_[i].sqnr_db = s.noise > 0 ? 10 * std::log10(s.signal / s.noise) : 999.0;
      double norms = std::sqrt(s.signal * s.fq_energy);
      records_[i].cosine = norms > 0 ? s.dot / norms : 1.0;
    }
  }

 private:
  struct Sums {
    double signal = 0, noise = 0, dot = 0, fq_energy = 0;
  };
  std::vector<ActivationRecord>& records_;
  std::vector<Sums> sums_;
};

// Rows [start, end) of every input, as forward() arguments.
std::vector<c10::IValue> rows_of(const Dataset& data, int64_t start, int64_t end) {
  auto rows = data.input_rows(start, end);
  return {rows.begin(), rows.end()};
}

void run_batches(torch::jit::Module& module, const Dataset& data, int64_t batch, int64_t limit,
                 const CalibrationProgress& progress) {
  torch::NoGradGuard no_grad;
  const int64_t n = std::min(data.size(), limit);
  const int64_t total = (n + batch - 1) / batch;
  for (int64_t b = 0; b < total; ++b) {
    module.forward(rows_of(data, b * batch, std::min(n, (b + 1) * batch)));
    if (progress) progress(b + 1, total);
  }
}

void cleanup_graph(torch::jit::Module& module) {
  auto graph = module.get_method("forward").graph();
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
}

// InsertObservers, and when it fails, the layers it fails on and what to do about them.
torch::jit::Module insert_observers(torch::jit::Module& module, const torch::jit::QConfig& qconfig,
                                    const QuantConfig& config, torch::jit::QuantType type) {
  try {
    return torch::jit::InsertObservers(module, "forward", qconfig_dict(module, qconfig, config, type), /*inplace=*/false, type);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    const auto layers = modules_failing_observers(module, qconfig, type);
    throw quantization_failure(
        "inserting observers", e.what(), layers.empty() ? "" : fmt::format("{}", fmt::join(layers, ", ")),
        fmt::format("LibTorch's graph-mode quantization needs both branches of an `if` to treat a quantized value alike; mopt "
                    "resolves branches on `self.training` (stochastic depth, dropout), not ones on data or other attributes. "
                    "Script the model with that branch removed or made to depend on `self.training`, or use {}--mode fp16/bf16",
                    type == torch::jit::QuantType::STATIC
                        ? "--mode dynamic (INT8 weights for Linear and LSTM layers: how models with nn.MultiheadAttention, "
                          "whose (output, weights) branch is one of these, quantize) or "
                        : ""));
  }
}

// Runs calibration batches; a failure is bad data when the fp32 model fails on the same batch too.
void run_calibration(torch::jit::Module& prepared, const torch::jit::Module& fp32, const Dataset& inputs,
                     int64_t batch, int64_t limit, const CalibrationProgress& progress) {
  try {
    run_batches(prepared, inputs, batch, limit, progress);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // c10::Error, or the interpreter's std::runtime_error
    const auto first = rows_of(inputs, 0, std::min(batch, inputs.size()));
    try {
      torch::NoGradGuard no_grad;
      auto copy = fp32;
      copy.forward(first);
    } catch (const std::exception& fp32_error) {
      throw invalid_input(fmt::format("the model does not run on the calibration data (a batch of shape [{}]): {}; "
                                      "check that --calib holds the model's inputs (shape, --normalize)",
                                      fmt::join(first.front().toTensor().sizes(), ", "), torch_error_reason(fp32_error.what())));
    }
    throw quantization_failure("running calibration batches through the observed model", e.what(), "", kReportAdvice);
  }
}

// The observed module, its observers' qparams set, made INT8: quantize/dequantize ops, LibTorch's
// Finalize, then mopt's rewrites after it (counted in `result`). `prepared` is left as it was.
torch::jit::Module convert_calibrated(torch::jit::Module& prepared, QuantResult& result) {
  auto quantized = quantization_stage("inserting quantize/dequantize ops and finalizing", kReportAdvice, [&] {
    auto q = torch::jit::InsertQuantDeQuant(prepared, "forward", /*inplace=*/false, /*debug=*/false,
                                            torch::jit::QuantType::STATIC);
    const auto layers = snapshot_layers(q);
    q = torch::jit::Finalize(q, torch::jit::QuantType::STATIC);
    dequantize_tuple_elements(*q.get_method("forward").graph());
    upsample_bilinear_in_float(*q.get_method("forward").graph());
    carry_layers(layers, q);
    cleanup_graph(q);
    return q;
  });
  auto& graph = *quantized.get_method("forward").graph();
  result.relu6_folded = quantization_stage("folding ReLU6 into quantized ops", kReportAdvice, [&] {
    return fold_relu6_into_quantized_ops(graph);
  });
  // LibTorch's fast concatenation where it applies. The input's quantize_per_tensor stays as it is:
  // LibTorch 2.x computes it with FBGEMM, 0.017-0.033 ms for 1x3x224x224 at 1 thread against
  // 0.20-0.36 ms for the fp32-op rewrite (lib/model/float_quantize.h) that 1.13 needed.
  quantization_stage("putting quantized concatenations on LibTorch's fast path", kReportAdvice, [&] {
    return result.cats_channels_last = rewrite_quantized_cats(graph).channels_last;
  });
  return quantized;
}

// Gives each observer the quint8 parameters of its range; returns them, in observer order.
std::vector<QuantParams> set_qparams(std::vector<std::pair<std::string, torch::jit::Module>>& observers,
                                     const std::vector<Range>& ranges, bool symmetric) {
  std::vector<QuantParams> qparams;
  for (size_t i = 0; i < observers.size(); ++i) {
    qparams.push_back(choose_qparams(ranges[i], 0, activation_quant_max(), symmetric));
    set_activation_qparams(observers[i].second, qparams.back().scale, qparams.back().zero_point);
  }
  return qparams;
}

// The calibrator check (calibrator_verdict.h): the INT8 model each calibrator's ranges make, run on the
// first evaluation samples against fp32. Leaves the observers holding the last candidate's qparams.
nlohmann::json compare_calibrators(const Model& fp32, torch::jit::Module& prepared,
                                   std::vector<std::pair<std::string, torch::jit::Module>>& observers,
                                   const std::vector<std::string>& names, const std::vector<std::vector<Range>>& ranges,
                                   const QuantConfig& config) {
  const Dataset& data = *config.check_data;
  const int64_t samples = std::min<int64_t>(kCalibratorCheckSamples, data.size());
  const auto inputs = data.input_rows(0, samples);
  const auto reference = run_model_batched(fp32, inputs, samples);
  std::map<std::string, double> sqnr;
  for (size_t c = 0; c < names.size(); ++c) {
    set_qparams(observers, ranges[c], config.symmetric_activations);
    QuantResult unused;
    const auto candidate = Model::from_torchscript(convert_calibrated(prepared, unused));
    sqnr[names[c]] = compare_outputs(reference, run_model_batched(candidate, inputs, samples)).sqnr_db;
  }
  return calibrator_verdict(sqnr, config.calibrator, samples, "INT8 model");
}

}  // namespace

QuantResult quantize_static(const Model& model, const Dataset& calib, const QuantConfig& config,
                            const CalibrationProgress& progress) {
  if (calib.size() == 0) throw invalid_input("calibration data is empty");
  const int64_t samples = calib.size();
  QuantResult result;
  auto module = prepare_module(model, &result.training_only_submodules);
  result.silu_decomposed = quantization_stage("rewriting SiLU as x * sigmoid(x)", kReportAdvice, [&] { return decompose_silu(module); });
  quantization_stage("rewriting relu6 as hardtanh", kReportAdvice, [&] { return relu6_as_hardtanh(module); });
  torch::jit::QConfig qconfig{make_activation_observer(), make_weight_observer(config.per_channel)};
  auto prepared = insert_observers(module, qconfig, config, torch::jit::QuantType::STATIC);

  auto observers = activation_observers(prepared);
  auto layers = observed_layers(prepared);
  std::vector<ActivationRecord> records(observers.size());
  for (size_t i = 0; i < observers.size(); ++i) {
    observers[i].second.setattr("observer_id", static_cast<int64_t>(i));
    records[i].id = static_cast<int64_t>(i);
    records[i].layer = layers.count(observers[i].first) ? layers[observers[i].first] : observers[i].first;
  }

  // The chosen calibrator first; with the check, the others watch the same batches.
  const bool check = config.check_data && config.check_data->size() > 0;
  std::vector<std::string> names{config.calibrator};
  if (check) {
    for (const auto& name : calibrator_names()) {
      if (name != config.calibrator) names.push_back(name);
    }
  }
  std::vector<std::vector<Range>> ranges(names.size(), std::vector<Range>(observers.size()));
  reset_peak_rss();
  {
    CalibrationSink sink(config, names, observers.size());
    ScopedObservationSink scope(&sink);
    run_calibration(prepared, module, calib, config.calib_batch, samples, progress);
    for (size_t c = 0; c < names.size(); ++c) {
      for (size_t i = 0; i < observers.size(); ++i) ranges[c][i] = sink.range(i, c);
    }
  }
  result.calibration_peak_rss_mb = peak_rss_mb();
  result.calibration_samples = samples;
  if (check) result.calibrator_check = compare_calibrators(model, prepared, observers, names, ranges, config);
  const auto chosen = set_qparams(observers, ranges.front(), config.symmetric_activations);
  for (size_t i = 0; i < records.size(); ++i) records[i].range = ranges.front()[i], records[i].qparams = chosen[i];
  {
    ErrorSink sink(records);
    ScopedObservationSink scope(&sink);
    quantization_stage("measuring per-activation error", kReportAdvice, [&] {
      run_batches(prepared, calib, config.calib_batch, config.error_samples, {});
    });
    sink.finish();
  }
  result.model = Model::from_torchscript(convert_calibrated(prepared, result));
  result.activations = std::move(records);
  return result;
}

Model quantize_dynamic(const Model& model, const QuantConfig& config) {
  auto module = prepare_module(model);
  torch::jit::QConfig qconfig{make_dynamic_activation_observer(), make_weight_observer(config.per_channel)};
  auto prepared = insert_observers(module, qconfig, config, torch::jit::QuantType::DYNAMIC);
  // No calibration: in dynamic mode InsertQuantDeQuant puts the weight observer calls and
  // calculate_qparams into the graph, and Finalize freezes and folds them into constants.
  auto quantized = quantization_stage("inserting dynamic quantize ops and finalizing", kDynamicReportAdvice, [&] {
    auto q = torch::jit::InsertQuantDeQuant(prepared, "forward", /*inplace=*/false, /*debug=*/false,
                                            torch::jit::QuantType::DYNAMIC);
    const auto layers = snapshot_layers(q);
    q = torch::jit::Finalize(q, torch::jit::QuantType::DYNAMIC);
    dequantize_tuple_elements(*q.get_method("forward").graph());
    carry_layers(layers, q);
    return q;
  });
  // Finalize(DYNAMIC) hard-codes reduce_range=true; onednn computes with full 8-bit activations, and
  // so does every engine on a VNNI CPU. Without VNNI the 7 bits stay (int8_kernels_saturate).
  auto graph = quantized.get_method("forward").graph();
  for (auto* node : graph->nodes()) {
    if (int8_kernels_saturate()) break;
    if (std::string(node->kind().toQualString()) != "quantized::linear_dynamic" || node->inputs().size() < 3) continue;
    torch::jit::WithInsertPoint guard(node);
    node->replaceInput(2, graph->insertConstant(false));
  }
  cleanup_graph(quantized);
  return Model::from_torchscript(quantized);
}

int64_t activation_quant_max() { return int8_kernels_saturate() ? 127 : 255; }

std::vector<std::string> quantizable_modules(const Model& model) {
  std::vector<std::string> names;
  for (const auto& item : model.torchscript().named_modules()) {
    auto type = type_name(item.value);
    for (const char* kind : {".Conv1d", ".Conv2d", ".Conv3d", ".Linear"}) {
      if (type.find(kind) != std::string::npos) {
        names.push_back(item.name);
        break;
      }
    }
  }
  return names;
}

std::vector<std::string> quantizable_modules_matching(const std::vector<std::string>& patterns, const Model& model) {
  const auto modules = quantizable_modules(model);
  std::vector<std::string> matched;
  for (const auto& pattern : patterns) {
    const size_t before = matched.size();
    for (const auto& name : modules) {
      if (glob_matches(pattern, name)) matched.push_back(name);
    }
    if (matched.size() == before) {
      throw usage_error(fmt::format("--skip '{}' matches no quantizable layer; layers: {}", pattern, fmt::join(modules, ", ")));
    }
  }
  return matched;
}

}  // namespace mopt::quant

#include "passes/quantize/quantize_preset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lib/errors.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {

Pipeline quantize_pipeline(const QuantizeSettings& settings) {
  const auto& mode = settings.mode;
  const bool int8 = mode == "static" || mode == "dynamic";
  if (settings.onnx_output && !int8) {
    throw usage_error(fmt::format("--mode {} is not available for ONNX output yet; use static or dynamic, or -o MODEL.pt "
                                  "for LibTorch", mode));
  }
  if (settings.gpu) {
    if (mode != "fp16" && mode != "bf16") {
      throw usage_error(fmt::format("--mode {} runs on the CPU's engines; on a GPU, --mode fp16 or bf16 computes in half "
                                    "precision", mode));
    }
    if (settings.onnx_output) throw usage_error("--device cuda writes TorchScript for LibTorch on the GPU: -o MODEL.pt");
    return parse_pipeline(fmt::format("compute-{}", mode));
  }
  if (mode == "fp16" || mode == "bf16") return parse_pipeline(fmt::format("store-weights{{dtype={}}}", mode));
  if (mode == "bf16-compute") return parse_pipeline("compute-bf16");
  if (!int8) throw usage_error(fmt::format("--mode is static, dynamic, fp16, bf16 or bf16-compute, not '{}'", mode));
  PassInvocation step{"quantize-" + mode, {}};
  if (mode == "static") {
    step.options = {{"calibrator", settings.calibrator}, {"calib-batch", std::to_string(settings.calib_batch)}};
    if (settings.calibrator == "percentile") step.options.push_back({"percentile", fmt::format("{}", settings.percentile)});
    if (settings.symmetric_activations) step.options.push_back({"symmetric-activations", "true"});
  }
  step.options.push_back({"per-channel", settings.per_channel ? "true" : "false"});
  if (!settings.skip.empty()) step.options.push_back({"skip", fmt::format("{}", fmt::join(settings.skip, ","))});
  if (settings.onnx_output && settings.reduce_range != "auto") step.options.push_back({"reduce-range", settings.reduce_range});
  Pipeline pipeline = settings.onnx_output ? parse_pipeline(kOnnxCleanupPipeline) : Pipeline{};
  pipeline.steps.push_back(step);
  return pipeline;
}

bool quantizes_fp32_baseline(const QuantizeSettings& settings) { return settings.gpu || settings.mode == "bf16-compute"; }

const std::vector<std::string>& fp32_baseline_pipelines(bool gpu) {
  static const std::vector<std::string> cpu{"freeze,optimize-for-inference", "freeze,channels-last,optimize-for-inference",
                                            "freeze,channels-last"};
  static const std::vector<std::string> cuda{"remove-dropout,fold-conv-bn,freeze",
                                             "remove-dropout,fold-conv-bn,freeze,channels-last"};
  return gpu ? cuda : cpu;
}

}  // namespace mopt

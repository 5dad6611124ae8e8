#pragma once
// `mopt compile` as a library call: run a device profile's pipeline (or -p) on a model, check the
// result for speed (on this host) and numerics against the input, and write a deployment artifact
// (.pt, .ptl or .onnx). The CLI turns flags into a CompileRequest and prints the CompileOutcome.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/pipeline/pass_registry.h"
#include "lib/profiles/profile.h"
#include "lib/report/report.h"

namespace mopt::compile {

/// Above this ONNX Runtime speedup over the compiled file, compile recommends the ONNX artifact
/// (below it the run-to-run spread could flip the verdict).
constexpr double kOnnxRuntimeAdvantage = 1.2;

struct CompileRequest {
  std::string model, output;
  Profile profile;
  /// Pass pipeline: -p, else the profile's compile_pipeline (an ONNX input written as .onnx: the
  /// ONNX clean-up pipeline). The caller picks the text, since lib/ names no pass.
  std::string pipeline;
  bool pipeline_from_profile = false;  ///< an invalid pipeline is then the profile file's fault (exit 4)
  bool specialize = false;             ///< append specialize-input-shape for `input_shape`
  std::string input_shape;             ///< --input-shape (an ONNX graph's own when not given)
  bool data_from_file = false;         ///< --data was given
  bool has_data = false;               ///< --data or --input-shape: compile cannot run without one
  std::function<Dataset()> load_data;  ///< called once, after the pipeline is validated
  bool keep_if_faster = false;
  double tolerance = 0.02;  ///< slowdown a pass may cause before keep-if-faster drops it
  ComparisonSettings comparison;
  bool use_profile_engine = false;  ///< no --engine: the profile's quantized engine, set before the model loads
  int threads = 0;                  ///< with use_profile_engine: intra-op threads (0 = LibTorch's default)
};

struct CompileOutcome {
  std::string requested_pipeline;                      ///< what was asked for, after specialize and the .onnx drops
  std::string kept_pipeline;                           ///< "" = every pass dropped (or an ONNX input written unchanged)
  nlohmann::json decisions = nlohmann::json::array();  ///< keep-if-faster: one per step
  nlohmann::json comparison;                           ///< compare_models() of the input and the written file
  bool input_written = false;                          ///< the written file is the input (every pass dropped, or slower)
  bool onnx_input = false, onnx_output = false, lite = false, on_host = true;
  int64_t rewrites = 0;                                ///< ONNX in and out: rewrites of the clean-up passes
  int nodes_before = 0, nodes_after = 0;               ///< ONNX in and out: graph nodes
  nlohmann::json compiled_graph;                       ///< ONNX in and out: the candidate graph's figures
  /// ONNX in and out: the graph stayed ONNX, cleaned up and timed in ONNX Runtime.
  bool onnx_in_onnx_out() const { return onnx_input && onnx_output; }
};

/// Compiles `request.model` into `request.output` and fills `report` (inputs, outputs, pipeline,
/// metrics and details["compile"]). Never writes a file slower than an ONNX input in ONNX Runtime.
CompileOutcome run_compile(const CompileRequest& request, const PassRegistry& registry, Report& report);

}  // namespace mopt::compile

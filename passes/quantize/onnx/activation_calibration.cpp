#include "passes/quantize/onnx/activation_calibration.h"

#include <fmt/format.h>
#include <onnx/shape_inference/implementation.h>

#include <map>
#include <set>

#include "lib/data/dataset.h"
#include "lib/errors.h"
#include "lib/measure/memory.h"
#include "lib/onnx/import/onnx_importer.h"

namespace mopt::onnx_quant {
namespace {

// The model with every watched tensor also declared as a graph output, with the type shape
// inference gives it: ONNX's inference does not fill in a graph output's shape, and an importer
// converter may need the rank (Resize by run-time sizes).
onnx::ModelProto with_watched_outputs(const onnx::ModelProto& model, const std::vector<std::string>& tensors) {
  onnx::ModelProto copy = model;
  auto& graph = *copy.mutable_graph();
  try {
    onnx::shape_inference::InferShapes(copy);
  } catch (const std::exception&) {
    // The importer's strict inference below reports what is wrong.
  }
  std::map<std::string, const onnx::TypeProto*> inferred;
  for (const auto& info : graph.value_info()) inferred[info.name()] = &info.type();
  std::set<std::string> already;
  for (const auto& o : graph.output()) already.insert(o.name());
  for (const auto& name : tensors) {
    if (already.count(name)) continue;
    auto* out = graph.add_output();
    out->set_name(name);
    if (inferred.count(name)) *out->mutable_type() = *inferred[name];
    else out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  return copy;
}

}  // namespace

void run_watched(const onnx::ModelProto& model, const std::vector<std::string>& tensors, const std::vector<torch::Tensor>& inputs,
                 int64_t batch, const std::function<void(size_t, const torch::Tensor&)>& observe,
                 const std::function<void(int64_t, int64_t)>& progress) {
  if (inputs.empty() || !inputs.front().defined() || row_count(inputs) == 0) throw invalid_input("the calibration data is empty");
  auto watched = with_watched_outputs(model, tensors);
  auto imported = import_onnx(watched);
  std::map<std::string, int> output_index;
  for (int i = 0; i < watched.graph().output_size(); ++i) output_index[watched.graph().output(i).name()] = i;
  torch::NoGradGuard no_grad;
  const int64_t n = row_count(inputs);
  for (int64_t start = 0; start < n; start += batch) {
    std::vector<torch::IValue> chunk;
    for (const auto& input : slice_rows(inputs, start, start + batch)) chunk.emplace_back(input);
    torch::IValue out;
    try {
      out = imported.module.forward(chunk);
    } catch (const std::exception& e) {  // c10::Error, or the interpreter's wrapped runtime_error
      std::string reason = e.what();
      reason = reason.substr(0, reason.find('\n'));
      throw invalid_input(fmt::format("the model cannot run on the calibration data (batch shape {}): {}",
                                      fmt::join(chunk.front().toTensor().sizes(), "x"), reason));
    }
    std::vector<torch::IValue> values = out.isTuple() ? out.toTupleRef().elements().vec() : std::vector<torch::IValue>{out};
    for (size_t i = 0; i < tensors.size(); ++i) observe(i, values.at(output_index.at(tensors[i])).toTensor());
    progress(std::min(n, start + batch), n);
  }
}

CalibrationResult calibrate_tensors(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                    const std::vector<torch::Tensor>& inputs, const std::string& calibrator,
                                    const CalibratorOptions& options, int64_t batch,
                                    const std::function<void(const std::string&)>& log, const std::vector<std::string>& also) {
  std::vector<std::string> names{calibrator};
  names.insert(names.end(), also.begin(), also.end());
  // calibrators[k][i]: calibrator names[k] watching tensors[i]
  std::vector<std::vector<std::unique_ptr<Calibrator>>> calibrators(names.size());
  for (size_t k = 0; k < names.size(); ++k) {
    for (size_t i = 0; i < tensors.size(); ++i) calibrators[k].push_back(make_calibrator(names[k], options));
  }
  run_watched(model, tensors, inputs, batch,
              [&](size_t i, const torch::Tensor& t) {
                for (auto& per_tensor : calibrators) per_tensor[i]->observe(t);
              },
              [&](int64_t done, int64_t n) { log(fmt::format("calibration: {}/{} samples", done, n)); });
  const int64_t n = row_count(inputs);
  CalibrationResult result;
  result.samples = n;
  for (size_t k = 0; k < names.size(); ++k) {
    auto& ranges = k == 0 ? result.ranges : result.alternatives[names[k]];
    for (size_t i = 0; i < tensors.size(); ++i) {
      try {
        ranges[tensors[i]] = calibrators[k][i]->range();
      } catch (const Error&) {
        throw invalid_input(fmt::format("calibration saw no finite value for tensor '{}'; check the data for NaN", tensors[i]));
      }
    }
  }
  result.peak_rss_mb = peak_rss_mb();
  return result;
}

}  // namespace mopt::onnx_quant

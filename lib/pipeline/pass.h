#pragma once
// The Pass contract (docs/design.md): Model in, Model out, plus stats. A pattern that does not match is
// a silent no-op. Each pass declares its name, summary, formats and typed options.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// Types a pass option can take; values are validated when a pipeline is parsed.
enum class OptionType { kBool, kInt, kFloat, kString };

/// "bool", "int", "float" or "string".
std::string option_type_name(OptionType type);

/// One declared option: kebab-case key, type, default (as text) and a help line.
struct OptionSpec {
  std::string name;
  OptionType type;
  std::string default_value;
  std::string help;
};

/// What a pass declares about itself; shown by `mopt passes`.
struct PassInfo {
  std::string name;      ///< kebab-case, unique
  std::string summary;   ///< one line
  std::vector<ModelFormat> formats;
  std::vector<OptionSpec> options;
  /// Chooses LibTorch kernels or layouts (channels-last, oneDNN, ...): meaningless, and not
  /// exportable, for a file ONNX Runtime will run, so compile drops it for .onnx output.
  bool libtorch_runtime_only = false;
  /// Reads calibration inputs from the PassContext (static quantization): a pipeline holding it
  /// runs only where the caller has calibration data (`mopt quantize --calib`, `mopt optimize --calib`).
  bool needs_calibration = false;

  bool supports(ModelFormat format) const;
  const OptionSpec* find_option(const std::string& key) const;
};

/// Option values for one invocation: explicit values over declared defaults, already type-checked.
class PassOptions {
 public:
  PassOptions() = default;
  PassOptions(const PassInfo& info, const std::map<std::string, std::string>& explicit_values);

  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  std::string get_string(const std::string& key) const;

 private:
  const std::string& raw(const std::string& key) const;
  std::map<std::string, std::string> values_;
};

/// What one pass run did. `rewrites` counts matched-and-rewritten sites; details are pass-specific.
struct PassStats {
  int64_t rewrites = 0;
  nlohmann::json details = nlohmann::json::object();
};

struct Dataset;

/// What a run offers a pass beyond its options: data, where progress lines go, and what an
/// accuracy-fallback loop (lib/quantize) asks of a quantization pass from one trial to the next.
struct PassContext {
  const Dataset* calibration = nullptr;  ///< calibration inputs (PassInfo::needs_calibration); may be null otherwise
  const Dataset* evaluation = nullptr;   ///< inputs a pass may measure its own per-layer error on (may be null)
  std::function<void(const std::string&)> log;  ///< progress lines of long passes (may be empty)
  /// Exact layer (TorchScript module path) or node names a quantization pass keeps in fp32, besides
  /// its `skip` globs, each with the reason the report gives (the accuracy fallback returned it, or
  /// ONNX Runtime ran it slower in INT8).
  std::map<std::string, std::string> keep_fp32;
  /// State a pass may keep between the runs of one workflow (the QDQ pass's calibrated ranges, so
  /// fallback trials calibrate each tensor once); null when nothing is kept.
  nlohmann::json* memo = nullptr;
};

/// A model transformation. run() mutates the given model (the pass manager hands it a clone).
class Pass {
 public:
  virtual ~Pass() = default;
  virtual const PassInfo& info() const = 0;
  virtual PassStats run(Model& model, const PassOptions& options, const PassContext& context) const = 0;
};

/// Checks `text` parses as `type`; returns an error message, or empty when valid.
std::string validate_option_value(OptionType type, const std::string& text);

}  // namespace mopt

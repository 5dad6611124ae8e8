#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>

#include "lib/model/model.h"

namespace mopt {

/// The model as its file holds it (an ONNX file stays ONNX, not imported), or an AOTInductor package.
Model load_for_inspection(const std::filesystem::path& path);

/// What `mopt inspect` shows: format, inputs/outputs, parameters, op histogram, per-layer table.
/// Fields: format, file_bytes, parameters, parameter_bytes, inputs[], outputs[] ({name, dtype,
/// shape}; shape null when unknown), op_histogram {kind: count}, layers[] ({name, kind,
/// parameters, shape}); for an AOTInductor package also `package` (its build metadata).
nlohmann::json summarize_model(const Model& model, const std::filesystem::path& path);

}  // namespace mopt

#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>

#include "lib/model/model.h"

namespace mopt {

/// What `mopt inspect` shows: format, inputs/outputs, parameters, op histogram, per-layer table.
/// Fields: format, file_bytes, parameters, parameter_bytes, inputs[], outputs[] ({name, dtype,
/// shape}; shape null when unknown), op_histogram {kind: count}, layers[] ({name, kind,
/// parameters, shape}).
nlohmann::json summarize_model(const Model& model, const std::filesystem::path& path);

}  // namespace mopt

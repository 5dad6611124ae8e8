#pragma once
// The one JSON report every subcommand writes with --report (schema: lib/report/report.schema.json).
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/measure/cpu_info.h"
#include "lib/model/model.h"
#include "lib/pipeline/pass_manager.h"

namespace mopt {

/// Version of the report schema; bump on incompatible changes.
inline constexpr const char* kReportSchemaVersion = "1.0";

/// Builds a report document; sections are filled as the run goes.
class Report {
 public:
  Report(std::string command, std::vector<std::string> argv);

  /// Records an input or output artifact (path, format, bytes, sha256, parameters).
  void add_input(const std::filesystem::path& path, const Model* model = nullptr);
  void add_output(const std::filesystem::path& path, const Model* model = nullptr);
  /// Records the pipeline text and what each pass did.
  void set_pipeline(const std::string& text, const std::vector<PassRecord>& records);
  /// Metrics before/after an optimization, or a single measurement (`metrics.before` etc.).
  nlohmann::json& metrics() { return doc_["metrics"]; }
  const nlohmann::json& metrics() const { return doc_.at("metrics"); }
  /// Command-specific content (e.g. `inspect`'s model summary).
  nlohmann::json& details() { return doc_["details"]; }
  /// Appends a gate verdict; any failed gate makes the verdict "fail".
  void add_gate(const std::string& name, const std::string& expression, bool passed, const nlohmann::json& value,
                const std::string& detail = "");
  /// Gate verdicts so far.
  const nlohmann::json& gates() const { return doc_["gates"]; }
  /// Marks the run as failed with the error's exit code and message.
  void set_error(int exit_code, const std::string& message);

  /// Stamps the finish time, the environment (threads/engine as they are now) and the verdict,
  /// and writes the report atomically.
  void write(const std::filesystem::path& path);
  /// The document as it would be written (finalised).
  const nlohmann::json& finalize();
  /// Cores other processes kept busy since the report was started (see ForeignLoadMeter).
  double foreign_load_cores() const { return foreign_load_.foreign_cores(); }

 private:
  nlohmann::json doc_;
  std::chrono::system_clock::time_point started_;
  std::chrono::steady_clock::time_point started_steady_;
  ForeignLoadMeter foreign_load_;
};

/// Artifact description: path, format, bytes, sha256, parameter count and bytes (when loadable).
nlohmann::json describe_artifact(const std::filesystem::path& path, const Model* model);

/// Environment fingerprint: CPU, ISA features, cores, threads, library versions, engine.
nlohmann::json environment_fingerprint();

/// Versions mopt was built with: mopt, LibTorch, ONNX, protobuf.
nlohmann::json build_versions();

/// Hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace mopt

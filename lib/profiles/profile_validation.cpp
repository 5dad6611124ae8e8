// Profile validation: profiles/profile.schema.json (lib/util/json_schema: valijson, errors with the
// field and its line), then the checks the schema cannot express.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "lib/errors.h"
#include "lib/pipeline/pipeline.h"
#include "lib/profiles/profile.h"
#include "lib/util/json_schema.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt {
namespace {

constexpr const char* kSchemaFile = "profile.schema.json";

std::string format_error(const JsonFieldError& error, const json& doc, const std::string& text) {
  return format_field_error(error, doc, text, "(profile)");
}

// What the schema cannot express; only run on a document the schema accepted.
std::vector<JsonFieldError> semantic_errors(const json& doc) {
  std::vector<JsonFieldError> errors;
  int cores = doc["cores"].get<int>(), threads = doc["threads"].get<int>();
  if (threads > cores) errors.push_back({{"threads"}, fmt::format("must be at most cores ({}), not {}", cores, threads)});
  std::string arch = doc["architecture"].get<std::string>();
  const std::string engine = doc["quantized_engine"].get<std::string>();
  if (engine != "qnnpack" && arch != "x86_64") {
    errors.push_back({{"quantized_engine"}, fmt::format("{} runs only on x86_64; use qnnpack on {}", engine, arch)});
  }
  const json& budgets = doc["budgets"];
  if (budgets.value("latency_p50_ms", json()).is_number() && budgets.value("latency_p95_ms", json()).is_number() &&
      budgets["latency_p95_ms"].get<double>() < budgets["latency_p50_ms"].get<double>()) {
    errors.push_back({{"budgets", "latency_p95_ms"},
                      fmt::format("must be >= latency_p50_ms ({}), not {}", budgets["latency_p50_ms"].dump(),
                                  budgets["latency_p95_ms"].dump())});
  }
  // A GPU artifact is TorchScript run by LibTorch's CUDA, which the CPU-only passes do not target.
  if (doc.value("device", "cpu") == "cuda") {
    if (doc["artifact_format"] != "pt") {
      errors.push_back({{"artifact_format"}, fmt::format("a cuda profile deploys TorchScript (pt), not {}", doc["artifact_format"].dump())});
    }
    const std::string pipeline = doc["compile_pipeline"].get<std::string>();
    for (const char* cpu_only : {"optimize-for-inference", "optimize-for-mobile", "prepack-lstm"}) {
      if (pipeline.find(cpu_only) != std::string::npos) {
        errors.push_back({{"compile_pipeline"}, fmt::format("{} rewrites for the CPU (oneDNN, XNNPACK); a cuda profile's "
                                                            "pipeline cannot use it", cpu_only)});
      }
    }
  }
  try {
    parse_pipeline(doc["compile_pipeline"].get<std::string>());
  } catch (const Error& e) {
    errors.push_back({{"compile_pipeline"}, e.what()});
  }
  return errors;
}


// The schema from the first search directory that has it, so a $MOPT_PROFILES_DIR holding only
// profiles still validates against the shipped schema.
const JsonSchema& profile_schema() {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<JsonSchema>> cache;
  fs::path path;
  for (const auto& dir : profile_search_dirs()) {
    if (fs::is_regular_file(dir / kSchemaFile)) {
      path = dir / kSchemaFile;
      break;
    }
  }
  if (path.empty()) throw runtime_failure(fmt::format("{} not found next to the profiles; reinstall mopt", kSchemaFile));
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[path.string()];
  if (!slot) {
    json document;
    try {
      document = json::parse(read_profile_text(path));
    } catch (const std::exception& e) {
      throw runtime_failure(fmt::format("profile schema {} is broken: {}", path.string(), e.what()));
    }
    slot = std::make_unique<JsonSchema>(std::move(document), "profile schema " + path.string());
  }
  return *slot;
}

}  // namespace

int field_line(const std::string& text, const std::string& pointer) { return json_field_line(text, pointer); }

std::vector<std::string> validate_profile_file(const fs::path& path) {
  const std::string text = read_profile_text(path);
  json doc;
  auto errors = schema_errors(text, profile_schema(), "(profile)", &doc);
  if (!errors.empty() || doc.is_null()) return errors;
  for (const auto& e : semantic_errors(doc)) errors.push_back(format_error(e, doc, text));
  return errors;
}

}  // namespace mopt

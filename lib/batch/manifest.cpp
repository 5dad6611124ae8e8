#include "lib/batch/manifest.h"

#include <fmt/format.h>
#include <glob.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "lib/batch/manifest_schema.h"
#include "lib/errors.h"
#include "lib/report/report.h"
#include "lib/util/json_schema.h"
#include "lib/util/yaml_to_json.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt::batch {
namespace {

constexpr const char* kRoot = "(manifest)";
// Set by batch itself, or named by the job's own fields; a manifest that sets them is mistaken.
const std::map<std::string, std::string> kReservedFlags = {
    {"report", "batch writes each job's report into its job folder"},
    {"output", "use the job's \"output\" field"},
    {"o", "use the job's \"output\" field"},
    {"student", "a distill job's \"model\" is the student"}};

const JsonSchema& manifest_schema() {
  static const JsonSchema schema(json::parse(kManifestSchemaText), "the compiled-in manifest schema");
  return schema;
}

// Job settings with the defaults under them; flags merge per flag, a job's null drops a default.
json merged_settings(const json& doc, size_t index) {
  json merged = doc.value("defaults", json::object());
  const json& job = doc["jobs"][index];
  for (const auto& item : job.items()) {
    if (item.key() == "flags") continue;
    merged[item.key()] = item.value();
  }
  json flags = merged.value("flags", json::object());
  if (job.contains("flags")) {
    for (const auto& item : job["flags"].items()) flags[item.key()] = item.value();
  }
  for (auto it = flags.begin(); it != flags.end();) {
    if (it->is_null()) it = flags.erase(it);
    else ++it;
  }
  merged["flags"] = flags;
  return merged;
}

// Where a merged setting was written: in the job, else in defaults.
std::vector<std::string> setting_tokens(const json& doc, size_t index, const std::string& key, const std::string& flag = "") {
  const json& job = doc["jobs"][index];
  bool in_job = flag.empty() ? job.contains(key) : (job.contains("flags") && job["flags"].contains(flag));
  std::vector<std::string> tokens;
  if (in_job) tokens = {"jobs", std::to_string(index), key};
  else tokens = {"defaults", key};
  if (!flag.empty()) tokens.push_back(flag);
  return tokens;
}

std::vector<JsonFieldError> consistency_errors(const json& doc) {
  std::vector<JsonFieldError> errors;
  for (size_t i = 0; i < doc["jobs"].size(); ++i) {
    json s = merged_settings(doc, i);
    const std::vector<std::string> job = {"jobs", std::to_string(i)};
    if (!s.contains("model")) errors.push_back({job, "\"model\" is missing (in the job and in defaults)"});
    if (!s.contains("command")) errors.push_back({job, "\"command\" is missing (in the job and in defaults)"});
    const std::string command = s.value("command", "");
    if (command == "bench" && doc["jobs"][i].contains("output")) {  // a default output is for the other jobs
      errors.push_back({{"jobs", std::to_string(i), "output"}, "bench writes no artifact; drop \"output\" (its report is kept)"});
    } else if (!command.empty() && command != "bench" && !s.contains("output")) {
      errors.push_back({job, fmt::format("\"output\" is missing (in the job and in defaults): {} writes an artifact", command)});
    }
    for (const auto& flag : s["flags"].items()) {
      auto reserved = kReservedFlags.find(flag.key());
      if (reserved != kReservedFlags.end() && (flag.key() != "student" || command == "distill")) {
        errors.push_back({setting_tokens(doc, i, "flags", flag.key()), "reserved: " + reserved->second});
      }
    }
  }
  return errors;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid_input(fmt::format("cannot read manifest '{}'", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool has_glob(const std::string& text) { return text.find_first_of("*?[") != std::string::npos; }

std::vector<fs::path> glob_paths(const std::string& pattern) {
  glob_t matches{};
  std::vector<fs::path> out;
  if (::glob(pattern.c_str(), 0, nullptr, &matches) == 0) {  // glob(3) sorts its matches
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      if (fs::is_regular_file(matches.gl_pathv[i])) out.emplace_back(matches.gl_pathv[i]);
    }
  }
  globfree(&matches);
  return out;
}

std::string file_name_safe(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out;
}

std::string scalar_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();  // numbers as JSON writes them (1, 0.5, 1e-05)
}

[[noreturn]] void fail_at(const std::vector<std::string>& tokens, const std::string& message, const json& doc,
                          const std::string& text) {
  throw invalid_input("invalid manifest: " + format_field_error({tokens, message}, doc, text, kRoot));
}

}  // namespace

const char* manifest_schema_text() { return kManifestSchemaText; }

std::string expand_template(const std::string& pattern, const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if ((c == '{' || c == '}') && i + 1 < pattern.size() && pattern[i + 1] == c) {
      out += c;
      ++i;
    } else if (c == '{') {
      auto end = pattern.find('}', i);
      if (end == std::string::npos) throw invalid_input(fmt::format("unclosed '{{' in '{}'", pattern));
      std::string name = pattern.substr(i + 1, end - i - 1);
      auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == name; });
      if (it == vars.end()) {
        std::vector<std::string> known;
        for (const auto& v : vars) known.push_back("{" + v.first + "}");
        throw invalid_input(fmt::format("unknown variable {{{}}} in '{}'; known: {}", name, pattern, fmt::join(known, " ")));
      }
      out += it->second;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::string> flag_arguments(const json& flags) {
  std::vector<std::string> args;
  for (const auto& item : flags.items()) {  // nlohmann::json orders keys: the same flags give the same argv
    const std::string flag = "--" + item.key();
    const json& value = item.value();
    if (value.is_boolean()) {
      if (value.get<bool>()) args.push_back(flag);
    } else if (value.is_array()) {
      for (const auto& element : value) {
        args.push_back(flag);
        args.push_back(scalar_text(element));
      }
    } else if (!value.is_null()) {
      args.push_back(flag);
      args.push_back(scalar_text(value));
    }
  }
  return args;
}

std::vector<std::string> validate_manifest_text(const std::string& text) {
  json doc;
  auto errors = schema_errors(text, manifest_schema(), kRoot, &doc);
  if (!errors.empty() || doc.is_null()) return errors;
  for (const auto& e : consistency_errors(doc)) errors.push_back(format_field_error(e, doc, text, kRoot));
  return errors;
}

std::vector<JobSpec> expand_jobs(const json& doc, const std::string& text, const fs::path& base_dir) {
  std::vector<JobSpec> jobs;
  std::map<std::string, std::vector<std::string>> id_sources;
  std::map<fs::path, std::string> output_owner;  // two jobs writing one file would undo each other's done records
  for (size_t i = 0; i < doc["jobs"].size(); ++i) {
    json s = merged_settings(doc, i);
    const std::string model_text = s["model"].get<std::string>();
    fs::path model_pattern = fs::path(model_text).is_absolute() ? fs::path(model_text) : base_dir / model_text;
    std::vector<fs::path> models;
    if (has_glob(model_text)) {
      models = glob_paths(model_pattern.string());
      if (models.empty()) fail_at(setting_tokens(doc, i, "model"), fmt::format("'{}' matches no file", model_text), doc, text);
    } else {
      models = {model_pattern.lexically_normal()};  // a missing file is the job's failure (exit 4), not the manifest's
    }
    for (const auto& model : models) {
      JobSpec job;
      job.position = jobs.size();
      job.command = s["command"].get<std::string>();
      job.model = model;
      job.flags = s["flags"];
      job.threads_given = job.flags.contains("threads");
      job.timeout_s = s.value("timeout_s", 0.0);
      std::string ext = model.extension().string();
      std::vector<std::pair<std::string, std::string>> vars = {
          {"stem", model.stem().string()},
          {"ext", ext.empty() ? "" : ext.substr(1)},
          {"dir", model.parent_path().string()},
          {"command", job.command},
          {"profile", job.flags.contains("profile") ? scalar_text(job.flags["profile"]) : "default"},
          {"index", std::to_string(job.position)}};
      try {
        job.id = file_name_safe(expand_template(s.value("name", "{stem}-{command}"), vars));
      } catch (const Error& e) {
        fail_at(setting_tokens(doc, i, "name"), e.what(), doc, text);
      }
      vars.emplace_back("name", job.id);
      if (s.contains("output") && job.command != "bench") {
        try {
          fs::path output = expand_template(s["output"].get<std::string>(), vars);
          job.output = (output.is_absolute() ? output : base_dir / output).lexically_normal();
        } catch (const Error& e) {
          fail_at(setting_tokens(doc, i, "output"), e.what(), doc, text);
        }
      }
      auto& sources = id_sources[job.id];
      sources.push_back(fmt::format("jobs[{}]", i));
      if (sources.size() > 1) {
        fail_at(setting_tokens(doc, i, "name"),
                fmt::format("job id '{}' is also produced by {}; give each job a \"name\" (e.g. \"{{stem}}-{}\")", job.id,
                            sources.front(), job.command),
                doc, text);
      }
      if (!job.output.empty()) {
        auto [owner, fresh] = output_owner.emplace(job.output, job.id);
        if (!fresh) {
          fail_at(setting_tokens(doc, i, "output"),
                  fmt::format("job '{}' writes '{}', which job '{}' writes too; put {{stem}} or {{name}} in the template", job.id,
                              job.output.string(), owner->second),
                  doc, text);
        }
      }
      // The child's arguments: mopt COMMAND MODEL [-o OUTPUT] FLAGS... (distill: --student MODEL).
      job.args = {job.command};
      if (job.command == "distill") job.args.push_back("--student");
      job.args.push_back(job.model.string());
      if (!job.output.empty()) {
        job.args.push_back("-o");
        job.args.push_back(job.output.string());
      }
      for (auto& arg : flag_arguments(job.flags)) job.args.push_back(std::move(arg));
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

Manifest load_manifest(const fs::path& path) {
  Manifest manifest;
  std::error_code ec;
  manifest.path = fs::absolute(path, ec).lexically_normal();
  manifest.base_dir = manifest.path.parent_path();
  // A YAML manifest becomes JSON text with every value on its YAML line: errors name YAML lines.
  std::string text = read_text(manifest.path);
  if (is_yaml_path(manifest.path.string())) {
    std::string yaml_error;
    auto converted = yaml_to_json_text(text, kRoot, yaml_error);
    if (!converted) throw invalid_input(fmt::format("invalid manifest {}:\n  {}", path.string(), yaml_error));
    text = std::move(*converted);
  }
  auto errors = validate_manifest_text(text);
  if (!errors.empty()) {
    throw invalid_input(fmt::format("invalid manifest {}:\n  {}", path.string(), fmt::join(errors, "\n  ")));
  }
  manifest.sha256 = sha256_file(manifest.path);
  try {
    manifest.jobs = expand_jobs(json::parse(text), text, manifest.base_dir);
  } catch (const Error& e) {
    // expand_jobs knows fields and lines, not the file; users need both, as validation gives them.
    if (e.code() != ExitCode::kInvalidInput) throw;
    std::string message = e.what();
    const std::string prefix = "invalid manifest: ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    throw invalid_input(fmt::format("invalid manifest {}: {}", path.string(), message));
  }
  return manifest;
}

}  // namespace mopt::batch

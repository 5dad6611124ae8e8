#pragma once
// `mopt batch` manifests: a JSON file (schema lib/batch/manifest.schema.json, compiled into mopt)
// listing jobs, each a model (path or glob), a command with its flags and an output template, with
// top-level defaults a job can override. Loading validates, applies defaults, expands globs and
// templates, and yields one JobSpec per job in a deterministic order.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace mopt::batch {

/// One job, defaults applied and model glob and output template expanded.
struct JobSpec {
  size_t position = 0;            ///< index in the expanded manifest (shards and reports use it)
  std::string id;                 ///< unique, file-name safe: names the job's folder, row and JUnit case
  std::string command;            ///< quantize, prune, compile, optimize, bench or distill
  std::filesystem::path model;    ///< absolute
  std::filesystem::path output;   ///< absolute; empty for bench (it writes no artifact)
  nlohmann::json flags;           ///< flag name -> value, defaults merged, nulls dropped
  std::vector<std::string> args;  ///< the child's argv after `mopt`, without --report/--threads (added at run time)
  bool threads_given = false;     ///< the manifest sets --threads itself
  double timeout_s = 0;           ///< 0 = no limit
};

/// A loaded manifest.
struct Manifest {
  std::filesystem::path path;      ///< absolute
  std::filesystem::path base_dir;  ///< relative paths resolve here, and every job runs here
  std::string sha256;              ///< of the file's bytes (merge checks shards share it)
  std::vector<JobSpec> jobs;       ///< manifest order; a glob's matches sorted by path
};

/// Schema and consistency errors of manifest text as "field: message (line N)"; empty when valid.
/// Globs are not expanded here (see load_manifest).
std::vector<std::string> validate_manifest_text(const std::string& text);

/// Parses, validates and expands the manifest at `path`. Unreadable or invalid manifest, a glob
/// that matches nothing, an unknown template variable or two jobs with one id -> invalid_input
/// (exit 4) naming the field and its line.
Manifest load_manifest(const std::filesystem::path& path);

/// Expands a manifest document already validated (`text` gives line numbers for errors).
std::vector<JobSpec> expand_jobs(const nlohmann::json& doc, const std::string& text, const std::filesystem::path& base_dir);

/// Substitutes {stem} {ext} {dir} {name} {command} {profile} {index} in `pattern`; an unknown
/// or unclosed variable -> invalid_input naming it ("{{" and "}}" write literal braces).
std::string expand_template(const std::string& pattern, const std::vector<std::pair<std::string, std::string>>& vars);

/// Flag object -> argv: "x": "v" -> --x v; true -> --x; false/null -> nothing; [a, b] -> --x a --x b.
std::vector<std::string> flag_arguments(const nlohmann::json& flags);

/// The manifest schema's text.
const char* manifest_schema_text();

}  // namespace mopt::batch

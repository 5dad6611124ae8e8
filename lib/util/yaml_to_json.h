#pragma once
// YAML files users write (batch manifests) go through the same JSON validation as JSON files: the
// YAML is rewritten as JSON text in which every key and value sits on its YAML line, so schema
// errors name the field and the line of the file the user wrote.
#include <optional>
#include <string>

namespace mopt {

/// JSON text equal to the YAML document `yaml` (YAML 1.2 core scalars: null, true/false, ints,
/// floats, else strings; quoted scalars are strings), each value on its line in `yaml`. On a YAML
/// error sets `error` to "ROOT: not valid YAML: ... (line N)" and returns nullopt.
std::optional<std::string> yaml_to_json_text(const std::string& yaml, const std::string& root_name, std::string& error);

/// True for paths ending in .yaml or .yml.
bool is_yaml_path(const std::string& path);

}  // namespace mopt

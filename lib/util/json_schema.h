#pragma once
// JSON files users write (device profiles, batch manifests): validation against a JSON schema with
// valijson, errors reworded as "field: message (line N)" in the file's own terms.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace valijson {
class Schema;
}

namespace mopt {

/// One problem at a field, as path tokens ("budgets", "batch") and what is wrong there.
struct JsonFieldError {
  std::vector<std::string> tokens;
  std::string message;
};

/// A compiled JSON schema (draft 7, as valijson supports it).
class JsonSchema {
 public:
  /// Compiles `document`; a broken schema -> runtime_failure naming `what`.
  JsonSchema(nlohmann::json document, const std::string& what);
  ~JsonSchema();
  /// Every violation in `doc`, reworded; the summary errors valijson adds on enclosing objects are dropped.
  std::vector<JsonFieldError> validate(const nlohmann::json& doc) const;
  const nlohmann::json& document() const { return document_; }

 private:
  nlohmann::json document_;
  std::unique_ptr<valijson::Schema> compiled_;
};

/// Parses `text`; on a syntax error sets `error` to "ROOT: not valid JSON: ... (line N)" and returns nullopt.
std::optional<nlohmann::json> parse_json_located(const std::string& text, const std::string& root_name, std::string& error);

/// "field.sub[2]: message (line N)"; `root_name` names the whole document (e.g. "(profile)").
std::string format_field_error(const JsonFieldError& error, const nlohmann::json& doc, const std::string& text,
                               const std::string& root_name);

/// Validates `text` (syntax, then schema) and returns the errors formatted as above; empty when valid.
std::vector<std::string> schema_errors(const std::string& text, const JsonSchema& schema, const std::string& root_name,
                                       nlohmann::json* parsed = nullptr);

/// 1-based line in JSON `text` where the value at JSON pointer `pointer` (e.g. "/budgets/batch") is
/// written; for an absent member, the line of the nearest enclosing value that is present.
int json_field_line(const std::string& text, const std::string& pointer);

/// JSON pointer of path tokens ("jobs", "2", "model" -> "/jobs/2/model").
std::string json_pointer_of(const std::vector<std::string>& tokens);

}  // namespace mopt

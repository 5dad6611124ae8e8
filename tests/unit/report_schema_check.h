#pragma once
// Validates a report against the shipped schema (lib/report/report.schema.json) with valijson.
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace mopt::test {

/// Empty string when `doc` validates, else the validator's messages, one per line.
inline std::string report_schema_errors(const nlohmann::json& doc) {
  static const nlohmann::json schema_doc = [] {
    std::ifstream in(std::filesystem::path(MOPT_SOURCE_DIR) / "lib/report/report.schema.json");
    return nlohmann::json::parse(in);
  }();
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (validator.validate(schema, target, &results)) return "";
  std::string text;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    for (const auto& part : error.context) text += part;
    text += ": " + error.description + "\n";
  }
  return text;
}

}  // namespace mopt::test

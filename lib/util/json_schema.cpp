// Schema validation shared by every JSON file users write: valijson does the checking; this file
// rewords its errors in the document's terms and finds the line each field is on.
#include "lib/util/json_schema.h"

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "lib/errors.h"

using nlohmann::json;

namespace mopt {
namespace {

std::string escape_token(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

// nlohmann::json keeps no source positions, so a small scanner over the (already parsed, hence
// well-formed) text records the line where each value's key, or the value itself, is written.
class LineIndex {
 public:
  explicit LineIndex(const std::string& text) : text_(text) {
    skip_space();
    if (pos_ < text_.size()) value("");
  }
  const std::map<std::string, int>& lines() const { return lines_; }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }
  std::string string_token() {
    std::string out;
    ++pos_;  // opening quote
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;  // keeps the escaped character
      out += text_[pos_++];
    }
    ++pos_;  // closing quote
    return out;
  }
  void value(const std::string& pointer) {
    skip_space();
    lines_.emplace(pointer, line_);  // a member's key line was recorded first and wins
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '{' || c == '[') {
      ++pos_;
      for (size_t index = 0;; ++index) {
        skip_space();
        if (pos_ >= text_.size()) return;
        if (text_[pos_] == '}' || text_[pos_] == ']') {
          ++pos_;
          return;
        }
        if (text_[pos_] == ',') {
          ++pos_;
          skip_space();
        }
        if (c == '{') {
          int key_line = line_;
          std::string child = pointer + "/" + escape_token(string_token());
          skip_space();
          ++pos_;  // ':'
          lines_.emplace(child, key_line);
          value(child);
        } else {
          value(pointer + "/" + std::to_string(index));
        }
      }
    } else if (c == '"') {
      string_token();
    } else {
      while (pos_ < text_.size() && !std::strchr(",]} \t\r\n", text_[pos_])) ++pos_;
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
  int line_ = 1;
  std::map<std::string, int> lines_;
};

// "budgets/latency_p50_ms" -> "budgets.latency_p50_ms"; array indices read "isa_features[1]".
std::string display_field(const std::vector<std::string>& tokens, const json& doc, const std::string& root_name) {
  std::string out;
  const json* node = &doc;
  for (const auto& token : tokens) {
    if (node && node->is_array()) {
      out += "[" + token + "]";
      size_t index = std::strtoul(token.c_str(), nullptr, 10);
      node = index < node->size() ? &(*node)[index] : nullptr;
    } else {
      out += (out.empty() ? "" : ".") + token;
      node = (node && node->is_object() && node->contains(token)) ? &(*node)[token] : nullptr;
    }
  }
  return out.empty() ? root_name : out;
}

std::string pointer_of(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& token : tokens) out += "/" + escape_token(token);
  return out;
}

std::string short_value(const json& value) {
  std::string text = value.dump();
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

// A local "$ref" ("#/definitions/NAME") replaced by the definition it points to.
const json* resolve_ref(const json& schema, const json* node) {
  while (node && node->contains("$ref") && (*node)["$ref"].is_string()) {
    const std::string ref = (*node)["$ref"].get<std::string>();
    const std::string prefix = "#/definitions/";
    if (ref.rfind(prefix, 0) != 0 || !schema.contains("definitions")) return node;
    const json& definitions = schema["definitions"];
    const std::string name = ref.substr(prefix.size());
    node = definitions.contains(name) ? &definitions[name] : nullptr;
  }
  return node;
}

// The schema node that describes the value at `tokens`, or null when the schema does not say.
const json* schema_node(const json& schema, const std::vector<std::string>& tokens, const json& doc) {
  const json* node = &schema;
  const json* value = &doc;
  for (const auto& token : tokens) {
    node = resolve_ref(schema, node);
    if (!node) return nullptr;
    if (value && value->is_array()) {
      node = node->contains("items") ? &(*node)["items"] : nullptr;
      size_t index = std::strtoul(token.c_str(), nullptr, 10);
      value = index < value->size() ? &(*value)[index] : nullptr;
    } else {
      if (node->contains("properties") && (*node)["properties"].contains(token)) node = &(*node)["properties"][token];
      else if (node->contains("additionalProperties") && (*node)["additionalProperties"].is_object()) node = &(*node)["additionalProperties"];
      else node = nullptr;
      value = (value && value->is_object() && value->contains(token)) ? &(*value)[token] : nullptr;
    }
    if (!node) return nullptr;
  }
  return resolve_ref(schema, node);
}

const json* value_at(const json& doc, const std::vector<std::string>& tokens) {
  const json* value = &doc;
  for (const auto& token : tokens) {
    if (value->is_array()) {
      size_t index = std::strtoul(token.c_str(), nullptr, 10);
      if (index >= value->size()) return nullptr;
      value = &(*value)[index];
    } else if (value->is_object() && value->contains(token)) {
      value = &(*value)[token];
    } else {
      return nullptr;
    }
  }
  return value;
}

std::string join_values(const json& values, const char* separator = ", ") {
  std::vector<std::string> parts;
  for (const auto& v : values) parts.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return fmt::format("{}", fmt::join(parts, separator));
}

std::string text_after_quote(const std::string& description) {
  auto end = description.rfind('\'');
  auto start = end == std::string::npos || end == 0 ? std::string::npos : description.rfind('\'', end - 1);
  return start == std::string::npos ? "" : description.substr(start + 1, end - start - 1);
}


// Rewords one valijson error in the document's terms; nullopt for the summary errors valijson adds
// on every enclosing object, which only repeat the specific error under them.
std::optional<JsonFieldError> reword(const valijson::ValidationResults::Error& error, const json& schema, const json& doc) {
  const std::string& d = error.description;
  if (d.rfind("Failed to validate against schema associated with property name", 0) == 0 ||
      d.rfind("Failed to validate item #", 0) == 0 || d.rfind("Failed to validate against additional properties", 0) == 0) {
    return std::nullopt;
  }
  JsonFieldError out;
  for (const auto& part : error.context) {
    if (part == "<root>") continue;
    out.tokens.push_back(part.size() >= 2 && part.front() == '[' ? part.substr(1, part.size() - 2) : part);
  }
  const json* node = schema_node(schema, out.tokens, doc);
  const json* value = value_at(doc, out.tokens);
  std::string got = value ? short_value(*value) : "nothing";

  if (d.rfind("Missing required property", 0) == 0) {
    out.tokens.push_back(text_after_quote(d));
    out.message = "required field is missing";
  } else if (d.rfind("Object contains a property that could not be validated", 0) == 0) {
    std::vector<std::string> known;
    if (node && node->contains("properties")) {
      for (const auto& item : (*node)["properties"].items()) known.push_back(item.key());
    }
    out.tokens.push_back(text_after_quote(d));
    out.message = fmt::format("unknown field; known fields here: {}", fmt::join(known, ", "));
  } else if (d.rfind("Value type not permitted", 0) == 0 && node && node->contains("type")) {
    const json& type = (*node)["type"];
    out.message = fmt::format("must be {}, not {}", type.is_array() ? join_values(type, " or ") : type.get<std::string>(), got);
  } else if (d.rfind("Failed to match against any enum values", 0) == 0 && node && node->contains("enum")) {
    out.message = fmt::format("must be one of {}, not {}", join_values((*node)["enum"]), got);
  } else if (d.rfind("Expected number greater than", 0) == 0 && node) {
    bool exclusive = node->contains("exclusiveMinimum");
    out.message = fmt::format("must be {} {}, not {}", exclusive ? ">" : ">=",
                              (*node)[exclusive ? "exclusiveMinimum" : "minimum"].dump(), got);
  } else if (d.rfind("Expected number less than", 0) == 0 && node && node->contains("maximum")) {
    out.message = fmt::format("must be <= {}, not {}", (*node)["maximum"].dump(), got);
  } else if (d.rfind("Failed to match regex", 0) == 0 && node && node->contains("pattern")) {
    out.message = fmt::format("must match {}, not {}", (*node)["pattern"].get<std::string>(), got);
  } else if (d.rfind("String should be no fewer than", 0) == 0) {
    out.message = "must not be empty";
  } else if (d.rfind("Elements at indexes", 0) == 0) {
    out.message = fmt::format("must not repeat items, not {}", got);
  } else {
    out.message = d;
  }
  return out;
}

}  // namespace

std::string json_pointer_of(const std::vector<std::string>& tokens) { return pointer_of(tokens); }

int json_field_line(const std::string& text, const std::string& pointer) {
  LineIndex index(text);
  std::string key = pointer;
  for (;;) {
    auto it = index.lines().find(key);
    if (it != index.lines().end()) return it->second;
    if (key.empty()) return 1;
    key = key.substr(0, key.rfind('/'));
  }
}

JsonSchema::JsonSchema(json document, const std::string& what) : document_(std::move(document)), compiled_(std::make_unique<valijson::Schema>()) {
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(document_);
    parser.populateSchema(adapter, *compiled_);
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("{} is broken: {}", what, e.what()));
  }
}

JsonSchema::~JsonSchema() = default;

std::vector<JsonFieldError> JsonSchema::validate(const json& doc) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  std::vector<JsonFieldError> errors;
  if (validator.validate(*compiled_, target, &results)) return errors;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    if (auto reworded = reword(error, document_, doc)) errors.push_back(*reworded);
  }
  return errors;
}

std::optional<json> parse_json_located(const std::string& text, const std::string& root_name, std::string& error) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    size_t end = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    std::string what = e.what();
    auto cut = what.find("syntax error");
    error = fmt::format("{}: not valid JSON: {} (line {})", root_name, cut == std::string::npos ? what : what.substr(cut), line);
    return std::nullopt;
  } catch (const json::exception& e) {  // well-formed but unrepresentable, e.g. a number like 1e999
    error = fmt::format("{}: not valid JSON: {}", root_name, e.what());
    return std::nullopt;
  }
}

std::string format_field_error(const JsonFieldError& error, const json& doc, const std::string& text, const std::string& root_name) {
  return fmt::format("{}: {} (line {})", display_field(error.tokens, doc, root_name), error.message,
                     json_field_line(text, pointer_of(error.tokens)));
}

std::vector<std::string> schema_errors(const std::string& text, const JsonSchema& schema, const std::string& root_name,
                                       json* parsed) {
  std::string syntax;
  auto doc = parse_json_located(text, root_name, syntax);
  if (!doc) return {syntax};
  std::vector<std::string> errors;
  for (const auto& e : schema.validate(*doc)) {
    std::string line = format_field_error(e, *doc, text, root_name);
    if (std::find(errors.begin(), errors.end(), line) == errors.end()) errors.push_back(line);
  }
  if (parsed) *parsed = std::move(*doc);
  return errors;
}

}  // namespace mopt

#include "lib/util/yaml_to_json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <regex>

#include "lib/util/strings.h"

namespace mopt {
namespace {

// Thrown for YAML that has no JSON equivalent (a mapping as a key), with its line.
struct Unconvertible {
  std::string message;
  int line;
};

// A plain (unquoted) scalar as YAML 1.2's core schema reads it, as JSON text.
std::string plain_scalar_json(const std::string& text) {
  static const std::regex null_re("~|null|Null|NULL|");
  static const std::regex true_re("true|True|TRUE");
  static const std::regex false_re("false|False|FALSE");
  static const std::regex int_re("[-+]?[0-9]+");
  static const std::regex float_re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(text, null_re)) return "null";
  if (std::regex_match(text, true_re)) return "true";
  if (std::regex_match(text, false_re)) return "false";
  try {
    // JSON has no leading '+' or '.', nor trailing '.': let the JSON library write the number.
    if (std::regex_match(text, int_re)) return nlohmann::json(std::stoll(text)).dump();
    if (std::regex_match(text, float_re)) return nlohmann::json(std::stod(text)).dump();
  } catch (const std::out_of_range&) {
    // beyond int64/double: kept as the text it is
  }
  return nlohmann::json(text).dump();
}

class Writer {
 public:
  std::string take() { return std::move(out_); }

  void value(const YAML::Node& node, int depth = 0) {
    // An alias inside its own anchor ("&a {x: *a}") is an endless structure; no manifest nests deep.
    if (depth > kMaxDepth) throw Unconvertible{"values nest too deeply (an alias inside its own anchor?)", node.Mark().line + 1};
    move_to(node.Mark().line + 1);
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        out_ += "null";
        break;
      case YAML::NodeType::Scalar:
        // yaml-cpp tags quoted scalars "!" and plain ones "?": only plain ones are typed.
        out_ += node.Tag() == "!" ? nlohmann::json(node.Scalar()).dump() : plain_scalar_json(node.Scalar());
        break;
      case YAML::NodeType::Sequence: {
        out_ += '[';
        size_t i = 0;
        for (const auto& item : node) {
          separate(i++);
          value(item, depth + 1);
        }
        out_ += ']';
        break;
      }
      case YAML::NodeType::Map: {
        out_ += '{';
        size_t i = 0;
        for (const auto& item : node) {
          separate(i++);
          if (!item.first.IsScalar()) throw Unconvertible{"a key must be a plain value", item.first.Mark().line + 1};
          move_to(item.first.Mark().line + 1);
          out_ += nlohmann::json(item.first.Scalar()).dump() + ": ";
          value(item.second, depth + 1);
        }
        out_ += '}';
        break;
      }
    }
  }

 private:
  void separate(size_t index) {
    if (index > 0) out_ += ", ";
  }

  // Newlines up to `line`: the value written next lands on the line it has in the YAML file.
  void move_to(int line) {
    while (line_ < line) {
      out_ += '\n';
      ++line_;
    }
  }

  static constexpr int kMaxDepth = 64;
  std::string out_;
  int line_ = 1;
};

}  // namespace

std::optional<std::string> yaml_to_json_text(const std::string& yaml, const std::string& root_name, std::string& error) {
  try {
    const auto root = YAML::Load(yaml);
    Writer writer;
    writer.value(root);
    return writer.take() + '\n';
  } catch (const YAML::Exception& e) {
    error = fmt::format("{}: not valid YAML: {} (line {})", root_name, e.msg, e.mark.line + 1);
  } catch (const Unconvertible& e) {
    error = fmt::format("{}: {} (line {})", root_name, e.message, e.line);
  } catch (const nlohmann::json::exception& e) {  // a scalar JSON cannot hold, e.g. invalid UTF-8
    error = fmt::format("{}: not valid YAML for a manifest: {}", root_name, e.what());
  }
  return std::nullopt;
}

bool is_yaml_path(const std::string& path) { return ends_with(path, ".yaml") || ends_with(path, ".yml"); }

}  // namespace mopt

#include "lib/pipeline/pass.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/errors.h"

namespace mopt {

std::string option_type_name(OptionType type) {
  switch (type) {
    case OptionType::kBool: return "bool";
    case OptionType::kInt: return "int";
    case OptionType::kFloat: return "float";
    case OptionType::kString: return "string";
  }
  return "unknown";
}

bool PassInfo::supports(ModelFormat format) const {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

const OptionSpec* PassInfo::find_option(const std::string& key) const {
  for (const auto& option : options) {
    if (option.name == key) return &option;
  }
  return nullptr;
}

std::string validate_option_value(OptionType type, const std::string& text) {
  try {
    size_t used = 0;
    switch (type) {
      case OptionType::kBool:
        if (text == "true" || text == "false") return "";
        return "expected true or false";
      case OptionType::kInt:
        std::stoll(text, &used);
        return used == text.size() ? "" : "expected an integer";
      case OptionType::kFloat:
        std::stod(text, &used);
        return used == text.size() ? "" : "expected a number";
      case OptionType::kString:
        return "";
    }
  } catch (const std::exception&) {
  }
  return fmt::format("expected a value of type {}", option_type_name(type));
}

PassOptions::PassOptions(const PassInfo& info, const std::map<std::string, std::string>& explicit_values) {
  for (const auto& option : info.options) values_[option.name] = option.default_value;
  for (const auto& [key, value] : explicit_values) values_[key] = value;
}

const std::string& PassOptions::raw(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw runtime_failure(fmt::format("pass read undeclared option '{}'", key));
  return it->second;
}

bool PassOptions::get_bool(const std::string& key) const { return raw(key) == "true"; }
int64_t PassOptions::get_int(const std::string& key) const { return std::stoll(raw(key)); }
double PassOptions::get_float(const std::string& key) const { return std::stod(raw(key)); }
std::string PassOptions::get_string(const std::string& key) const { return raw(key); }

}  // namespace mopt

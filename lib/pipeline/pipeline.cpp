#include "lib/pipeline/pipeline.h"

#include <fmt/format.h>

#include <cctype>
#include <set>

#include "lib/errors.h"

namespace mopt {
namespace {

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  Pipeline parse() {
    Pipeline pipeline;
    skip_space();
    if (at_end()) throw error("pipeline is empty");
    while (true) {
      pipeline.steps.push_back(parse_step());
      skip_space();
      if (at_end()) break;
      expect(',');
    }
    return pipeline;
  }

 private:
  PassInvocation parse_step() {
    skip_space();
    PassInvocation step;
    step.name = parse_name("pass name");
    skip_space();
    if (!at_end() && peek() == '{') {
      ++pos_;
      std::set<std::string> seen;
      while (true) {
        skip_space();
        if (at_end()) throw error(fmt::format("missing '}}' after options of '{}'", step.name));
        if (peek() == '}') {
          ++pos_;
          break;
        }
        auto key = parse_name("option key");
        skip_space();
        expect('=');
        skip_space();
        auto value = parse_value();
        if (!seen.insert(key).second) throw error(fmt::format("option '{}' given twice", key));
        step.options.emplace_back(key, value);
      }
    }
    return step;
  }

  std::string parse_name(const char* what) {
    size_t start = pos_;
    while (!at_end() && is_name_char(peek())) ++pos_;
    if (start == pos_) throw error(fmt::format("expected a {}", what));
    return text_.substr(start, pos_ - start);
  }

  std::string parse_value() {
    size_t start = pos_;
    while (!at_end() && !std::isspace(static_cast<unsigned char>(peek())) && peek() != '}' && peek() != '{') ++pos_;
    if (start == pos_) throw error("expected an option value");
    return text_.substr(start, pos_ - start);
  }

  void expect(char c) {
    if (at_end() || peek() != c) throw error(fmt::format("expected '{}'", c));
    ++pos_;
  }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  Error error(const std::string& message) const {
    return usage_error(fmt::format("invalid pipeline '{}': {} at column {}", text_, message, pos_ + 1));
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

Pipeline parse_pipeline(const std::string& text) { return Parser(text).parse(); }

std::string print_step(const PassInvocation& step) {
  if (step.options.empty()) return step.name;
  std::vector<std::string> parts;
  for (const auto& [key, value] : step.options) parts.push_back(key + "=" + value);
  return fmt::format("{}{{{}}}", step.name, fmt::join(parts, " "));
}

std::string print_pipeline(const Pipeline& pipeline) {
  std::vector<std::string> steps;
  for (const auto& step : pipeline.steps) steps.push_back(print_step(step));
  return fmt::format("{}", fmt::join(steps, ","));
}

void validate_pipeline(const Pipeline& pipeline, const PassRegistry& registry) {
  for (const auto& step : pipeline.steps) {
    const Pass* pass = registry.find(step.name);
    if (!pass) {
      throw usage_error(fmt::format("unknown pass '{}'; valid passes: {} (see `mopt passes`)", step.name,
                                    registry.names()));
    }
    const auto& info = pass->info();
    for (const auto& [key, value] : step.options) {
      const OptionSpec* spec = info.find_option(key);
      if (!spec) {
        std::vector<std::string> valid;
        for (const auto& option : info.options) valid.push_back(option.name);
        throw usage_error(fmt::format("pass '{}' has no option '{}'; valid options: {}", step.name, key,
                                      valid.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(valid, ", "))));
      }
      auto problem = validate_option_value(spec->type, value);
      if (!problem.empty()) {
        throw usage_error(fmt::format("option '{}' of pass '{}' is '{}': {}", key, step.name, value, problem));
      }
    }
  }
}

}  // namespace mopt

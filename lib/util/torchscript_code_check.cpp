#include "lib/util/torchscript_code_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <sstream>

#include "lib/util/strings.h"

namespace mopt {
namespace {

size_t indentation(const std::string& line) { return line.find_first_not_of(' '); }

}  // namespace

std::string torchscript_code_problem(const std::string& code) {
  std::istringstream lines(code);
  std::string line;
  size_t number = 0;
  bool in_class = false, in_enum = false;
  size_t body_indent = std::string::npos;  // the class body's indentation, from its first line
  while (std::getline(lines, line)) {
    ++number;
    const size_t indent = indentation(line);
    if (indent == std::string::npos) continue;  // blank
    if (indent == 0) {
      in_class = starts_with(line, "class ");
      in_enum = in_class && line.find("(Enum)") != std::string::npos;
      body_indent = std::string::npos;
      continue;
    }
    if (!in_class) continue;
    if (body_indent == std::string::npos) body_indent = indent;
    if (indent != body_indent || in_enum) continue;  // inside a method, or an Enum's values
    const std::string statement = line.substr(indent);
    if (starts_with(statement, "def ")) continue;
    const size_t equals = statement.find('=');
    const size_t colon = statement.find(':');
    if (equals == std::string::npos || (colon != std::string::npos && colon < equals)) continue;  // typed, or not an assignment
    if (statement.compare(equals, 2, "==") == 0) continue;
    const std::string name = statement.substr(0, statement.find_first_of(" =["));
    static const char* kUntyped[] = {"__parameters__", "__buffers__", "__annotations__", "__forward_pre_hooks__",
                                     "__forward_hooks__"};  // as LibTorch's SourceImporter reads them
    if (std::any_of(std::begin(kUntyped), std::end(kUntyped), [&](const char* allowed) { return name == allowed; })) continue;
    return fmt::format("line {} assigns a class attribute without a type: '{}'", number, statement.substr(0, 60));
  }
  return "";
}

}  // namespace mopt

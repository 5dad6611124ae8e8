#include "lib/errors.h"

namespace mopt {

std::string short_torch_message(const std::string& what) {
  // Interpreter errors carry a TorchScript traceback; the reason is the last "XError: ..." line.
  if (what.find("Traceback of TorchScript") != std::string::npos) {
    auto pos = what.rfind("Error: ");
    if (pos != std::string::npos) {
      auto line_start = what.rfind('\n', pos);
      auto line_end = what.find('\n', pos);
      return what.substr(line_start == std::string::npos ? 0 : line_start + 1,
                         line_end == std::string::npos ? std::string::npos : line_end - line_start - 1);
    }
  }
  // c10::Error::what() appends "Exception raised from ... (most recent call first):" and frames.
  for (const char* marker : {"\nException raised from", "Exception raised from"}) {
    auto pos = what.find(marker);
    if (pos != std::string::npos) {
      auto text = what.substr(0, pos);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      return text;
    }
  }
  return what;
}

}  // namespace mopt

#include "lib/errors.h"

namespace mopt {

std::string short_torch_message(const std::string& what) {
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

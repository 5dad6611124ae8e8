#include "lib/quantize/quantize_errors.h"

#include <regex>
#include <sstream>

namespace mopt::quant {

std::string torch_error_reason(const std::string& what) {
  const std::string text = short_torch_message(what);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    // InsertObservers appends the offending node: ", if node:%118 : Tensor = prim::If(%112) # ...".
    for (const char* cut : {", if node:", " node:%", "\nException raised from"}) {
      const auto at = line.find(cut);
      if (at != std::string::npos) line.resize(at);
    }
    while (!line.empty() && (line.back() == ':' || line.back() == ' ' || line.back() == ',')) line.pop_back();
    return line.size() > 240 ? line.substr(0, 237) + "..." : line;
  }
  return "unknown LibTorch error";
}

std::string torch_error_location(const std::string& what) {
  std::smatch match;
  // A graph node's source comment, "# /usr/lib/python3/dist-packages/torchvision/ops/stochastic_depth.py:32:4":
  // the first one is the node the pass complained about. Site-packages prefixes say nothing.
  static const std::regex node_comment(R"(# (\S+?\.py):(\d+):\d+)");
  if (std::regex_search(what, match, node_comment)) {
    std::string file = match[1].str();
    for (const char* root : {"dist-packages/", "site-packages/"}) {
      const auto at = file.rfind(root);
      if (at != std::string::npos) file = file.substr(at + std::string(root).size());
    }
    return fmt::format("{}:{}", file, match[2].str());
  }
  // A TorchScript traceback: the innermost (last) frame is where it failed.
  static const std::regex frame(R"re(File "([^"]+)", line (\d+))re");
  std::string found;
  for (auto it = std::sregex_iterator(what.begin(), what.end(), frame); it != std::sregex_iterator(); ++it) {
    found = fmt::format("{}, line {}", (*it)[1].str(), (*it)[2].str());
  }
  return found;
}

Error quantization_failure(const std::string& stage, const std::string& what, const std::string& layers,
                           const std::string& advice) {
  const auto location = torch_error_location(what);
  return runtime_failure(fmt::format("quantization failed while {}: {}{}{}. {}", stage, torch_error_reason(what),
                                     location.empty() ? "" : " (at " + location + ")",
                                     layers.empty() ? "" : (layers.find(',') == std::string::npos ? " in layer " : " in layers ") + layers,
                                     advice));
}

}  // namespace mopt::quant

#include "lib/report/read_report.h"

#include <fmt/format.h>

#include <fstream>

#include "lib/errors.h"

namespace mopt {

nlohmann::json read_report(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw invalid_input(fmt::format("cannot read report '{}'", path.string()));
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw invalid_input(fmt::format("'{}' is not a JSON report: {}", path.string(), e.what()));
  }
  if (!doc.is_object() || !doc.contains("metrics") || !doc["metrics"].is_object()) {
    throw invalid_input(fmt::format("'{}' has no metrics object; pass a report written by `mopt bench --report`",
                                    path.string()));
  }
  return doc;
}

}  // namespace mopt

#include "tests/fuzz/targets/fixture_metrics.h"

#include <fstream>

namespace mopt::fuzz {

const nlohmann::json& fixture_report() {
  static const nlohmann::json report = [] {
    std::ifstream in(std::string(MOPT_SOURCE_DIR) + "/tests/fixtures/reports/baseline.json");
    return nlohmann::json::parse(in);
  }();
  return report;
}

}  // namespace mopt::fuzz

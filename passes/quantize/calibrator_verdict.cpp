#include "passes/quantize/calibrator_verdict.h"

#include <fmt/format.h>

namespace mopt {

nlohmann::json calibrator_verdict(const std::map<std::string, double>& output_sqnr_db, const std::string& chosen,
                                  int64_t samples, const std::string& artifact) {
  std::string best = chosen;
  for (const auto& [calibrator, db] : output_sqnr_db) {
    if (db > output_sqnr_db.at(best)) best = calibrator;
  }
  nlohmann::json check = {{"samples", samples}, {"output_sqnr_db", output_sqnr_db}, {"best", best}};
  const double chosen_db = output_sqnr_db.at(chosen), best_db = output_sqnr_db.at(best);
  if (best_db - chosen_db >= kCalibratorCollapseDb && chosen_db < kCalibratorSafeDb) {
    check["warning"] = fmt::format(
        "the {} calibrator's {} reaches an output SQNR of {:.1f} dB against fp32 where {}'s reaches {:.1f} dB "
        "(LibTorch, first {} evaluation samples); try --calibrator {}",
        chosen, artifact, chosen_db, best, best_db, samples, best);
  }
  return check;
}

}  // namespace mopt

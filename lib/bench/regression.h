#pragma once
// `mopt bench --baseline OLD.json --max-regression FIELD=LIMIT`: candidate vs baseline checks that
// tolerate machine noise, plus a side-by-side comparison of two reports.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "lib/measure/gates.h"

namespace mopt {

/// How much worse a field may get: "5%" relative, "0.5pt" percentage points, or an absolute amount.
struct RegressionRule {
  std::string field;    ///< dotted metric path, e.g. "latency.p50_ms"
  double amount = 0;    ///< percent when `percent`, else absolute in the field's unit ("0.5pt" -> 0.005)
  bool percent = false;
  std::string text;     ///< canonical "field=LIMIT" with the limit as the user wrote it
};

/// Parses `FIELD=LIMIT` ("latency.p50_ms=5%", "accuracy.top1=0.5pt", "memory.peak_mb=10"); bad -> usage_error.
RegressionRule parse_regression(const std::string& text);

/// Whether a larger value of `field` is an improvement (accuracy, throughput, agreement, ...).
bool higher_is_better(const std::string& field);

/// Checks `rule` per (batch, threads) row or once for a top-level field. A latency percentile with a
/// 95% CI regresses only when the change exceeds the limit AND the CIs do not overlap in the worse
/// direction; other fields compare point values. A row absent from the baseline passes ("no baseline row").
std::vector<GateResult> check_regressions(const RegressionRule& rule, const nlohmann::json& baseline_metrics,
                                          const nlohmann::json& candidate_metrics);

/// Side by side of every numeric metric present in both reports (or metrics objects): an array of
/// {field, row (null for top-level), a, b, delta, delta_pct, change: better|worse|same, significant?}.
nlohmann::json compare_reports(const nlohmann::json& a, const nlohmann::json& b);

/// Aligned text table of a compare_reports() result, for stdout.
std::string render_comparison(const nlohmann::json& comparison);

}  // namespace mopt

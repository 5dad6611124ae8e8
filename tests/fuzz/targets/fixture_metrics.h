#pragma once
// A real bench report's metrics (tests/fixtures/reports/baseline.json), read once: the candidate
// side that fuzzed gates and baselines are evaluated against.
#include <nlohmann/json.hpp>

namespace mopt::fuzz {

/// The committed fixture bench report, whole.
const nlohmann::json& fixture_report();

}  // namespace mopt::fuzz

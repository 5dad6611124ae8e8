#pragma once
// `mopt bench --fail-if EXPR`: threshold gates over a bench report's `metrics`, evaluated per
// (batch, threads) row so CI sees which configuration crossed the line.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "lib/errors.h"

namespace mopt {

/// A parsed `FIELD OP NUMBER` expression, e.g. `latency.p95_ms > 12`.
struct GateExpression {
  std::string field;       ///< dotted metric path, e.g. "latency.p95_ms"
  std::string op;          ///< one of > >= < <= == !=
  double threshold = 0;    ///< the number on the right
  std::string text;        ///< canonical form "field op number" (number as the user wrote it)
};

/// One gate's outcome for one row (or for a top-level metric).
struct GateResult {
  std::string name;        ///< e.g. "fail-if latency.p95_ms > 12 [batch=8 threads=2]"
  std::string expression;  ///< the canonical expression or rule text
  bool passed = true;
  double value = 0;        ///< the measured (candidate) value; NaN when it was not measured
  std::string detail;      ///< how the decision was made, with numbers
};

/// Parses `FIELD OP NUMBER`; a malformed expression throws usage_error (exit 2) with an example.
GateExpression parse_gate(const std::string& text);

/// Whether `value OP threshold` holds.
bool compare_values(double value, const std::string& op, double threshold);

/// `--fail-if EXPR` semantics: the gate FAILS when the expression is TRUE. A row field (latency.*,
/// throughput.*, memory.*, work.*) gives one result per row; a top-level field (accuracy.*,
/// agreement.*, model.*, cold_start.*) gives one result. Unknown or unmeasured field -> usage_error.
std::vector<GateResult> evaluate_fail_if(const GateExpression& gate, const nlohmann::json& metrics);

/// Dotted paths of the numeric leaves in `metrics`, sorted; row fields are listed once (without
/// a "rows." prefix) and the row keys batch/threads are left out because they are not measurements.
std::vector<std::string> numeric_fields(const nlohmann::json& metrics);

/// The numeric leaf at dotted `path` inside `object`, or nullptr when absent or not a number.
const nlohmann::json* find_number(const nlohmann::json& object, const std::string& path);

/// Whether `field` lives in the rows (true) or at the top level of `metrics` (false); decided by
/// what is present, falling back to the field's group name when it is absent everywhere.
bool is_row_field(const nlohmann::json& metrics, const std::string& field);

/// "batch=8 threads=2" for a bench row (or "row N" when it has neither key).
std::string row_label(const nlohmann::json& row, size_t index);

/// Usage error for a field that is absent from `metrics`: says when it was simply not measured
/// (and which flag measures it) and lists the valid fields.
Error unknown_field_error(const std::string& field, const nlohmann::json& metrics);

/// Compact number for messages: up to 6 significant digits.
std::string format_number(double value);

}  // namespace mopt

#include "lib/measure/gates.h"
#include "lib/util/strings.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

namespace mopt {
using nlohmann::json;

namespace {

constexpr const char* kGateExample =
    "expected FIELD OP NUMBER, e.g. 'latency.p95_ms > 12' or 'accuracy.top1 < 0.90' (operators: > >= < <= == !=)";

// Groups a bench row carries; anything else is a top-level metric.
const std::set<std::string> kRowGroups = {"latency", "throughput", "memory", "work", "cpu", "soak"};

// Why a known group can be missing from a report: it is only measured when asked for.
const std::map<std::string, std::string> kMeasuredBy = {
    {"accuracy", "needs --data with labels"},
    {"agreement", "needs a reference model to compare outputs against"},
    {"memory", "is only measured where the platform reports process memory"},
    {"work", "is only measured when the model's MACs can be counted"},
    {"cold_start", "is measured by every bench run; this report has none"},
    {"cpu", "is measured by every bench row; this report has none"},
    {"soak", "needs --duration SECONDS"},
    {"op_profile", "needs --op-profile"},
};

// Why a field can be null in a report.
const std::map<std::string, std::string> kNullBecause = {
    {"agreement.top1_agreement", "top-1 agreement compares the argmax over dim 1 of [N, classes] or [N, classes, H, W] "
                                 "outputs, and this model's outputs have another rank (gate on agreement.cosine or agreement.sqnr_db)"},
};

bool valid_field(const std::string& field) {
  if (field.empty() || field.front() == '.' || field.back() == '.') return false;
  if (field.find("..") != std::string::npos) return false;
  for (char c : field) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string group_of(const std::string& field) { return field.substr(0, field.find('.')); }

void collect(const json& node, const std::string& prefix, std::set<std::string>& out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it->is_number()) {
      out.insert(path);
    } else if (it->is_object()) {
      collect(*it, path, out);
    }
  }
}

}  // namespace

std::string format_number(double value) { return fmt::format("{:.6g}", value); }

GateExpression parse_gate(const std::string& raw) {
  const std::string text = trim(raw);
  // Two-character operators first so ">=" is not read as ">" followed by "=12".
  static const char* kOps[] = {">=", "<=", "==", "!=", ">", "<"};
  size_t op_pos = std::string::npos;
  std::string op;
  for (const char* candidate : kOps) {
    size_t pos = text.find(candidate);
    if (pos != std::string::npos && (op_pos == std::string::npos || pos < op_pos ||
                                     (pos == op_pos && std::string(candidate).size() > op.size()))) {
      op_pos = pos;
      op = candidate;
    }
  }
  if (op_pos == std::string::npos) {
    throw usage_error(fmt::format("invalid gate '{}': no comparison operator; {}", raw, kGateExample));
  }
  GateExpression gate;
  gate.field = trim(text.substr(0, op_pos));
  gate.op = op;
  const std::string number = trim(text.substr(op_pos + op.size()));
  if (!valid_field(gate.field)) {
    throw usage_error(fmt::format("invalid gate '{}': '{}' is not a metric field; {}", raw, gate.field, kGateExample));
  }
  char* end = nullptr;
  gate.threshold = number.empty() ? 0 : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(gate.threshold)) {
    throw usage_error(fmt::format("invalid gate '{}': '{}' is not a number; {}", raw, number, kGateExample));
  }
  gate.text = fmt::format("{} {} {}", gate.field, gate.op, number);
  return gate;
}

bool compare_values(double value, const std::string& op, double threshold) {
  if (op == ">") return value > threshold;
  if (op == ">=") return value >= threshold;
  if (op == "<") return value < threshold;
  if (op == "<=") return value <= threshold;
  if (op == "==") return value == threshold;
  if (op == "!=") return value != threshold;
  throw usage_error(fmt::format("unknown comparison operator '{}' (use > >= < <= == !=)", op));
}

// The value at a dotted path, or nullptr.
const json* find_value(const json& object, const std::string& path) {
  const json* node = &object;
  size_t start = 0;
  while (true) {
    if (!node->is_object()) return nullptr;
    size_t dot = path.find('.', start);
    auto it = node->find(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node;
}

const json* find_number(const json& object, const std::string& path) {
  const json* node = find_value(object, path);
  return node && node->is_number() ? node : nullptr;
}

std::vector<std::string> numeric_fields(const json& metrics) {
  std::set<std::string> fields;
  if (!metrics.is_object()) return {};
  for (auto it = metrics.begin(); it != metrics.end(); ++it) {
    if (it.key() == "rows" && it->is_array()) {
      for (const auto& row : *it) {
        if (!row.is_object()) continue;
        json measured = row;
        measured.erase("batch");
        measured.erase("threads");
        collect(measured, "", fields);
      }
    } else if (it->is_number()) {
      fields.insert(it.key());
    } else if (it->is_object()) {
      collect(*it, it.key(), fields);
    }
  }
  return {fields.begin(), fields.end()};
}

bool is_row_field(const json& metrics, const std::string& field) {
  if (metrics.contains("rows") && metrics["rows"].is_array()) {
    for (const auto& row : metrics["rows"]) {
      if (find_number(row, field)) return true;
    }
  }
  if (find_number(metrics, field)) return false;
  return kRowGroups.count(group_of(field)) > 0;
}

std::string row_label(const json& row, size_t index) {
  if (row.is_object() && row.contains("batch") && row.contains("threads")) {
    return fmt::format("batch={} threads={}", row["batch"].dump(), row["threads"].dump());
  }
  return fmt::format("row {}", index);
}

Error unknown_field_error(const std::string& field, const json& metrics) {
  std::vector<std::string> valid = numeric_fields(metrics);
  std::string list = valid.empty() ? "(none: the report has no numeric metrics)" : fmt::format("{}", fmt::join(valid, ", "));
  if (const json* value = find_value(metrics, field); value && value->is_null()) {
    // A field the report holds as null: measured for other models, not for this one.
    auto reason = kNullBecause.find(field);
    return usage_error(fmt::format("{} was not measured for this model{}; fields available: {}", field,
                                   reason == kNullBecause.end() ? "" : ": " + reason->second, list));
  }
  auto why = kMeasuredBy.find(group_of(field));
  const bool group_absent = !metrics.is_object() || !metrics.contains(group_of(field));
  if (why != kMeasuredBy.end() && group_absent) {
    return usage_error(fmt::format("{} was not measured in this run: {} {}; fields available: {}", field, field,
                                   why->second, list));
  }
  return usage_error(fmt::format("unknown metric field '{}'; valid fields: {}", field, list));
}

std::vector<GateResult> evaluate_fail_if(const GateExpression& gate, const json& metrics) {
  auto judge = [&](double value, const std::string& where) {
    GateResult result;
    result.expression = gate.text;
    result.name = "fail-if " + gate.text + (where.empty() ? "" : " [" + where + "]");
    result.value = value;
    const bool tripped = compare_values(value, gate.op, gate.threshold);
    result.passed = !tripped;
    result.detail = fmt::format("{} = {}: {}", gate.field, format_number(value),
                                tripped ? fmt::format("{} is true, gate failed", gate.text)
                                        : fmt::format("not {} {}, passed", gate.op, format_number(gate.threshold)));
    return result;
  };

  std::vector<GateResult> results;
  // Row values win over top-level ones: the per-configuration figure is what the gate is about.
  if (metrics.contains("rows") && metrics["rows"].is_array()) {
    const auto& rows = metrics["rows"];
    bool any = false;
    for (const auto& row : rows) any = any || find_number(row, gate.field) != nullptr;
    if (any) {
      for (size_t i = 0; i < rows.size(); ++i) {
        const std::string where = row_label(rows[i], i);
        if (const json* value = find_number(rows[i], gate.field)) {
          results.push_back(judge(value->get<double>(), where));
        } else {
          // A row that did not measure the field (e.g. memory on one configuration) cannot trip it.
          GateResult skipped;
          skipped.expression = gate.text;
          skipped.name = "fail-if " + gate.text + " [" + where + "]";
          skipped.value = std::nan("");
          skipped.detail = fmt::format("{} not measured for {}; gate not applied", gate.field, where);
          results.push_back(skipped);
        }
      }
      return results;
    }
  }
  if (const json* value = find_number(metrics, gate.field)) {
    results.push_back(judge(value->get<double>(), ""));
    return results;
  }
  throw unknown_field_error(gate.field, metrics);
}

}  // namespace mopt

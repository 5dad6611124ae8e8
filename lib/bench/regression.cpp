#include "lib/bench/regression.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "lib/util/strings.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr const char* kRuleExample =
    "expected FIELD=LIMIT, e.g. 'latency.p50_ms=5%' (relative), 'accuracy.top1=0.5pt' (percentage points) or "
    "'memory.peak_mb=10' (absolute, in the field's unit)";

// Fields whose size says how much was measured, not how good the model is.
const std::set<std::string> kNeutralLeaves = {"count", "samples"};

using Interval = std::pair<double, double>;

std::string leaf_of(const std::string& field) {
  size_t dot = field.rfind('.');
  return dot == std::string::npos ? field : field.substr(dot + 1);
}

// The CI that goes with a point estimate: latency.p50_ms -> latency.p50_ci95_ms, x.y -> x.y_ci95.
std::string ci_field(const std::string& field) {
  if (ends_with(field, "_ms")) return field.substr(0, field.size() - 3) + "_ci95_ms";
  return field + "_ci95";
}

std::optional<Interval> find_ci(const json& object, const std::string& field) {
  const std::string path = ci_field(field);
  const json* node = &object;
  size_t start = 0;
  while (true) {
    if (!node->is_object()) return std::nullopt;
    size_t dot = path.find('.', start);
    auto it = node->find(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (it == node->end()) return std::nullopt;
    node = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!node->is_array() || node->size() != 2 || !(*node)[0].is_number() || !(*node)[1].is_number()) {
    return std::nullopt;
  }
  return Interval{(*node)[0].get<double>(), (*node)[1].get<double>()};
}

std::string format_value(const std::string& field, double value) {
  if (ends_with(field, "_ms")) return fmt::format("{:.3f} ms", value);
  return format_number(value);
}

std::string format_interval(const std::string& field, const Interval& ci) {
  if (ends_with(field, "_ms")) return fmt::format("[{:.3f},{:.3f}]", ci.first, ci.second);
  return fmt::format("[{},{}]", format_number(ci.first), format_number(ci.second));
}

std::string short_name(const std::string& field) {
  std::string leaf = leaf_of(field);
  return ends_with(leaf, "_ms") ? leaf.substr(0, leaf.size() - 3) : leaf;
}

// True when the two intervals cannot both hold the true value with the candidate on the worse side.
bool worse_beyond_noise(const Interval& base, const Interval& cand, bool higher_better) {
  return higher_better ? cand.second < base.first : cand.first > base.second;
}

const json& metrics_of(const json& doc) {
  return doc.is_object() && doc.contains("metrics") && doc["metrics"].is_object() ? doc["metrics"] : doc;
}

std::string row_key(const json& row) {
  return row.is_object() && row.contains("batch") && row.contains("threads")
             ? row["batch"].dump() + "/" + row["threads"].dump()
             : std::string();
}

const json* matching_row(const json& metrics, const json& row) {
  const std::string key = row_key(row);
  if (key.empty() || !metrics.contains("rows") || !metrics["rows"].is_array()) return nullptr;
  for (const auto& other : metrics["rows"]) {
    if (row_key(other) == key) return &other;
  }
  return nullptr;
}

GateResult decide(const RegressionRule& rule, const std::string& where, const json& base_scope,
                  const json& cand_scope) {
  GateResult result;
  result.expression = rule.text;
  result.name = "regression " + rule.text + (where.empty() ? "" : " [" + where + "]");
  const double base = find_number(base_scope, rule.field)->get<double>();
  const double cand = find_number(cand_scope, rule.field)->get<double>();
  result.value = cand;

  const bool higher_better = higher_is_better(rule.field);
  const double worse_by = higher_better ? base - cand : cand - base;
  const double allowed = rule.percent ? rule.amount / 100.0 * std::abs(base) : rule.amount;
  const std::string limit = rule.text.substr(rule.text.find('=') + 1);
  const bool is_points = ends_with(limit, "pt");

  std::string change;
  if (rule.percent) {
    change = base == 0 ? "n/a %" : fmt::format("{:+.1f}%", (cand - base) / std::abs(base) * 100.0);
  } else if (is_points) {
    change = fmt::format("{:+.2f}pt", (cand - base) * 100.0);
  } else {
    change = fmt::format("{:+.6g}", cand - base);
  }
  std::string head = fmt::format("{} {} vs {} ({}, limit {})", short_name(rule.field), format_value(rule.field, cand),
                                 format_value(rule.field, base), change, limit);

  // Float noise from JSON round trips must not turn "exactly at the limit" into a regression.
  const double tolerance = 1e-12 * (std::abs(base) + std::abs(cand));
  if (worse_by <= allowed + tolerance) {
    result.passed = true;
    const char* verdict = worse_by < -tolerance ? "improvement" : worse_by <= tolerance ? "unchanged" : "within limit";
    result.detail = fmt::format("{}: {}", head, verdict);
    return result;
  }
  auto base_ci = find_ci(base_scope, rule.field);
  auto cand_ci = find_ci(cand_scope, rule.field);
  if (base_ci && cand_ci) {
    // A percentile moves between runs on a shared machine; only non-overlapping CIs show a real shift.
    const bool significant = worse_beyond_noise(*base_ci, *cand_ci, higher_better);
    result.passed = !significant;
    result.detail = fmt::format("{}; 95% CIs {} vs {} {}", head, format_interval(rule.field, *cand_ci),
                                format_interval(rule.field, *base_ci),
                                significant ? "do not overlap: significant regression"
                                            : "overlap: not significant (within measurement noise)");
    return result;
  }
  result.passed = false;
  result.detail = fmt::format("{}: regression", head);
  return result;
}

GateResult passing(const RegressionRule& rule, const std::string& where, const std::string& detail, double value) {
  GateResult result;
  result.expression = rule.text;
  result.name = "regression " + rule.text + (where.empty() ? "" : " [" + where + "]");
  result.passed = true;
  result.value = value;
  result.detail = detail;
  return result;
}

}  // namespace

RegressionRule parse_regression(const std::string& raw) {
  const std::string text = trim(raw);
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw usage_error(fmt::format("invalid regression rule '{}': no '='; {}", raw, kRuleExample));
  }
  RegressionRule rule;
  rule.field = trim(text.substr(0, eq));
  std::string limit = trim(text.substr(eq + 1));
  // Reuse the gate grammar's field check so both flags accept the same names.
  try {
    parse_gate(rule.field + " > 0");
  } catch (const Error&) {
    throw usage_error(fmt::format("invalid regression rule '{}': '{}' is not a metric field; {}", raw, rule.field,
                                  kRuleExample));
  }
  std::string number = limit;
  double scale = 1;
  if (ends_with(limit, "%")) {
    rule.percent = true;
    number = trim(limit.substr(0, limit.size() - 1));
  } else if (ends_with(limit, "pt")) {
    scale = 0.01;  // percentage points of a 0..1 fraction
    number = trim(limit.substr(0, limit.size() - 2));
  }
  char* end = nullptr;
  double amount = number.empty() ? 0 : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(amount) || amount < 0) {
    throw usage_error(fmt::format("invalid regression rule '{}': limit '{}' is not a non-negative number; {}", raw,
                                  limit, kRuleExample));
  }
  rule.amount = amount * scale;
  rule.text = rule.field + "=" + limit;
  return rule;
}

bool higher_is_better(const std::string& field) {
  // max_abs_diff sits under agreement.* but is an error size, so it is checked first.
  if (field.find("max_abs_diff") != std::string::npos) return false;
  static const char* kHigherBetter[] = {"accuracy", "top1", "top5", "throughput", "per_s",
                                        "gflops", "cosine", "sqnr", "agreement"};
  for (const char* token : kHigherBetter) {
    if (field.find(token) != std::string::npos) return true;
  }
  return false;
}

std::vector<GateResult> check_regressions(const RegressionRule& rule, const json& baseline_metrics,
                                          const json& candidate_metrics) {
  const json& base = metrics_of(baseline_metrics);
  const json& cand = metrics_of(candidate_metrics);
  std::vector<GateResult> results;
  if (!is_row_field(cand, rule.field)) {
    const json* value = find_number(cand, rule.field);
    if (!value) throw unknown_field_error(rule.field, cand);
    if (!find_number(base, rule.field)) {
      results.push_back(passing(rule, "", fmt::format("baseline has no {}; nothing to compare", rule.field),
                                value->get<double>()));
    } else {
      results.push_back(decide(rule, "", base, cand));
    }
    return results;
  }
  const json& rows = cand.contains("rows") && cand["rows"].is_array() ? cand["rows"] : json::array();
  bool measured = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const std::string where = row_label(row, i);
    const json* value = find_number(row, rule.field);
    if (!value) continue;
    measured = true;
    const json* base_row = matching_row(base, row);
    if (!base_row) {
      results.push_back(passing(rule, where, fmt::format("no baseline row for {}; nothing to compare", where),
                                value->get<double>()));
    } else if (!find_number(*base_row, rule.field)) {
      results.push_back(passing(rule, where, fmt::format("baseline row {} has no {}; nothing to compare", where,
                                                         rule.field),
                                value->get<double>()));
    } else {
      results.push_back(decide(rule, where, *base_row, row));
    }
  }
  if (!measured) throw unknown_field_error(rule.field, cand);
  return results;
}

json compare_reports(const json& a_doc, const json& b_doc) {
  const json& a = metrics_of(a_doc);
  const json& b = metrics_of(b_doc);
  json entries = json::array();

  auto add = [&](const std::string& field, const json& row, const json& a_scope, const json& b_scope) {
    const json* a_value = find_number(a_scope, field);
    const json* b_value = find_number(b_scope, field);
    if (!a_value || !b_value) return;
    const double x = a_value->get<double>();
    const double y = b_value->get<double>();
    const double delta = y - x;
    json entry = {{"field", field}, {"row", row}, {"a", x}, {"b", y}, {"delta", delta}};
    entry["delta_pct"] = x == 0 ? json(nullptr) : json(delta / std::abs(x) * 100.0);
    const double tolerance = 1e-12 * (std::abs(x) + std::abs(y));
    if (std::abs(delta) <= tolerance) {
      entry["change"] = "same";
    } else if (kNeutralLeaves.count(leaf_of(field))) {
      entry["change"] = "different";
    } else {
      entry["change"] = (delta > 0) == higher_is_better(field) ? "better" : "worse";
    }
    auto a_ci = find_ci(a_scope, field);
    auto b_ci = find_ci(b_scope, field);
    if (a_ci && b_ci) entry["significant"] = a_ci->second < b_ci->first || b_ci->second < a_ci->first;
    entries.push_back(std::move(entry));
  };

  if (a.contains("rows") && a["rows"].is_array()) {
    const json& rows = a["rows"];
    for (size_t i = 0; i < rows.size(); ++i) {
      const json* other = matching_row(b, rows[i]);
      if (!other) continue;
      json only_row = {{"rows", json::array({rows[i]})}};
      for (const auto& field : numeric_fields(only_row)) add(field, row_label(rows[i], i), rows[i], *other);
    }
  }
  json top = a;
  if (top.is_object()) top.erase("rows");
  for (const auto& field : numeric_fields(top)) add(field, nullptr, a, b);
  return entries;
}

std::string render_comparison(const json& comparison) {
  if (!comparison.is_array() || comparison.empty()) return "no numeric metric is present in both reports\n";
  std::vector<std::vector<std::string>> table = {{"field", "row", "a", "b", "delta", "delta%", "change"}};
  for (const auto& entry : comparison) {
    std::string change = entry.value("change", "");
    if (entry.contains("significant")) change += entry["significant"].get<bool>() ? " (significant)" : " (noise)";
    table.push_back({entry.value("field", ""), entry["row"].is_string() ? entry["row"].get<std::string>() : "-",
                     format_number(entry["a"].get<double>()), format_number(entry["b"].get<double>()),
                     fmt::format("{:+.4g}", entry["delta"].get<double>()),
                     entry["delta_pct"].is_number() ? fmt::format("{:+.1f}%", entry["delta_pct"].get<double>()) : "-",
                     change});
  }
  std::vector<size_t> width(table.front().size(), 0);
  for (const auto& line : table) {
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  std::string out;
  for (const auto& line : table) {
    std::string text;
    for (size_t c = 0; c < line.size(); ++c) {
      // Text columns left-aligned, numbers right-aligned so digits line up.
      const bool numeric = c >= 2 && c <= 5;
      const bool last = c + 1 == line.size();
      if (numeric) {
        text += fmt::format("{:>{}}", line[c], width[c]);
      } else {
        text += last ? line[c] : fmt::format("{:<{}}", line[c], width[c]);
      }
      if (!last) text += "  ";
    }
    out += text + "\n";
  }
  return out;
}

}  // namespace mopt

#include "lib/bench/batch_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "lib/errors.h"
#include "lib/util/log.h"

namespace mopt {
using nlohmann::json;

NextBatch next_batch(const std::vector<BatchTrial>& trials, const BatchSearchRules& rules) {
  const auto& last = trials.back();
  if (last.peak_mb > rules.budget_mb) {
    return {0, fmt::format("batch {} peaked at {:.0f} MB, over the budget of {:.0f} MB", last.batch, last.peak_mb,
                           rules.budget_mb)};
  }
  size_t leader = 0;
  for (size_t i = 1; i < trials.size(); ++i) {
    if (trials[i].samples_per_s >= trials[leader].samples_per_s * (1 + rules.min_gain)) leader = i;
  }
  if (trials.size() - 1 - leader >= static_cast<size_t>(rules.patience)) {
    return {0, fmt::format("throughput stopped rising: no batch above {} gained {:.0f}% over its {:.1f} samples/s",
                           trials[leader].batch, 100 * rules.min_gain, trials[leader].samples_per_s)};
  }
  const int64_t next = last.batch * 2;
  if (next > rules.max_batch) return {0, fmt::format("batch {} is the largest the search tries", last.batch)};
  if (trials.size() >= 2) {
    // Memory grows about linearly with the batch: extrapolate before running a size that may not fit.
    const auto& before = trials[trials.size() - 2];
    const double per_sample = std::max(0.0, (last.peak_mb - before.peak_mb) / static_cast<double>(last.batch - before.batch));
    const double expected = last.peak_mb + per_sample * static_cast<double>(next - last.batch);
    if (expected > rules.budget_mb) {
      return {0, fmt::format("batch {} would need about {:.0f} MB (extrapolated from batches {} and {}), over the "
                             "budget of {:.0f} MB", next, expected, before.batch, last.batch, rules.budget_mb)};
    }
  }
  return {next, ""};
}

json search_batch(const std::function<json(int64_t)>& measure, const std::function<double(const json&)>& peak_mb,
                  const BatchSearchRules& rules, json& rows) {
  std::vector<BatchTrial> trials;
  json tried = json::array();
  std::string stopped_by;
  for (int64_t batch = 1; batch > 0;) {
    json row;
    try {
      row = measure(batch);
    } catch (const std::exception& e) {
      if (batch == 1) throw;
      stopped_by = fmt::format("batch {} does not run: {}", batch, short_torch_message(e.what()));
      break;
    }
    BatchTrial trial{batch, row["throughput"]["samples_per_s"].get<double>(), peak_mb(row)};
    trials.push_back(trial);
    rows.push_back(row);
    tried.push_back({{"batch", batch}, {"samples_per_s", trial.samples_per_s}, {"peak_mb", trial.peak_mb},
                     {"fits", trial.peak_mb <= rules.budget_mb}});
    log_info("batch {}: {:.1f} samples/s, peak {:.0f} MB", batch, trial.samples_per_s, trial.peak_mb);
    const auto next = next_batch(trials, rules);
    batch = next.batch;
    stopped_by = next.stop_reason;
  }
  int64_t best = 0;
  double best_rate = 0;
  for (const auto& t : trials) {
    if (t.peak_mb <= rules.budget_mb && t.samples_per_s > best_rate) {
      best = t.batch;
      best_rate = t.samples_per_s;
    }
  }
  return {{"budget_mb", rules.budget_mb}, {"budget", rules.budget_text}, {"memory_measure", rules.memory_measure},
          {"tried", tried}, {"best_batch", best}, {"stopped_by", stopped_by}};
}

namespace {

// A --max-memory value: {MB, or the fraction of the device when `fraction`}.
struct Budget {
  double value = 0;
  bool fraction = false;
};

Budget parse_budget(const std::string& text) {
  const auto bad = [&] {
    return usage_error(fmt::format("--max-memory '{}': give a fraction of the device's memory (0.9) or a size "
                                   "(512MB, 4GB, 1.5GiB)", text));
  };
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(value > 0)) throw bad();
  std::string unit(end);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  if (unit.empty()) {
    if (value > 1) throw bad();
    return {value, true};
  }
  // Sizes in MB as the rest of mopt's memory figures (MiB, written MB).
  if (unit == "mb" || unit == "mib" || unit == "m") return {value, false};
  if (unit == "gb" || unit == "gib" || unit == "g") return {value * 1024, false};
  throw bad();
}

}  // namespace

BatchSearchRules batch_search_rules(const std::string& max_memory, double device_mb, const std::string& device,
                                    const std::string& memory_measure) {
  const auto budget = parse_budget(max_memory);
  BatchSearchRules rules;
  rules.budget_mb = budget.fraction ? budget.value * device_mb : budget.value;
  rules.budget_text = budget.fraction ? fmt::format("{:g}% of {}", 100 * budget.value, device)
                                      : fmt::format("--max-memory {}", max_memory);
  rules.memory_measure = memory_measure;
  return rules;
}

double memory_budget_mb(const std::string& text, double device_mb) {
  const auto budget = parse_budget(text);
  return budget.fraction ? budget.value * device_mb : budget.value;
}

}  // namespace mopt

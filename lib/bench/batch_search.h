#pragma once
// `mopt bench --batch auto`: doubles the batch from 1 while the next size is expected to fit under a
// memory budget and throughput still rises. Every size tried is a measured bench row; the search
// reports each one's throughput and memory, the best batch and why it stopped. The same rules serve
// the CPU (peak RSS against the machine's memory) and a GPU (the caching allocator's peak against
// the device's memory).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mopt {

/// What the search may spend and when it gives up.
struct BatchSearchRules {
  double budget_mb = 0;         ///< peak memory a batch may reach
  std::string budget_text;      ///< how the budget was set, for the report ("90% of 24.0 GB ...")
  std::string memory_measure;   ///< what is compared with it ("peak RSS of the process", ...)
  double min_gain = 0.03;       ///< a larger batch leads when it raises samples/s by this fraction ...
  int patience = 2;             ///< ... and the search stops this many sizes after the last leader
  int64_t max_batch = 65536;
};

/// One size tried.
struct BatchTrial {
  int64_t batch = 0;
  double samples_per_s = 0;
  double peak_mb = 0;
};

/// The next size to try (0: stop, with the reason).
struct NextBatch {
  int64_t batch = 0;
  std::string stop_reason;
};

/// Decides from the trials so far (batches 1, 2, 4, ... in order): the last one over the budget, a
/// plateau (`patience` sizes since one gained `min_gain` over the leader before it), the next size
/// expected to exceed the budget (extrapolated from the last two sizes' peaks), or `max_batch`.
NextBatch next_batch(const std::vector<BatchTrial>& trials, const BatchSearchRules& rules);

/// Runs the search. `measure(batch)` returns a bench row (with throughput.samples_per_s) and
/// `peak_mb(row)` the memory figure judged; each row is appended to `rows`. A size above 1 that fails
/// (a fixed batch dimension, out of memory) ends the search with the reason; batch 1 failing is the
/// command's failure. Returns the report's
/// batch_search: {budget_mb, budget, memory_measure, tried[{batch, samples_per_s, peak_mb, fits}],
/// best_batch (most samples/s among those that fit; 0 when none does), stopped_by}.
nlohmann::json search_batch(const std::function<nlohmann::json(int64_t)>& measure,
                            const std::function<double(const nlohmann::json&)>& peak_mb, const BatchSearchRules& rules,
                            nlohmann::json& rows);

/// The rules for a --max-memory value on a device with `device_mb` of memory, described as `device`
/// ("the 23536 MB this process could use at the start") and judged on `memory_measure`.
BatchSearchRules batch_search_rules(const std::string& max_memory, double device_mb, const std::string& device,
                                    const std::string& memory_measure);

/// The budget a --max-memory value sets: a fraction (0 < F <= 1) of `device_mb`, or an absolute size
/// ("512MB", "4GB", "1.5GiB"). Throws a usage error for anything else.
double memory_budget_mb(const std::string& text, double device_mb);

}  // namespace mopt

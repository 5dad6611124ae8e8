// Gradual pruning schedules (scheduled_sparsity, declared in unstructured.h).
//
// Zhu & Gupta 2017, "To prune, or not to prune": s_t = s_f + (s_i - s_f) * (1 - t/T)^3. The cubic
// prunes fast while many weights are redundant and slowly near the end, when each removal hurts.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lib/errors.h"
#include "lib/prune/unstructured.h"

namespace mopt::prune {

double scheduled_sparsity(int64_t step, int64_t steps, double initial, double final, const std::string& kind) {
  if (kind != "cubic" && kind != "linear") {
    throw usage_error(fmt::format("unknown pruning schedule '{}' (expected cubic or linear)", kind));
  }
  if (steps < 0) throw usage_error(fmt::format("pruning schedule needs steps >= 0 (got {})", steps));
  for (double s : {initial, final}) {
    if (!(s >= 0.0 && s < 1.0)) throw usage_error(fmt::format("scheduled sparsity must be in [0, 1) (got {})", s));
  }
  if (steps == 0) return final;
  const double progress = static_cast<double>(std::clamp<int64_t>(step, 0, steps)) / static_cast<double>(steps);
  const double remaining = kind == "cubic" ? std::pow(1.0 - progress, 3) : 1.0 - progress;
  return final + (initial - final) * remaining;
}

}  // namespace mopt::prune

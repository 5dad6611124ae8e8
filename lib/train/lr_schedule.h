#pragma once
// Learning-rate schedules as pure functions of the global step, so a resumed run recomputes the
// same rate from the step it saved (no scheduler state to checkpoint).
#include <cstdint>
#include <string>

namespace mopt::train {

/// What --schedule asks for.
struct ScheduleSpec {
  std::string kind = "constant";  ///< constant, cosine, step or one-cycle
  int64_t step_epochs = 1;        ///< step: decay every this many epochs
  double gamma = 0.1;             ///< step: decay factor
  double warmup_fraction = 0.3;   ///< one-cycle: fraction of steps spent rising to the peak
};

/// Throws usage_error for an unknown kind or out-of-range numbers.
void validate_schedule(const ScheduleSpec& spec);

/// The learning rate at `step` (0-based) of `total_steps`, for a base (peak) rate `base_lr`.
/// cosine: base -> 0 over the run; step: base * gamma^(epoch / step_epochs); one-cycle: linear
/// warm-up from base/25 to base, then cosine down to base/1e4 (Smith & Topin's recipe).
double learning_rate_at(const ScheduleSpec& spec, double base_lr, int64_t step, int64_t total_steps,
                        int64_t steps_per_epoch);

}  // namespace mopt::train
